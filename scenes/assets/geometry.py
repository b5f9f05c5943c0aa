"""A single procedural surface before it becomes a render3d `Meshes`, and the grid builders the
primitives share.

UVs live per vertex (seams are duplicated vertices), so `faces` index both positions and UVs.
UV origin is the texture's bottom-left (OBJ convention), as `Meshes` expects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from render3d import Meshes


@dataclass(frozen=True)
class MeshData:
    """One triangle surface.

    Attributes:
        verts: `[V, 3]` float32 positions.
        faces: `[F, 3]` long, counter-clockwise seen from outside.
        uvs: `[V, 2]` per-vertex UVs in [0, 1], or None where no mapping is natural.
        normals: `[V, 3]` unit normals when known analytically, else None (computed by `Meshes`).
    """

    verts: torch.Tensor
    faces: torch.Tensor
    uvs: torch.Tensor | None = None
    normals: torch.Tensor | None = None

    def to_meshes(self, color: tuple[float, float, float] = (0.8, 0.8, 0.8),
                  texture: torch.Tensor | None = None) -> Meshes:
        """A one-mesh batch: with `texture: [Ht, Wt, 3]` mapped by the UVs, else a constant vertex color."""
        normals = None if self.normals is None else [self.normals]
        if texture is not None and self.uvs is not None:
            return Meshes([self.verts], [self.faces], vert_normals=normals, verts_uvs=[self.uvs],
                          faces_uvs=[self.faces], textures=[texture])
        colors = torch.tensor(color, dtype=torch.float32).expand(self.verts.shape[0], 3).clone()
        return Meshes([self.verts], [self.faces], vert_normals=normals, vert_colors=[colors])


def concat(parts: list[MeshData]) -> MeshData:
    """Several surfaces as one (UVs/normals kept only when every part has them)."""
    offsets, n = [], 0
    for p in parts:
        offsets.append(n)
        n += p.verts.shape[0]
    uvs = torch.cat([p.uvs for p in parts]) if all(p.uvs is not None for p in parts) else None
    normals = torch.cat([p.normals for p in parts]) if all(p.normals is not None for p in parts) else None
    return MeshData(torch.cat([p.verts for p in parts]), torch.cat([p.faces + o for p, o in zip(parts, offsets,
                    strict=True)]), uvs, normals)


def grid_faces(nu: int, nv: int) -> torch.Tensor:
    """`[2 nu nv, 3]` faces of a `(nv + 1) × (nu + 1)` vertex grid stored row-major (v rows, u columns),
    wound so that the normal is `dP/du × dP/dv`."""
    j, i = torch.meshgrid(torch.arange(nu), torch.arange(nv), indexing="xy")
    a = (i * (nu + 1) + j).reshape(-1)
    b, c, d = a + 1, a + nu + 2, a + nu + 1
    return torch.cat([torch.stack([a, b, c], -1), torch.stack([a, c, d], -1)])


def drop_degenerate(data: MeshData, rel_eps: float = 1e-6) -> MeshData:
    """The same surface without (near-)zero-area faces (grid rows collapsed onto a pole). Relative
    to the squared edge lengths, because rounding leaves collapsed faces with a tiny area."""
    fv = data.verts[data.faces].double()
    e1, e2 = fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0]
    area = torch.linalg.cross(e1, e2, dim=-1).norm(dim=-1)
    keep = area > rel_eps * (e1.pow(2).sum(-1) + e2.pow(2).sum(-1))
    return MeshData(data.verts, data.faces[keep], data.uvs, data.normals)


def param_surface(fn: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]],
                  nu: int, nv: int, flip: bool = False) -> MeshData:
    """Sample `fn(u, v) -> (points [..., 3], normals [..., 3] | None)` on a grid over [0, 1]².

    Args:
        fn: the parametric surface; u runs along columns (texture u), v along rows (texture v).
        nu: quads along u.
        nv: quads along v.
        flip: reverse the winding (when `dP/du × dP/dv` points inward).
    """
    v, u = torch.meshgrid(torch.linspace(0, 1, nv + 1, dtype=torch.float64),
                          torch.linspace(0, 1, nu + 1, dtype=torch.float64), indexing="ij")
    pts, nrm = fn(u, v)
    faces = grid_faces(nu, nv)
    if flip:
        faces = faces[:, [0, 2, 1]]
    uvs = torch.stack([u, v], -1).reshape(-1, 2).float()
    normals = None if nrm is None else torch.nn.functional.normalize(nrm.reshape(-1, 3), dim=-1).float()
    return drop_degenerate(MeshData(pts.reshape(-1, 3).float(), faces, uvs, normals))


def signed_volume(data: MeshData) -> float:
    """Volume enclosed by a closed surface; positive when faces are wound outward."""
    fv = data.verts[data.faces].double()
    return float(torch.linalg.det(fv).sum() / 6.0)


def welded_normals(data: MeshData, decimals: int = 6) -> torch.Tensor:
    """`[V, 3]` area-weighted vertex normals shared by vertices at the same position, so UV seams
    and collapsed poles shade smoothly."""
    key = torch.round(data.verts.double() * 10**decimals)
    _, weld = torch.unique(key, dim=0, return_inverse=True)
    fv = data.verts[data.faces]
    area_n = torch.linalg.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=-1)
    acc = torch.zeros(int(weld.max()) + 1, 3)
    for k in range(3):
        acc.index_add_(0, weld[data.faces[:, k]], area_n)
    return torch.nn.functional.normalize(acc[weld], dim=-1, eps=1e-12)
