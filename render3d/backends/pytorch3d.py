"""pytorch3d backend: its C++/CUDA mesh and point rasterizers (and point compositors) in our convention.

pytorch3d rasterizes geometry already in its NDC space: +X left, +Y up, z = camera depth, the
shorter image side spanning [-1, 1] and square pixels. This adapter projects with our OpenCV
cameras (any K, skew included) and maps pixel position (u, v) to NDC as
`x = (W - 2u) / S`, `y = (H - 2v) / S` with `S = min(H, W)`, which puts pytorch3d's pixel centers
exactly on ours. Its outputs come back in our units: `dists` (squared NDC distance) becomes a
signed distance in pixels, a blur radius in pixels becomes pytorch3d's squared NDC threshold, a
world point radius becomes a per-point NDC radius, and point `dists` are normalized by the squared
radius as `PointFragments` documents.

Bin overflow: pytorch3d's coarse-to-fine (binned) path only prints a warning when a bin holds more
than `max_faces_per_bin` primitives and returns an incomplete image. This adapter never lets that
happen: on CPU pytorch3d always rasterizes naively; on CUDA it uses bins only with
`max_faces_per_bin` = the largest mesh's face count (a bin can never hold more), and falls back to
naive rasterization (`bin_size=0`, same output, slower) when that bin buffer would exceed
`BIN_BUFFER_BYTES`.

The pytorch3d package is imported inside the functions only.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from render3d.backends.capabilities import OUTPUT_FIELDS, SHADING_MODELS, Capabilities, Task
from render3d.backends.info import BackendInfo, pip_install_hint
from render3d.backends.near_clip import clip_near
from render3d.backends.raster_render import render_meshes_by_rasterizing, render_points_by_rasterizing
from render3d.cameras import Cameras
from render3d.errors import BackendUnavailable, ShapeError
from render3d.fragments import Fragments, PointFragments
from render3d.output import RenderOutput
from render3d.points.settings import PointsRasterSettings
from render3d.raster.settings import RasterSettings
from render3d.render_settings import RenderSettings
from render3d.shading.materials import Materials
from render3d.structures import Meshes, Pointclouds

if TYPE_CHECKING:
    from render3d.lights import Light

#: Largest coarse-raster bin buffer (int32 entries × 4 bytes) the CUDA path may allocate.
BIN_BUFFER_BYTES = 512 * 2**20


def _probe() -> str | None:
    import pytorch3d  # noqa: F401
    from pytorch3d import _C  # noqa: F401  (the compiled ops: fails when built for another torch)

    return None


def pixels_to_ndc(uvz: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Our pixel coordinates → pytorch3d NDC.

    Args:
        uvz: `[..., 3]` pixel position (u right, v down, pixel centers at +0.5) and camera z.
        height: image height H.
        width: image width W.

    Returns:
        `[..., 3]` pytorch3d NDC (x left, y up, short side in [-1, 1]) with z unchanged.

    Example:
        >>> pixels_to_ndc(torch.tensor([[0.5, 0.5, 2.0]]), 2, 2).tolist()
        [[0.5, 0.5, 2.0]]
    """
    s = float(min(height, width))
    x = (width - 2.0 * uvz[..., 0]) / s
    y = (height - 2.0 * uvz[..., 1]) / s
    return torch.stack([x, y, uvz[..., 2]], -1)


def _camera_to_pixels(cam: torch.Tensor, owner: torch.Tensor, cameras: Cameras) -> torch.Tensor:
    """`cam: [P, 3]` camera coords, `owner: [P]` camera index → `[P, 3]` (u, v) pixels + camera z."""
    z = cam[:, 2:3]
    xy = cam[:, :2] if cameras.orthographic else cam[:, :2] / torch.where(z.abs() < 1e-8, torch.full_like(z, 1e-8), z)
    K = cameras.K[owner]
    u = K[:, 0, 0] * xy[:, 0] + K[:, 0, 1] * xy[:, 1] + K[:, 0, 2]
    v = K[:, 1, 1] * xy[:, 1] + K[:, 1, 2]
    return torch.stack([u, v, cam[:, 2]], -1)


