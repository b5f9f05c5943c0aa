"""Baking the fit into a UV texture: the photo where the input view sees the surface, the shaded
albedo elsewhere.

Atlas layout: faces go in pairs into square cells of `cell` texels, face 2c in the cell's
lower-left triangle and face 2c+1 in its upper-right one, the two kept `gap` texels apart across
the diagonal; every face corner gets its own UV (no shared seams to worry about). Texels outside
a triangle take the nearest point of it, which pads the charts for bilinear lookups.

Texels the input view does not see take the photo at their mirror image through the object's
center plane facing the camera (front and back of most objects look alike), and the fitted
shaded albedo where that is not seen either.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from render3d.cameras import Cameras
from render3d.raster import RasterSettings, rasterize_meshes
from render3d.structures import Meshes

CELL = 12
PAD = 1.0
GAP = 2.0


def _local_corners(s: float) -> torch.Tensor:
    """`[2, 3, 2]` corners of a cell's two triangles, (x right, y down) in [0, 1]², legs of length `s`."""
    return torch.tensor([[[0.0, 0.0], [s, 0.0], [0.0, s]], [[1.0, 1.0], [1.0 - s, 1.0], [1.0, 1.0 - s]]])


def _leg(cell: int, pad: float) -> float:
    return 1.0 - GAP / (cell - 2 * pad)


