"""Template meshes the fitter deforms, and the midpoint subdivision that refines them as it converges.

A `Template` carries, besides positions and faces, each vertex's direction on the unit sphere
(`sphere`): the template's own parameterization. It decides where the silhouette inflation puts a
vertex and which vertex mirrors which under the symmetry prior, and subdivision keeps it exact
(midpoints re-projected onto the sphere).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from render3d.io import load_mesh
from tools.errors import ToolError


@dataclass(frozen=True)
class Template:
    """A closed triangle mesh with per-vertex attributes that survive subdivision.

    Attributes:
        verts: `[V, 3]` positions.
        faces: `[F, 3]` long, counter-clockwise seen from outside.
        sphere: `[V, 3]` unit direction of each vertex in the template's parameterization.
        colors: `[V, 3]` per-vertex colors in [0, 1], or None.
    """

    verts: torch.Tensor
    faces: torch.Tensor
    sphere: torch.Tensor
    colors: torch.Tensor | None = None

    @property
    def num_verts(self) -> int:
        return self.verts.shape[0]


def icosphere(level: int) -> Template:
    """Unit icosphere after `level` subdivisions of the icosahedron (10·4^level + 2 vertices).

    Example:
        >>> icosphere(2).verts.shape
        torch.Size([162, 3])
    """
    if not 0 <= level <= 6:
        raise ToolError(f"icosphere level must be within 0..6, got {level}")
    p = (1.0 + math.sqrt(5.0)) / 2.0
    v = torch.tensor([[-1, p, 0], [1, p, 0], [-1, -p, 0], [1, -p, 0], [0, -1, p], [0, 1, p], [0, -1, -p],
                      [0, 1, -p], [p, 0, -1], [p, 0, 1], [-p, 0, -1], [-p, 0, 1]], dtype=torch.float64)
    v = torch.nn.functional.normalize(v, dim=1)
    f = torch.tensor([[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
                      [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
                      [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]])
    t = Template(v.float(), f, v.float())
    for _ in range(level):
        t = subdivide(t)
    return with_verts(t, t.sphere.clone())


def subdivide(t: Template, new_verts: torch.Tensor | None = None) -> Template:
    """Split every face into four at its edge midpoints.

    Positions and colors of new vertices are the midpoints of their edge; sphere directions are
    re-normalized midpoints. Vertex i of the input keeps index i.

    Args:
        t: the template.
        new_verts: `[V, 3]` positions to subdivide instead of `t.verts` (the current fit).

    Returns:
        the subdivided template (`V + E` vertices, `4F` faces).
    """
    verts = t.verts if new_verts is None else new_verts
    f = t.faces
    V = verts.shape[0]
    a, b = f[:, [0, 1, 2]].reshape(-1), f[:, [1, 2, 0]].reshape(-1)
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    uniq, inverse = torch.unique(lo * V + hi, return_inverse=True)
    e0, e1 = uniq // V, uniq % V
    mid = (V + inverse).view(-1, 3)  # midpoint of edge (corner k, corner k+1)

    def extend(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, 0.5 * (x[e0] + x[e1])])

    c0, c1, c2 = f.unbind(1)
    m01, m12, m20 = mid.unbind(1)
    faces = torch.cat([torch.stack([c0, m01, m20], 1), torch.stack([c1, m12, m01], 1),
                       torch.stack([c2, m20, m12], 1), torch.stack([m01, m12, m20], 1)])
    sphere = torch.nn.functional.normalize(extend(t.sphere), dim=1)
    colors = None if t.colors is None else extend(t.colors)
    return Template(extend(verts), faces, sphere, colors)


def mirror_index(sphere: torch.Tensor, axis: int = 0) -> torch.Tensor:
    """`[V]` index of the vertex whose sphere direction is each vertex's mirror image across `axis` = 0.

    Icospheres are symmetric under x ↦ -x, so the match is exact for them; for other templates it
    is the nearest vertex.
    """
    m = sphere.clone()
    m[:, axis] = -m[:, axis]
    return torch.cdist(m, sphere).argmin(1)


def load_template(spec: str | os.PathLike, level: int) -> Template:
    """The template named by `--template`: "sphere", "ellipsoid" (a sphere the fitter stretches to
    the silhouette's box), or a mesh file, centered and scaled to unit radius.

    Args:
        spec: "sphere", "ellipsoid" or a mesh path.
        level: icosphere subdivision level for the built-in templates.

    Raises:
        ToolError: unknown name, unreadable mesh.
    """
    if str(spec) in ("sphere", "ellipsoid"):
        return icosphere(level)
    path = Path(spec)
    if not path.is_file():
        raise ToolError(f"--template must be 'sphere', 'ellipsoid' or a mesh file; {spec!r} is none of these")
    mesh = load_mesh(path)
    v = mesh.verts_packed().float()
    v = v - 0.5 * (v.min(0).values + v.max(0).values)
    v = v / v.norm(dim=1).max().clamp(min=1e-8)
    colors = mesh.vert_colors_packed()
    return Template(v, mesh.faces_packed(), torch.nn.functional.normalize(v, dim=1, eps=1e-8),
                    None if colors is None else colors[:, :3].float())


def with_verts(t: Template, verts: torch.Tensor, colors: torch.Tensor | None = None) -> Template:
    """The same template with new positions (and colors)."""
    return replace(t, verts=verts, colors=t.colors if colors is None else colors)