def _project_packed(points: torch.Tensor, owner: torch.Tensor, cameras: Cameras) -> torch.Tensor:
    """`points: [P, 3]` world, `owner: [P]` camera index → `[P, 3]` (u, v, z) pixels + camera z."""
    cam = (points.unsqueeze(1) @ cameras.R[owner].transpose(1, 2)).squeeze(1) + cameras.t[owner]
    return _camera_to_pixels(cam, owner, cameras)


def _check_batch(n: int, cameras: Cameras, what: str) -> None:
    if n != len(cameras):
        raise ShapeError(f"{n} {what} but {len(cameras)} cameras; use .extend() to match them")


def _bins(device: torch.device, height: int, width: int, batch: int, max_prims: int) -> tuple[int, int]:
    """(bin_size, max_per_bin) that can never overflow; (0, 0) = naive rasterization."""
    if device.type != "cuda":
        return 0, 0
    size = max(height, width)
    bin_size = 8 if size <= 64 else int(2 ** max(math.ceil(math.log2(size)) - 4, 4))
    bins = math.ceil(height / bin_size) * math.ceil(width / bin_size)
    if batch * bins * max_prims * 4 > BIN_BUFFER_BYTES:
        return 0, 0
    return bin_size, max_prims


def rasterize_meshes_pytorch3d(
    meshes: Meshes,
    cameras: Cameras,
    faces_per_pixel: int = 1,
    blur_radius: float = 0.0,
    cull_backfaces: bool = False,
    perspective_correct: bool = True,
    znear: float = 1e-3,
) -> Fragments:
    """Rasterize `meshes` with pytorch3d's rasterizer; output in our convention.

    Args:
        meshes: B meshes (world space).
        cameras: B cameras.
        faces_per_pixel: K nearest faces kept per pixel.
        blur_radius: in pixels; faces within this distance of a pixel center also cover it (soft
            rasterization). 0 = hard.
        cull_backfaces: drop faces whose back (clockwise side) faces the camera.
        perspective_correct: perspective-correct barycentrics (ignored for orthographic cameras,
            where screen-space barycentrics are exact). `zbuf` is the camera z either way.
        znear: faces are clipped at this camera depth (exactly, in camera space; `dists` of a cut
            face are measured to its pieces' edges).

    Returns:
        Fragments with `pix_to_face`, `bary`, `zbuf` `[B, H, W, K(, 3)]` and `dists` in pixels
        (negative inside). Differentiable with respect to vertex positions.

    Raises:
        ShapeError: batch sizes differ, or bad settings.

    Example:
        >>> tri = Meshes([torch.tensor([[-1.0, -1, 3], [1, -1, 3], [0, 1, 3]])], [torch.tensor([[0, 1, 2]])])
        >>> cameras = Cameras(torch.tensor([[[32.0, 0, 32], [0, 32, 32], [0, 0, 1]]]), torch.eye(3)[None],
        ...                   torch.zeros(1, 3), 64, 64)
        >>> frags = rasterize_meshes_pytorch3d(tri, cameras, faces_per_pixel=1)
        >>> frags.pix_to_face.shape, frags.pix_to_face[0, 32, 32, 0].item(), round(frags.zbuf[0, 32, 32, 0].item(), 4)
        (torch.Size([1, 64, 64, 1]), 0, 3.0)
    """
    from pytorch3d.renderer.mesh.rasterize_meshes import rasterize_meshes
    from pytorch3d.structures import Meshes as P3DMeshes

    _check_batch(len(meshes), cameras, "meshes")
    if faces_per_pixel < 1 or blur_radius < 0 or znear <= 0:
        raise ShapeError(f"need faces_per_pixel >= 1, blur_radius >= 0, znear > 0; got {faces_per_pixel}, "
                         f"{blur_radius}, {znear}")
    H, W = cameras.height, cameras.width
    px_to_ndc = 2.0 / min(H, W)
    owner = meshes.vert_to_mesh_idx
    cam = (meshes.verts_packed().unsqueeze(1) @ cameras.R[owner].transpose(1, 2)).squeeze(1) + cameras.t[owner]
    faces = meshes.faces_packed()
    clip = clip_near(cam[faces], znear) if bool((cam[:, 2] < znear).any()) else None
    if clip is None:
        ndc = pixels_to_ndc(_camera_to_pixels(cam, owner, cameras), H, W)
        p3d = P3DMeshes(verts=list(torch.split(ndc, meshes.num_verts_per_mesh.tolist(), 0)), faces=meshes.faces_list())
    else:
        # pytorch3d's own z clipping interpolates projected coordinates; clip exactly in camera space instead
        piece_owner = meshes.face_to_mesh_idx[clip.face]
        corners = clip.verts.reshape(-1, 3)
        ndc = pixels_to_ndc(_camera_to_pixels(corners, piece_owner.repeat_interleave(3), cameras), H, W)
        counts = torch.bincount(piece_owner, minlength=len(meshes)).tolist()
        p3d = P3DMeshes(verts=list(torch.split(ndc, [3 * c for c in counts], 0)),
                        faces=[torch.arange(3 * c, device=ndc.device).view(c, 3) for c in counts])
    bin_size, max_per_bin = _bins(ndc.device, H, W, len(meshes), int(p3d.num_faces_per_mesh().max()))
    # Clipped pieces need perspective-correct barycentrics to compose; screen-space ones are derived below.
    pix_to_face, zbuf, bary, dists = rasterize_meshes(
        p3d, image_size=(H, W), blur_radius=(blur_radius * px_to_ndc) ** 2, faces_per_pixel=faces_per_pixel,
        bin_size=bin_size, max_faces_per_bin=max_per_bin or None,
        perspective_correct=(perspective_correct or clip is not None) and not cameras.orthographic,
        # In the blur band depth (and so slot order) is taken at clipped barycentrics, as the reference and
        # pytorch3d's own MeshRasterizer do; barycentrics there are then clipped to the face too.
        clip_barycentric_coords=blur_radius > 0, cull_backfaces=cull_backfaces,
    )
    empty = pix_to_face < 0
    piece = pix_to_face.clamp(min=0)
    clipped = torch.zeros_like(empty)
    if clip is not None:
        bary = (bary.unsqueeze(-1) * clip.weights[piece]).sum(-2)
        clipped = clip.clipped[piece]
        pix_to_face = torch.where(empty, pix_to_face, clip.face[piece])
    if not perspective_correct and not cameras.orthographic:
        corner_z = cam[:, 2][faces][pix_to_face.clamp(min=0)]
        if clip is None:
            # pytorch3d interpolated z affinely in screen space; our zbuf is the surface point's camera z
            zbuf = torch.where(empty, zbuf, 1.0 / (bary / corner_z).sum(-1))
        else:
            # screen-space barycentrics of unclipped faces (clipped ones keep 3D barycentrics, like the reference)
            bz = bary * corner_z
            bary = torch.where(clipped[..., None], bary, bz / bz.sum(-1, keepdim=True))
    dists_px = torch.where(empty, torch.full_like(dists, -1.0), dists.sign() * dists.abs().sqrt() / px_to_ndc)
    return Fragments(pix_to_face=pix_to_face.long(), bary=bary.masked_fill(empty[..., None], 0.0),
                     zbuf=zbuf.masked_fill(empty, -1.0), dists=dists_px)


