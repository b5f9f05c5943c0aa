"""Z-buffered splatting of world-radius points into the K nearest points per pixel.

Every point is a disk of its world radius facing the camera. Projected, it covers the pixels whose
centers lie within `r_px = fx · r / z` (orthographic: `fx · r`) of its projected center.

The work is split in two so that it stays fast in pure PyTorch:

1. Without autograd, candidate (pixel, point) pairs are enumerated densely per point over the
   smallest pixel square that can hold its disk (points grouped by square size, chunked to bound
   memory), the hits are packed into one int64 key `pixel << 32 | float bits of z` and sorted, and
   the first K hits of every pixel are kept.
2. Only for the kept entries are `dists` and `zbuf` recomputed from the projected points with
   autograd, so gradients reach point positions and radii.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.fragments import PointFragments
from render3d.points.settings import PointsRasterSettings
from render3d.structures import Pointclouds

_DEFAULT_SETTINGS = PointsRasterSettings()

_MAX_PIXELS = 1 << 31  # pixel ids live in the high 32 bits of a signed int64 sort key


@dataclass(frozen=True)
class _Projected:
    """Every (camera, point) pair ("instance") in camera b's image, instances of camera b contiguous.

    Attributes:
        uv: `[T, 2]` projected centers in pixels (differentiable).
        z: `[T]` camera depth (differentiable).
        r: `[T]` projected radius in pixels (differentiable).
        batch: `[T]` long camera index of each instance.
        point: `[T]` long packed point index of each instance.
    """

    uv: torch.Tensor
    z: torch.Tensor
    r: torch.Tensor
    batch: torch.Tensor
    point: torch.Tensor


def _project(clouds: Pointclouds, cameras: Cameras) -> _Projected:
    points = clouds.points_packed()
    radius = clouds.radius_packed().to(points.dtype)
    cams = replace(cameras, K=cameras.K.to(points), R=cameras.R.to(points), t=cameras.t.to(points))
    sizes = clouds.num_points_per_cloud.tolist()
    firsts = clouds.cloud_to_packed_first_idx.tolist()
    uv, z, r, batch, point = [], [], [], [], []
    for b in range(len(cams)):
        c = 0 if len(clouds) == 1 else b
        s, n = firsts[c], sizes[c]
        uvz = cams[b].project(points[None, s:s + n])[0]
        fx = cams.K[b, 0, 0].abs()
        uv.append(uvz[:, :2])
        z.append(uvz[:, 2])
        r.append(fx * radius[s:s + n] if cams.orthographic else fx * radius[s:s + n] / uvz[:, 2])
        batch.append(torch.full((n,), b, dtype=torch.long, device=points.device))
        point.append(torch.arange(s, s + n, device=points.device))
    return _Projected(torch.cat(uv), torch.cat(z), torch.cat(r), torch.cat(batch), torch.cat(point))


def _boxes(proj: _Projected, znear: float, H: int, W: int) -> tuple[torch.Tensor, ...]:
    """Visible instances and the image-clipped pixel square that can hold each one's disk.

    A pixel column x is covered when |x + 0.5 - u| < r, i.e. x in (u - r - 0.5, u + r - 0.5): at
    most ceil(2r) columns starting at floor(u - r + 0.5). Box math runs in float64 so that far
    off-screen points cannot overflow the integer conversion.

    Returns:
        ids `[M]` visible instance indices, x0 `[M]`, y0 `[M]` top-left pixel, side `[M]` square side.
    """
    u, v = proj.uv[:, 0].detach().double(), proj.uv[:, 1].detach().double()
    z, r = proj.z.detach(), proj.r.detach().double()
    span = torch.ceil(2 * r)
    x_lo, y_lo = torch.floor(u - r + 0.5), torch.floor(v - r + 0.5)
    x0, x1 = x_lo.clamp(min=0), (x_lo + span - 1).clamp(max=W - 1)
    y0, y1 = y_lo.clamp(min=0), (y_lo + span - 1).clamp(max=H - 1)
    visible = (z >= znear) & (r > 0) & (x0 <= x1) & (y0 <= y1)
    ids = visible.nonzero()[:, 0]
    x0, y0 = x0[ids], y0[ids]
    side = torch.maximum(x1[ids] - x0, y1[ids] - y0) + 1
    return ids, x0.long(), y0.long(), side.long()


def _z_bits(z: torch.Tensor) -> torch.Tensor:
    """Order-preserving int64 of positive depths (IEEE floats compare like their bit patterns)."""
    return z.float().view(torch.int32).long()


def _hits(proj: _Projected, ids: torch.Tensor, x0: torch.Tensor, y0: torch.Tensor, s: int,
          H: int, W: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Covered pixels of instances `ids` whose squares have side `s`.

    Returns:
        keys `[M]` int64 `pixel << 32 | z bits` and instances `[M]`, pixel = (b·H + y)·W + x.
    """
    dtype = proj.uv.dtype
    u, v = proj.uv[ids, 0].detach(), proj.uv[ids, 1].detach()
    r = proj.r[ids].detach()
    steps = torch.arange(s, device=ids.device)
    px, py = x0[:, None] + steps, y0[:, None] + steps
    # same float expression as the differentiable recompute, so both agree on what is a hit
    dx2 = (px.to(dtype) + 0.5 - u[:, None]) ** 2
    dy2 = (py.to(dtype) + 0.5 - v[:, None]) ** 2
    dx2 = dx2.masked_fill(px >= W, float("inf"))
    dy2 = dy2.masked_fill(py >= H, float("inf"))
    hit = dy2[:, :, None] + dx2[:, None, :] < (r * r)[:, None, None]
    i, iy, ix = hit.nonzero(as_tuple=True)
    inst = ids[i]
    pixel = (proj.batch[inst] * H + y0[i] + iy) * W + x0[i] + ix
    return (pixel << 32) | _z_bits(proj.z[inst].detach()), inst


