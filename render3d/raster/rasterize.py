"""`rasterize_meshes`: z-buffered top-K mesh rasterization in pure PyTorch, CPU and CUDA.

Two stages: a discrete one (`select_pairs`, no autograd) picks the K nearest faces listed at every
pixel; a differentiable one recomputes barycentrics, depth and signed distance for just those
pairs from the face geometry, so gradients reach vertex positions and camera K/R/t.

Threading: set `OMP_WAIT_POLICY=PASSIVE` before torch loads on machines shared with other work
(see `render3d/THREADING.md`).
"""

from __future__ import annotations

import torch

from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.raster.candidates import select_pairs
from render3d.raster.geometry import FaceGeometry, face_geometry
from render3d.raster.pairs import evaluate_pairs
from render3d.raster.settings import RasterSettings
from render3d.structures import Meshes


def _check_inputs(meshes: Meshes, cameras: Cameras, settings: RasterSettings) -> None:
    if not isinstance(meshes, Meshes):
        raise ShapeError(f"meshes must be a Meshes, got {type(meshes).__name__}")
    if not isinstance(cameras, Cameras):
        raise ShapeError(f"cameras must be a Cameras, got {type(cameras).__name__}")
    if not isinstance(settings, RasterSettings):
        raise ShapeError(f"settings must be a RasterSettings, got {type(settings).__name__}")
    if len(meshes) not in (1, len(cameras)):
        raise ShapeError(f"{len(meshes)} meshes for {len(cameras)} cameras: give one mesh per camera or a single mesh")
    if meshes.device != cameras.device:
        raise ShapeError(f"meshes are on {meshes.device} but cameras on {cameras.device}")


def _evaluate(geom: FaceGeometry, inst: torch.Tensor, pix: torch.Tensor, H: int, W: int,
              settings: RasterSettings, orthographic: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Differentiable barycentrics `[S, 3]`, depth `[S]` and signed pixel distance `[S]` of selected pairs."""
    dtype = geom.edges.dtype
    row = torch.div(pix, W, rounding_mode="floor")
    u = (pix - row * W).to(dtype) + 0.5
    v = (row % H).to(dtype) + 0.5
    # Screen-affine barycentrics are undefined for faces with corners behind the camera.
    affine = None if settings.perspective_correct or orthographic else ~geom.clipped[inst]
    return evaluate_pairs(geom.edges, geom.depth, geom.poly, inst, u, v, affine)


def rasterize_meshes(meshes: Meshes, cameras: Cameras, settings: RasterSettings) -> Fragments:
    """Rasterize B meshes seen by B cameras into per-pixel lists of the K nearest faces.

    The image size is `cameras.height × cameras.width`. Pixel centers sit at integer + 0.5
    (OpenCV). A pixel lists a face when its center lies inside the face's visible part (in front of
    `settings.znear`) or, with `blur_radius > 0`, within that many pixels of its boundary.

    Args:
        meshes: B meshes, or one mesh broadcast to all cameras (then `pix_to_face` indexes that
            mesh's faces).
        cameras: B cameras (perspective or orthographic).
        settings: rasterization settings.

    Returns:
        Fragments with `pix_to_face: [B, H, W, K]` (packed face index, -1 empty), `bary:
        [B, H, W, K, 3]` (0 empty; outside the face but within the blur radius they extend the
        face's plane and may be negative), `zbuf: [B, H, W, K]` camera z of the surface point (-1
        empty; outside the face, the depth at the clipped barycentrics `relu(b) / sum(relu(b))`,
        as pytorch3d's MeshRasterizer) and `dists: [B, H, W, K]` signed pixel distance to the
        face's visible boundary, negative inside (-1 empty). Sorted near → far by `zbuf`; faces at
        exactly equal depth are ordered by face index (lowest first). A face's pixels never depend
        on the other meshes and cameras of the batch (its arithmetic is element-wise, see
        `render3d.elementwise`). `bary`, `zbuf`, `dists` are differentiable w.r.t. vertex positions and
        camera K, R, t.

    Raises:
        ShapeError: wrong argument types, mesh/camera count mismatch, device mismatch.

    Example:
        >>> from render3d.cameras import intrinsics_from_fov, look_at
        >>> R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
        >>> cams = Cameras(intrinsics_from_fov(60, 32, 32)[None], R, t, 32, 32)
        >>> tri = Meshes([torch.tensor([[-1.0, -1, 0], [1, -1, 0], [0, 1, 0]])], [torch.tensor([[0, 1, 2]])])
        >>> frags = rasterize_meshes(tri, cams, RasterSettings())
        >>> int(frags.pix_to_face[0, 16, 16, 0]), round(float(frags.zbuf[0, 16, 16, 0]), 3)
        (0, 3.0)
    """
    _check_inputs(meshes, cameras, settings)
    B, H, W, K = len(cameras), cameras.height, cameras.width, settings.faces_per_pixel
    geom = face_geometry(meshes, cameras, settings.znear)
    slot, pix, inst = select_pairs(geom.detach(), H, W, K, settings.blur_radius, settings.cull_backfaces,
                                   settings.znear, B)
    bary, z, dist = _evaluate(geom, inst, pix, H, W, settings, cameras.orthographic)
    n = B * H * W * K
    dev, dtype = geom.edges.device, geom.edges.dtype
    pix_to_face = torch.full((n,), -1, dtype=torch.long, device=dev).index_copy(0, slot, geom.face_id[inst])
    bary_out = torch.zeros(n, 3, dtype=dtype, device=dev).index_copy(0, slot, bary)
    zbuf = torch.full((n,), -1.0, dtype=dtype, device=dev).index_copy(0, slot, z)
    dists = torch.full((n,), -1.0, dtype=dtype, device=dev).index_copy(0, slot, dist)
    shape = (B, H, W, K)
    return Fragments(pix_to_face.view(shape), bary_out.view(*shape, 3), zbuf.view(shape), dists.view(shape))