def projected_point_radius(clouds: Pointclouds, cameras: Cameras) -> tuple[torch.Tensor, torch.Tensor]:
    """Each point's projected position and splat radius in pixels.

    The radius is `r · fx / z` (perspective) or `r · fx` (orthographic), as the reference point
    rasterizer defines it: a screen-space disc, round in pixels.

    Returns:
        `uvz: [P, 3]` pixel position + camera z and `radius_px: [P]`, for the packed points.
    """
    owner = clouds.packed_to_cloud_idx
    uvz = _project_packed(clouds.points_packed(), owner, cameras)
    r = clouds.radius_packed() * cameras.K[owner, 0, 0]
    return uvz, (r if cameras.orthographic else r / uvz[:, 2].abs().clamp(min=1e-8))


def rasterize_points_pytorch3d(
    clouds: Pointclouds, cameras: Cameras, points_per_pixel: int = 8, znear: float = 1e-3, min_radius_px: float = 0.0
) -> PointFragments:
    """Rasterize point clouds as screen-space discs with pytorch3d; output in our convention.

    Args:
        clouds: B clouds; each point's world radius sets its disc (see `projected_point_radius`).
        cameras: B cameras.
        points_per_pixel: K nearest points kept per pixel.
        znear: points closer than this camera depth are dropped.
        min_radius_px: smallest disc radius on screen, in pixels (`PointsRasterSettings.min_radius_px`).

    Returns:
        PointFragments `[B, H, W, K]` with `dists` = squared pixel distance / squared radius.

    Raises:
        ShapeError: batch sizes differ or bad settings.
    """
    from pytorch3d.renderer.points.rasterize_points import rasterize_points
    from pytorch3d.structures import Pointclouds as P3DPointclouds

    _check_batch(len(clouds), cameras, "point clouds")
    if points_per_pixel < 1 or znear <= 0:
        raise ShapeError(f"need points_per_pixel >= 1 and znear > 0, got {points_per_pixel}, {znear}")
    H, W = cameras.height, cameras.width
    uvz, radius_px = projected_point_radius(clouds, cameras)
    radius_px = radius_px.clamp(min=min_radius_px)
    ndc = pixels_to_ndc(uvz, H, W)
    # pytorch3d skips points with z < 0: move the ones in front of the near plane there.
    ndc = torch.cat([ndc[:, :2], torch.where(ndc[:, 2:] < znear, torch.full_like(ndc[:, 2:], -1.0), ndc[:, 2:])], 1)
    sizes = clouds.num_points_per_cloud.tolist()
    p3d = P3DPointclouds(points=list(torch.split(ndc, sizes, 0)))
    radius_ndc = radius_px * (2.0 / min(H, W))
    radius_pad = torch.nn.utils.rnn.pad_sequence(list(torch.split(radius_ndc, sizes, 0)), batch_first=True)
    bin_size, max_per_bin = _bins(ndc.device, H, W, len(clouds), max(sizes))
    idx, zbuf, dists2 = rasterize_points(p3d, image_size=(H, W), radius=radius_pad, points_per_pixel=points_per_pixel,
                                         bin_size=bin_size, max_points_per_bin=max_per_bin or None)
    idx = idx.long()
    empty = idx < 0
    r2 = radius_ndc[idx.clamp(min=0)] ** 2
    dists = torch.where(empty, torch.full_like(dists2, -1.0), dists2 / r2)
    return PointFragments(idx=idx, zbuf=zbuf, dists=dists)