def _keep_nearest(keys: torch.Tensor, inst: torch.Tensor, K: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sort hits by (pixel, z) and keep the first K of each pixel.

    Returns:
        sorted keys `[M']`, their instances `[M']`, and each one's slot (rank within its pixel).
    """
    keys, order = torch.sort(keys, stable=True)
    inst = inst[order]
    pixel = keys >> 32
    n = keys.shape[0]
    pos = torch.arange(n, device=keys.device)
    first = torch.ones(n, dtype=torch.bool, device=keys.device)
    first[1:] = pixel[1:] != pixel[:-1]
    slot = pos - torch.where(first, pos, torch.zeros_like(pos)).cummax(0).values
    keep = slot < K
    return keys[keep], inst[keep], slot[keep]


def _select(proj: _Projected, settings: PointsRasterSettings, B: int, H: int, W: int) -> torch.Tensor:
    """`[B·H·W·K]` long instance index of the K nearest hits of every pixel (-1 where empty)."""
    K = settings.points_per_pixel
    ids, x0, y0, side = _boxes(proj, settings.znear, H, W)
    keys = torch.empty(0, dtype=torch.long, device=ids.device)
    inst = torch.empty(0, dtype=torch.long, device=ids.device)
    slot = inst
    pending = 0
    for s in torch.unique(side).tolist():
        group = (side == s).nonzero()[:, 0]
        step = max(1, settings.chunk_candidates // (s * s))
        for start in range(0, group.shape[0], step):
            g = group[start:start + step]
            k, i = _hits(proj, ids[g], x0[g], y0[g], s, H, W)
            keys, inst = torch.cat([keys, k]), torch.cat([inst, i])
            pending += k.shape[0]
            # merging bounds memory: the kept set never exceeds B·H·W·K plus one chunk of hits
            if pending > settings.chunk_candidates:
                keys, inst, slot = _keep_nearest(keys, inst, K)
                pending = 0
    if pending:
        keys, inst, slot = _keep_nearest(keys, inst, K)
    out = torch.full((B * H * W * K,), -1, dtype=torch.long, device=ids.device)
    out[(keys >> 32) * K + slot] = inst
    return out


def rasterize_points(
    clouds: Pointclouds, cameras: Cameras, settings: PointsRasterSettings = _DEFAULT_SETTINGS
) -> PointFragments:
    """Splat every point as a disk of its world radius; keep the K nearest points per pixel.

    Args:
        clouds: B point clouds, or one cloud seen by all B cameras. Radii are in world units.
        cameras: B cameras sharing one H×W image size.
        settings: K (`points_per_pixel`), `znear` and the chunk size.

    Returns:
        `PointFragments` with `idx: [B, H, W, K]` packed point index (-1 empty), `zbuf: [B, H, W, K]`
        camera z (-1 empty) and `dists: [B, H, W, K]` squared pixel distance to the projected
        center over `r_px²` (in [0, 1) for hits, -1 empty), sorted near → far. `zbuf` and `dists`
        are differentiable with respect to point positions, radii and camera tensors.

    Raises:
        ShapeError: the numbers of clouds and cameras do not match, or the images hold over 2³¹ pixels.

    Example:
        >>> R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
        >>> cams = Cameras(intrinsics_from_fov(60, 32, 32)[None], R, t, 32, 32)
        >>> frags = rasterize_points(Pointclouds(torch.zeros(1, 1, 3), radius=0.1), cams)
        >>> frags.idx[0, 16, 16, 0].item(), round(frags.zbuf[0, 16, 16, 0].item(), 3)
        (0, 3.0)
    """
    B, H, W = len(cameras), cameras.height, cameras.width
    if len(clouds) not in (1, B):
        raise ShapeError(f"got {len(clouds)} point clouds for {B} cameras: pass one cloud per camera, or one cloud")
    if clouds.device != cameras.device:
        raise ShapeError(f"point clouds are on {clouds.device} but cameras on {cameras.device}")
    if B * H * W >= _MAX_PIXELS:
        raise ShapeError(f"{B} images of {H}x{W} exceed the rasterizer's 2^31 pixel limit; render in batches")
    K = settings.points_per_pixel
    proj = _project(clouds, cameras)
    with torch.no_grad():
        slot_inst = _select(proj, settings, B, H, W).view(B, H, W, K)
    valid = slot_inst >= 0
    inst = slot_inst.clamp(min=0)
    dtype = proj.uv.dtype
    px = torch.arange(W, device=inst.device).to(dtype).view(1, 1, W, 1) + 0.5
    py = torch.arange(H, device=inst.device).to(dtype).view(1, H, 1, 1) + 0.5
    r = proj.r[inst]
    d2 = (py - proj.uv[inst, 1]) ** 2 + (px - proj.uv[inst, 0]) ** 2
    minus_one = torch.full((), -1.0, dtype=dtype, device=inst.device)
    return PointFragments(
        idx=torch.where(valid, proj.point[inst], -1),
        zbuf=torch.where(valid, proj.z[inst], minus_one),
        dists=torch.where(valid, d2 / (r * r), minus_one),
    )
