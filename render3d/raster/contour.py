"""A soft silhouette that blurs only the outline: the differentiable coverage inverse rendering fits to masks.

SoftRas-style coverage `1 - prod_k (1 - sigmoid(-d_k / sigma))` dims the interior along every
edge shared by two front faces (to 0.75 right on it), misses covered pixels when the
depth-sorted top-K list fills up with nearby faces, and overcounts outside where several faces
are near. `contour_silhouette` gives each pixel one distance instead: to the nearest contour edge
(an edge whose other face looks away from the camera), signed by hard coverage. Interior edges
never blur, and the gradient reaches the vertices through the projected outline only.
"""

from __future__ import annotations

import torch

from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.raster.rasterizer import MeshRasterizer
from render3d.raster.settings import RasterSettings
from render3d.structures import Meshes
from render3d.topology import MeshTopology


def _segment_dist(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distance from points `p: [..., 2]` to segments `(a, b): [..., 2]`."""
    ab, ap = b - a, p - a
    t = ((ap * ab).sum(-1) / (ab * ab).sum(-1).clamp(min=1e-12)).clamp(0, 1)
    return (ap - t[..., None] * ab).norm(dim=-1)


def _detached(cameras: Cameras) -> Cameras:
    return Cameras(cameras.K.detach(), cameras.R.detach(), cameras.t.detach(), cameras.width, cameras.height,
                   cameras.orthographic)


def contour_faces(meshes: Meshes, topology: MeshTopology, cameras: Cameras) -> torch.Tensor:
    """`[F, 3]` bool: edge k (opposite corner k) of a front face is on the outline seen by the camera.

    An outline edge is one whose neighbouring face looks away from the camera (or is missing, on
    an open border).
    """
    faces = meshes.faces_packed()
    corners = cameras.project(meshes.verts_packed().detach()[None])[0, :, :2][faces]
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    # Front faces appear counter-clockwise in the y-down image: a negative 2D cross product.
    front = (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) < 0
    other = topology.edge_to_faces[topology.face_to_edges]  # [F, 3, 2]
    me = torch.arange(faces.shape[0], device=faces.device)[:, None, None]
    nb = torch.where(other[..., 0:1] == me, other[..., 1:2], other[..., 0:1])[..., 0]
    return front[:, None] & ((nb < 0) | ~front[nb.clamp(min=0)])


def contour_silhouette(meshes: Meshes, topology: MeshTopology, cameras: Cameras, sigma: float,
                       faces_per_pixel: int = 4, backend: str = "torch") -> tuple[torch.Tensor, Fragments]:
    """Soft silhouette of one closed mesh: a sigmoid of the signed pixel distance to its outline.

    Each pixel's distance is taken to the nearest contour edge among the contour faces listed
    within `3 sigma` of it and its hard-covering face, and is positive where the hard pass
    covers the pixel. The rasterizer only decides coverage and which faces are near a pixel (no
    gradient passes through it), so any backend able to list faces within a blur radius serves.

    Args:
        meshes: one mesh.
        topology: its `MeshTopology`.
        cameras: one camera.
        sigma: edge softness in pixels (> 0).
        faces_per_pixel: contour faces listed per pixel within `3 sigma` of it.
        backend: the rasterizer backend (see `MeshRasterizer`).

    Returns:
        `alpha: [1, H, W]` in (0, 1), differentiable in the vertex positions and the camera, and the
        hard (K = 1) fragments of the same view (without gradients).

    Raises:
        ShapeError: not one mesh and one camera, or sigma <= 0.
        BackendUnavailable: the backend is missing or cannot list faces within a blur radius.

    Example:
        >>> from render3d.cameras import intrinsics_from_fov, look_at
        >>> from render3d.geometry.icosphere import icosphere
        >>> v, f = icosphere(2)
        >>> mesh = Meshes([v], [f])
        >>> R, t = look_at(torch.tensor([[0.0, 0, 4]]), torch.zeros(1, 3))
        >>> cam = Cameras(intrinsics_from_fov(40, 32, 32)[None], R, t, 32, 32)
        >>> alpha, hard = contour_silhouette(mesh, MeshTopology.from_meshes(mesh), cam, sigma=0.5)
        >>> alpha.shape, round(float(alpha[0, 16, 16]), 3)
        (torch.Size([1, 32, 32]), 1.0)
    """
    if len(meshes) != 1 or len(cameras) != 1:
        raise ShapeError(f"contour_silhouette takes one mesh and one camera, got {len(meshes)} and {len(cameras)}")
    if not sigma > 0:
        raise ShapeError(f"sigma must be > 0 pixels, got {sigma}")
    faces = meshes.faces_packed()
    uv = cameras.project(meshes.verts_packed()[None])[0, :, :2]
    corners = uv[faces]
    contour = contour_faces(meshes, topology, cameras)
    # The rasterizer only decides coverage and which faces are near a pixel: no gradient through it.
    plain = Meshes([meshes.verts_packed().detach()], [faces])
    cams = _detached(cameras)
    with torch.no_grad():
        hard = MeshRasterizer(RasterSettings(), backend)(plain, cams)
    # Only faces with a contour edge can soften the outline: rasterize just those, so that the
    # depth-sorted list is not filled by interior faces whose extended planes lie nearer.
    rim = torch.nonzero(contour.any(1)).squeeze(1)
    if rim.numel() == 0:
        return hard.mask.to(uv.dtype), hard
    with torch.no_grad():
        soft = MeshRasterizer(RasterSettings(faces_per_pixel=faces_per_pixel, blur_radius=3.0 * sigma), backend)(
            Meshes([plain.verts_packed()], [faces[rim]]), cams)
    soft_p2f = torch.where(soft.pix_to_face >= 0, rim[soft.pix_to_face.clamp(min=0)], soft.pix_to_face)
    p2f = torch.cat([hard.pix_to_face, soft_p2f], -1)
    H, W = cameras.height, cameras.width
    # Only (pixel, face) pairs whose face has a contour edge matter: evaluate just those.
    has_rim = (p2f >= 0) & contour.any(1)[p2f.clamp(min=0)]
    where = torch.nonzero(has_rim)  # [n, 4]: image, row, col, slot
    f = p2f[has_rim]
    pix = torch.stack([where[:, 2], where[:, 1]], 1).to(uv) + 0.5
    c = corners[f]  # [n, 3, 2]
    d = torch.stack([_segment_dist(pix, c[:, (k + 1) % 3], c[:, (k + 2) % 3]) for k in range(3)], -1)
    d = torch.where(contour[f], d, torch.full_like(d, float("inf"))).amin(-1)
    flat = where[:, 1] * W + where[:, 2]
    dist = torch.full((H * W,), float("inf"), dtype=uv.dtype, device=uv.device)
    dist = dist.scatter_reduce(0, flat, d, "amin", include_self=True).view(1, H, W)
    # One signed distance per pixel to the outline (not a union of per-face coverages, which
    # overcounts where several rim faces are near): inside = covered by the hard pass.
    signed = torch.where(hard.mask, dist, -dist)
    return torch.sigmoid(signed / sigma), hard