def _composite_inputs(fragments: PointFragments, features: torch.Tensor) -> tuple[torch.Tensor, ...]:
    if features.dim() != 2:
        raise ShapeError(f"features must be packed [P, C], got {list(features.shape)}")
    idx = fragments.idx.permute(0, 3, 1, 2).contiguous()
    alphas = (1.0 - fragments.dists.clamp(0.0, 1.0)).permute(0, 3, 1, 2).contiguous()
    return idx, alphas, features.t().contiguous()


def alpha_composite_pytorch3d(fragments: PointFragments, features: torch.Tensor) -> torch.Tensor:
    """Front-to-back alpha compositing with pytorch3d; a point's alpha is `1 - dists`.

    Args:
        fragments: PointFragments `[B, H, W, K]`.
        features: `[P, C]` packed per-point features.

    Returns:
        `[B, H, W, C]` composited features (premultiplied: no background added).
    """
    from pytorch3d.renderer.compositing import alpha_composite

    idx, alphas, feats = _composite_inputs(fragments, features)
    return alpha_composite(idx, alphas, feats).permute(0, 2, 3, 1)


def norm_weighted_composite_pytorch3d(fragments: PointFragments, features: torch.Tensor) -> torch.Tensor:
    """Weighted average of the K points per pixel, weights `1 - dists` (pytorch3d's compositor).

    Args:
        fragments: PointFragments `[B, H, W, K]`.
        features: `[P, C]` packed per-point features.

    Returns:
        `[B, H, W, C]`.
    """
    from pytorch3d.renderer.compositing import norm_weighted_sum

    idx, alphas, feats = _composite_inputs(fragments, features)
    return norm_weighted_sum(idx, alphas, feats).permute(0, 2, 3, 1)