def atlas_uvs(num_faces: int, cell: int = CELL, pad: float = PAD) -> tuple[torch.Tensor, torch.Tensor, int]:
    """UVs of the paired-triangle atlas.

    Args:
        num_faces: F.
        cell: cell side in texels.
        pad: inset of the triangles from the cell border, in texels.

    Returns:
        `verts_uvs: [3F, 2]`, `faces_uvs: [F, 3]`, and the square texture side in texels.
    """
    cells = (num_faces + 1) // 2
    grid = max(1, math.ceil(math.sqrt(cells)))
    side = grid * cell
    f = torch.arange(num_faces)
    c, slot = f // 2, f % 2
    origin = torch.stack([(c % grid) * cell, (c // grid) * cell], 1).float()
    xy = origin[:, None] + pad + _local_corners(_leg(cell, pad))[slot] * (cell - 2 * pad)  # [F, 3, 2], y down
    uv = torch.stack([xy[..., 0] / side, 1.0 - xy[..., 1] / side], -1)
    return uv.reshape(-1, 2), torch.arange(3 * num_faces).reshape(num_faces, 3), side


def _texel_barycentrics(num_faces: int, cell: int, pad: float, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Face `[side, side]` (-1 for unused texels) and barycentrics `[side, side, 3]` of every texel center."""
    grid = side // cell
    y, x = torch.meshgrid(torch.arange(side) + 0.5, torch.arange(side) + 0.5, indexing="ij")
    col, row = (x // cell), (y // cell)
    lx = ((x - col * cell - pad) / (cell - 2 * pad)).clamp(0, 1)
    ly = ((y - row * cell - pad) / (cell - 2 * pad)).clamp(0, 1)
    s = _leg(cell, pad)
    upper = lx + ly > 1
    face = ((row * grid + col) * 2 + upper.long()).long()
    bary_a = torch.stack([1 - (lx + ly) / s, lx / s, ly / s], -1)
    bary_b = torch.stack([1 - (2 - lx - ly) / s, (1 - lx) / s, (1 - ly) / s], -1)
    bary = torch.where(upper[..., None], bary_b, bary_a).clamp(min=0)
    bary = bary / bary.sum(-1, keepdim=True)
    face = torch.where(face < num_faces, face, torch.full_like(face, -1))
    return face, bary


def _photo_lookup(points: torch.Tensor, normals: torch.Tensor, photo: torch.Tensor, mask: torch.Tensor,
                  camera: Cameras, zbuf: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Photo colors `[N, 3]` at world points and weights `[N]`: 0 where hidden (by `zbuf`, unless None),
    off the mask, or seen edge-on."""
    uvz = camera.project(points[None])[0]
    h, w = camera.height, camera.width
    px = uvz[:, 0].floor().long().clamp(0, w - 1)
    py = uvz[:, 1].floor().long().clamp(0, h - 1)
    inside = (uvz[:, 0] >= 0) & (uvz[:, 0] < w) & (uvz[:, 1] >= 0) & (uvz[:, 1] < h)
    seen = inside & (mask[py, px] > 0.5)
    if zbuf is not None:
        seen &= (zbuf[py, px] > 0) & ((uvz[:, 2] - zbuf[py, px]).abs() < 0.01 * float(camera.t[0].norm()))
    # Surfaces seen at grazing angles smear the photo: fade them out.
    view = F.normalize(points - camera.centers()[0], dim=-1)
    facing = (-(normals * view).sum(-1)).clamp(0, 1)
    weight = seen.float() * ((facing - 0.15) / 0.35).clamp(0, 1)
    grid = torch.stack([uvz[:, 0] / w * 2 - 1, uvz[:, 1] / h * 2 - 1], -1).view(1, 1, -1, 2)
    sampled = F.grid_sample(photo.permute(2, 0, 1)[None].float(), grid, mode="bilinear", padding_mode="border",
                            align_corners=False)[0, :, 0].T
    return sampled, weight


@torch.no_grad()
def bake_texture(verts: torch.Tensor, faces: torch.Tensor, radiance: torch.Tensor, photo: torch.Tensor,
                 mask: torch.Tensor, camera: Cameras, cell: int = CELL, pad: float = PAD) -> Meshes:
    """A textured mesh whose texture holds the photo where the input camera sees the surface.

    Args:
        verts: `[V, 3]` world positions.
        faces: `[F, 3]` long.
        radiance: `[V, 3]` shaded vertex colors used where the photo does not see the surface.
        photo: `[H, W, 3]` the input image (any resolution with the camera's aspect).
        mask: `[h, w]` its foreground mask at the camera's resolution.
        camera: the input view at resolution `h × w`.
        cell: texels per atlas cell side.
        pad: triangle inset in texels.

    Returns:
        one mesh with `verts_uvs`, `faces_uvs` and a `[side, side, 3]` texture.
    """
    F_ = faces.shape[0]
    verts_uvs, faces_uvs, side = atlas_uvs(F_, cell, pad)
    face, bary = _texel_barycentrics(F_, cell, pad, side)
    valid = face >= 0
    fidx = face.clamp(min=0)
    corners = verts[faces[fidx]]  # [side, side, 3, 3]
    points = (bary[..., None] * corners).sum(-2)
    fallback = (bary[..., None] * radiance[faces[fidx]]).sum(-2)
    mesh = Meshes([verts], [faces])
    zbuf = rasterize_meshes(mesh, camera, RasterSettings()).zbuf[0, ..., 0]
    normals = mesh.faces_normals_packed()[fidx].reshape(-1, 3)
    pts = points.reshape(-1, 3)
    front, w_front = _photo_lookup(pts, normals, photo, mask, camera, zbuf)
    # Mirror through the plane through the object's center, perpendicular to the optical axis.
    axis = camera.R[0, 2]
    center = 0.5 * (verts.min(0).values + verts.max(0).values)
    offset = ((pts - center) @ axis)[:, None] * axis
    n_mirror = normals - 2 * (normals @ axis)[:, None] * axis
    # The mirror image lies near, not on, the visible surface: no depth test, the mask decides.
    back, w_back = _photo_lookup(pts - 2 * offset, n_mirror, photo, mask, camera, None)
    w_back = w_back * (1 - w_front)
    rest = (1 - w_front - w_back)[:, None]
    color = w_front[:, None] * front + w_back[:, None] * back + rest * fallback.reshape(-1, 3)
    texture = torch.where(valid.reshape(-1, 1), color, torch.full_like(color, 0.5)).reshape(side, side, 3)
    return Meshes([verts], [faces], verts_uvs=[verts_uvs], faces_uvs=[faces_uvs], textures=[texture.clamp(0, 1)])
