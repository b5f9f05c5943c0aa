"""Z-buffered splat of a cloud into a multi-channel sparse image: the input of learned point renderers.

Every point is a camera-facing disk whose world radius comes from the cloud's own spacing
(`radius_scale · knn_spacing`), never smaller on screen than `min_radius_px`, so dense clouds cover
their surface and sparse ones still reach every point's own pixel. The K nearest disks of every
pixel are kept (`rasterize_points`). From them each pixel gets:

- `depth`: the nearest disk's camera z (the z-buffer), and `knn_depth`, all K depths;
- the *front surface*: the fragments within `front_band` disk radii behind the nearest one, blended
  with weights `1 - dists` into `features` (colors or learned descriptors) and camera-frame `normals`;
- `density`: how many of the K slots the front surface fills, and the nearest disk's screen radius
  and center distance, which say how sparse the cloud is there.

Points are not culled: the back of an object and hidden parts of a scene land in the K slots
behind the front surface (or, where the cloud is sparse, *in front of* nothing and so in the
z-buffer itself); deciding what is visible is left to whoever reads the buffers.
`SplatBuffers.channels()` stacks them, normalized, into one `[B, C, H, W]` network input.
Everything is differentiable with respect to features and (through `dists`/`zbuf`) positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.points.rasterize import rasterize_points
from render3d.points.settings import PointsRasterSettings
from render3d.structures import Pointclouds

_EPS = 1e-8


@dataclass(frozen=True)
class MultiChannelSettings:
    """How a cloud is splatted into `SplatBuffers`.

    Attributes:
        points_per_pixel: K nearest disks kept per pixel (2..64).
        radius_scale: disk radius as a multiple of each point's k-NN spacing (> 0).
        min_radius_px: smallest on-screen radius in pixels (>= 0.71 reaches the pixel the point falls in).
        front_band: fragments within this many (nearest-disk) radii behind the nearest form the front surface.
        gap_scale: depth gaps behind the nearest disk are encoded as `gap / z_ref · gap_scale`, clamped to 1.

    Raises:
        ShapeError: a value out of range.
    """

    points_per_pixel: int = 8
    radius_scale: float = 1.0
    min_radius_px: float = 0.75
    front_band: float = 2.0
    gap_scale: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.points_per_pixel, int) or not 2 <= self.points_per_pixel <= 64:
            raise ShapeError(f"points_per_pixel must be an int in 2..64, got {self.points_per_pixel!r}")
        for name in ("radius_scale", "min_radius_px", "front_band", "gap_scale"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not v > 0 or v != v or v == float("inf"):
                raise ShapeError(f"{name} must be a finite number > 0, got {v!r}")

    @staticmethod
    def num_channels(feature_channels: int, points_per_pixel: int) -> int:
        """Channels of `SplatBuffers.channels()` for C features and K slots."""
        return 9 + feature_channels + points_per_pixel - 1


@dataclass(frozen=True)
class SplatBuffers:
    """Per-pixel buffers of B views of H×W pixels (see the module docstring).

    Attributes:
        mask: `[B, H, W]` bool, some disk covers the pixel.
        depth: `[B, H, W]` nearest camera z, 0 where empty.
        knn_depth: `[B, H, W, K]` camera z of the K nearest disks, near → far, 0 where empty.
        features: `[B, H, W, C]` front-surface blend of the point features, 0 where empty.
        normals: `[B, H, W, 3]` front-surface blend of the normals in the camera frame (0 without normals).
        density: `[B, H, W]` front-surface fragments / K.
        center_dist: `[B, H, W]` squared distance to the nearest disk's center over its squared radius.
        radius_px: `[B, H, W]` the nearest disk's radius in pixels, 0 where empty.
        nearest: `[B, H, W]` long packed index of the nearest point, -1 where empty.
        z_ref: `[B]` median depth of the covered pixels (1 when nothing is covered), the depth scale.
        has_normals: whether the cloud had normals.
        gap_scale: copied from the settings (used by `channels`).
    """

    mask: torch.Tensor
    depth: torch.Tensor
    knn_depth: torch.Tensor
    features: torch.Tensor
    normals: torch.Tensor
    density: torch.Tensor
    center_dist: torch.Tensor
    radius_px: torch.Tensor
    nearest: torch.Tensor
    z_ref: torch.Tensor
    has_normals: bool
    gap_scale: float

    def channels(self) -> torch.Tensor:
        """`[B, 9 + C + K - 1, H, W]` normalized stack for a network, 0 on empty pixels except the gaps (1).

        Order: coverage, relative depth `z / z_ref - 1`, features mapped `2f - 1`, normals (3), a
        has-normals flag, density, center distance, `log2(radius_px) / 4`, then the K-1 depth gaps of
        slots 1..K-1 behind the nearest (`gap / z_ref · gap_scale`, 1 when empty or far).
        """
        occ = self.mask.to(self.depth.dtype)
        zr = self.z_ref.reshape(-1, 1, 1)
        rel = ((self.depth / zr - 1.0) * occ).clamp(-1, 1)
        feats = ((2 * self.features - 1) * occ[..., None]).permute(0, 3, 1, 2)
        normals = self.normals.permute(0, 3, 1, 2)
        logr = torch.log2(self.radius_px.clamp(min=1e-3)) * 0.25 * occ
        behind = self.knn_depth.permute(0, 3, 1, 2)[:, 1:]
        gaps = ((behind - self.depth[:, None]) / zr[:, None] * self.gap_scale).clamp(0, 1)
        gaps = torch.where(behind > 0, gaps, 1.0)
        maps = torch.stack([occ, rel], 1), feats, normals, torch.stack([
            occ * float(self.has_normals), self.density, self.center_dist * occ, logr], 1), gaps
        return torch.cat(maps, 1)


def view_radii(points: torch.Tensor, world_radius: torch.Tensor, cameras: Cameras,
               min_radius_px: float) -> torch.Tensor:
    """`[B, N]` world radii per view: `world_radius`, raised so that no disk is below `min_radius_px` on screen."""
    z = (points @ cameras.R.transpose(1, 2).to(points))[..., 2] + cameras.t[:, None, 2].to(points)
    fx = cameras.K[:, 0, 0].abs().to(points)[:, None]
    floor = min_radius_px / fx if cameras.orthographic else min_radius_px * z.clamp(min=_EPS) / fx
    return torch.maximum(world_radius[None].to(points), floor)


@dataclass(frozen=True)
class SplatFragments:
    """The geometric half of a multi-channel splat, reusable for any features of the same cloud and cameras.

    Attributes:
        idx: `[K, B, H, W]` point index within the cloud (0 where empty; see `valid`).
        valid: `[K, B, H, W]` bool, slot filled.
        zbuf: `[K, B, H, W]` camera z (0 where empty), differentiable in the positions.
        dists: `[K, B, H, W]` normalized squared distance to the disk center (1 where empty).
        radii: `[B, N]` world radii used per view (after the screen-space floor).
        rotations: `[B, 3, 3]` world→camera rotations (for camera-frame normals).
        fx: `[B]` |fx| of each camera.
        orthographic: whether the cameras are orthographic.
    """

    idx: torch.Tensor
    valid: torch.Tensor
    zbuf: torch.Tensor
    dists: torch.Tensor
    radii: torch.Tensor
    rotations: torch.Tensor
    fx: torch.Tensor
    orthographic: bool


def _check(points: torch.Tensor, radius: torch.Tensor, cameras: Cameras) -> None:
    if points.dim() != 2 or points.shape[1] != 3:
        raise ShapeError(f"points must be [N, 3], got {list(points.shape)}")
    if radius.shape != (points.shape[0],):
        raise ShapeError(f"radius must be [N={points.shape[0]}], got {list(radius.shape)}")
    if points.device != cameras.device:
        raise ShapeError(f"points are on {points.device} but cameras on {cameras.device}")


def rasterize_multichannel(points: torch.Tensor, cameras: Cameras, radius: torch.Tensor,
                           settings: MultiChannelSettings | None = None) -> SplatFragments:
    """Splat one cloud's disks in B cameras and keep the K nearest per pixel (see the module docstring).

    Args:
        points: `[N, 3]` world positions (every point; nothing is culled).
        cameras: B cameras sharing one image size.
        radius: `[N]` world radii before the screen-space floor, typically
            `settings.radius_scale · knn_spacing(points)`; 0 entries get only the floor.
        settings: K and the radius floor.

    Raises:
        ShapeError: mismatched shapes or devices.
    """
    s = settings or MultiChannelSettings()
    _check(points, radius, cameras)
    B, N, K = len(cameras), points.shape[0], s.points_per_pixel
    with torch.no_grad():
        radii = view_radii(points.detach(), radius.detach(), cameras, s.min_radius_px).clamp(min=_EPS)
    clouds = Pointclouds([points] * B, radius=list(radii.unbind(0)))
    frags = rasterize_points(clouds, cameras, PointsRasterSettings(points_per_pixel=K))
    # slot-major [K, B, H, W] views make the per-slot reductions contiguous
    idx, zbuf, dists = (x.permute(3, 0, 1, 2) for x in (frags.idx, frags.zbuf, frags.dists))
    valid = idx >= 0
    # packed index → point of the one cloud
    local = (idx - (torch.arange(B, device=idx.device) * N).view(1, B, 1, 1)).clamp(min=0)
    return SplatFragments(local * valid, valid, zbuf.clamp(min=0), torch.where(valid, dists, 1.0), radii,
                          cameras.R, cameras.K[:, 0, 0].abs(), cameras.orthographic)


def shade_multichannel(fragments: SplatFragments, features: torch.Tensor, normals: torch.Tensor | None = None,
                       settings: MultiChannelSettings | None = None) -> SplatBuffers:
    """Per-pixel buffers from splat fragments: front surface, blended features and normals, depth gaps.

    Args:
        fragments: from `rasterize_multichannel`.
        features: `[N, C]` per-point features (colors in [0, 1] or learned descriptors).
        normals: optional `[N, 3]` world unit normals.
        settings: front band and gap scale (K must match the fragments).

    Returns:
        `SplatBuffers`, differentiable with respect to `features` (and positions through the fragments).

    Raises:
        ShapeError: features or normals that do not match the cloud.
    """
    s = settings or MultiChannelSettings()
    f = fragments
    K, B, H, W = f.idx.shape
    N = f.radii.shape[1]
    if features.dim() != 2 or features.shape[0] != N:
        raise ShapeError(f"features must be [N={N}, C], got {list(features.shape)}")
    if normals is not None and normals.shape != (N, 3):
        raise ShapeError(f"normals must be [N={N}, 3], got {list(normals.shape)}")
    if s.points_per_pixel != K:
        raise ShapeError(f"fragments hold {K} slots but settings.points_per_pixel is {s.points_per_pixel}")
    mask, z, z0 = f.valid[0], f.zbuf, f.zbuf[0]
    view = torch.arange(B, device=f.idx.device).view(B, 1, 1) * N
    r_world = f.radii.reshape(-1).index_select(0, (f.idx[0] + view).reshape(-1)).view(mask.shape) * mask
    front = f.valid & (z <= z0 + s.front_band * r_world)
    w = (1.0 - f.dists).clamp(min=1e-3) * front
    w = w / w.sum(0).clamp(min=_EPS)
    table = features if normals is None else torch.cat([features, normals.to(features)], 1)
    gathered = table.index_select(0, f.idx.reshape(-1)).view(K, -1, table.shape[1])
    blended = torch.einsum("kp,kpc->pc", w.reshape(K, -1).to(table), gathered).view(B, H, W, -1)
    feats = blended[..., :features.shape[1]]
    if normals is not None:
        n_cam = torch.einsum("bij,bhwj->bhwi", f.rotations.to(blended), blended[..., features.shape[1]:])
        n_cam = torch.nn.functional.normalize(n_cam, dim=-1, eps=1e-12)
    else:
        n_cam = torch.zeros(B, H, W, 3, dtype=features.dtype, device=features.device)
    fx = f.fx.to(z0).view(B, 1, 1)
    radius_px = r_world * fx if f.orthographic else r_world * fx / z0.clamp(min=_EPS)
    z_ref = torch.stack([z0[b][mask[b]].median() if bool(mask[b].any()) else z0.new_ones(()) for b in range(B)])
    return SplatBuffers(
        mask=mask, depth=z0, knn_depth=z.permute(1, 2, 3, 0), features=feats, normals=n_cam,
        density=front.sum(0).to(z.dtype) / K, center_dist=f.dists[0] * mask, radius_px=radius_px,
        nearest=torch.where(mask, f.idx[0], -1), z_ref=z_ref.detach(), has_normals=normals is not None,
        gap_scale=s.gap_scale)


def splat_multichannel(points: torch.Tensor, features: torch.Tensor, cameras: Cameras, radius: torch.Tensor,
                       normals: torch.Tensor | None = None,
                       settings: MultiChannelSettings | None = None) -> SplatBuffers:
    """Splat one cloud into `SplatBuffers` for each of B cameras (`rasterize_multichannel` + `shade_multichannel`).

    Args:
        points: `[N, 3]` world positions (every point; nothing is culled).
        features: `[N, C]` per-point features (colors in [0, 1] or learned descriptors).
        cameras: B cameras sharing one image size.
        radius: `[N]` world radii before the screen-space floor.
        normals: optional `[N, 3]` world unit normals.
        settings: K, radius floor, front band, gap scale.

    Returns:
        `SplatBuffers`; differentiable with respect to `features` and `points`.

    Raises:
        ShapeError: mismatched shapes or devices.

    Example:
        >>> from render3d import intrinsics_from_fov, look_at
        >>> R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
        >>> cams = Cameras(intrinsics_from_fov(60, 16, 16)[None], R, t, 16, 16)
        >>> pts = torch.tensor([[0.0, 0, 0], [0.0, 0, -1]])
        >>> buf = splat_multichannel(pts, torch.tensor([[1.0, 0, 0], [0.0, 1, 0]]), cams, torch.full((2,), 0.2))
        >>> buf.depth[0, 8, 8].item(), buf.features[0, 8, 8].tolist(), buf.knn_depth[0, 8, 8, :2].tolist()
        (3.0, [1.0, 0.0, 0.0], [3.0, 4.0])
    """
    _check(points, radius, cameras)
    if features.dim() != 2 or features.shape[0] != points.shape[0]:
        raise ShapeError(f"features must be [N={points.shape[0]}, C], got {list(features.shape)}")
    return shade_multichannel(rasterize_multichannel(points, cameras, radius, settings), features, normals, settings)