class Pytorch3DBackend:
    """Every `Task` through pytorch3d's rasterizers (CPU and CUDA).

    K is limited to 150 per pixel (pytorch3d's CUDA kernels). Soft shading: rasterize with a blur
    radius and K > 1, then blend with `render3d.blend` (its sigma is in the same pixel units as
    the `dists` this adapter returns). The render tasks shade and composite pytorch3d's fragments
    with the reference stages (`render3d.backends.raster_render`).

    pytorch3d's point discs always face the camera: `PointsRasterSettings.oriented` is declared
    unsupported (`Capabilities.oriented_points`) and refused; the point render task draws its
    hole-free splats camera-facing (same minimum on-screen radius as the reference, silhouettes up to
    a splat radius wider where the reference lays disks in the surface).
    """

    def rasterize_meshes(self, meshes: Meshes, cameras: Cameras, settings: RasterSettings) -> Fragments:
        """See `rasterize_meshes_pytorch3d`; `settings` supplies K, blur radius, culling, znear."""
        return rasterize_meshes_pytorch3d(meshes, cameras, settings.faces_per_pixel, settings.blur_radius,
                                          settings.cull_backfaces, settings.perspective_correct, settings.znear)

    def rasterize_points(self, clouds: Pointclouds, cameras: Cameras,
                         settings: PointsRasterSettings) -> PointFragments:
        """See `rasterize_points_pytorch3d`; `settings` supplies K, znear and the minimum radius.

        Raises:
            BackendUnavailable: `settings.oriented` (pytorch3d draws camera-facing discs only).
        """
        if settings.oriented:
            raise BackendUnavailable("backend 'pytorch3d' draws camera-facing point disks only; "
                                     "PointsRasterSettings(oriented=True) needs the 'torch' backend")
        return rasterize_points_pytorch3d(clouds, cameras, settings.points_per_pixel, settings.znear,
                                          settings.min_radius_px)

    def render_meshes(self, meshes: Meshes, cameras: Cameras, lights: Light | None = None,
                      materials: Materials | None = None, settings: RenderSettings | None = None) -> RenderOutput:
        """pytorch3d fragments, reference shading (see `render_meshes_by_rasterizing`)."""
        return render_meshes_by_rasterizing(self.rasterize_meshes, meshes, cameras, lights, materials, settings)

    def render_points(self, clouds: Pointclouds, cameras: Cameras,
                      settings: RenderSettings | None = None) -> RenderOutput:
        """pytorch3d point fragments of camera-facing hole-free splats, reference compositing
        (see `render_points_by_rasterizing`)."""
        return render_points_by_rasterizing(self.rasterize_points, clouds, cameras, settings, oriented=False)


INFO = BackendInfo(
    name="pytorch3d",
    capabilities=Capabilities(
        tasks=frozenset(Task), differentiable=True,
        devices=frozenset({"cpu", "cuda"}), fragment_fields=frozenset({"pix_to_face", "bary", "zbuf", "dists"}),
        point_fields=frozenset({"idx", "zbuf", "dists"}), outputs=OUTPUT_FIELDS, shadings=SHADING_MODELS,
        max_faces_per_pixel=150, soft=True,
    ),
    description="pytorch3d C++/CUDA rasterizers (meshes, points) and point compositors; renders with reference shading",
    install=pip_install_hint("pytorch3d"),
    probe=_probe,
    factory=Pytorch3DBackend,
)
