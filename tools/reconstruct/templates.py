"""Template meshes the fitter deforms, and the midpoint subdivision that refines them as it converges.

A `Template` carries, besides positions and faces, each vertex's direction on the unit sphere
(`sphere`): the template's own parameterization. It decides where the silhouette inflation puts a
vertex and which vertex mirrors which under the symmetry prior, and subdivision keeps it exact
(midpoints re-projected onto the sphere).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from render3d.errors import Render3DError
from render3d.geometry.icosphere import icosphere as unit_icosphere
from render3d.geometry.icosphere import split_faces
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
    """Unit icosphere template after `level` subdivisions of the icosahedron (10·4^level + 2 vertices).

    Example:
        >>> icosphere(2).verts.shape
        torch.Size([162, 3])
    """
    if not 0 <= level <= 6:
        raise ToolError(f"icosphere level must be within 0..6, got {level}")
    verts, faces = unit_icosphere(level)
    return Template(verts, faces, verts.clone())


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
    faces, edges = split_faces(t.faces, verts.shape[0])

    def extend(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, 0.5 * (x[edges[:, 0]] + x[edges[:, 1]])])

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

    A mesh file must be a usable starting surface: at least 4 vertices and 4 faces, extent in all
    three axes, and at most 1% zero-area faces (those few are dropped).

    Args:
        spec: "sphere", "ellipsoid" or a mesh path.
        level: icosphere subdivision level for the built-in templates.

    Raises:
        ToolError: unknown name, unreadable or degenerate mesh.
    """
    if str(spec) in ("sphere", "ellipsoid"):
        return icosphere(level)
    path = Path(spec)
    if not path.is_file():
        raise ToolError(f"--template must be 'sphere', 'ellipsoid' or a mesh file; {spec!r} is none of these")
    try:
        mesh = load_mesh(path)
    except Render3DError as e:
        raise ToolError(f"--template {path}: {e}") from e
    v = mesh.verts_packed().float()
    faces = mesh.faces_packed()
    extent = v.max(0).values - v.min(0).values if len(v) else torch.zeros(3)
    if len(v) < 4 or len(faces) < 4 or float(extent.min()) <= 1e-6 * max(float(extent.max()), 1e-12):
        raise ToolError(f"--template {path}: a degenerate mesh ({len(v)} vertices, {len(faces)} faces, extent "
                        f"{[round(float(x), 6) for x in extent]}); a template must enclose a volume")
    fv = v[faces]
    area = torch.linalg.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0]).norm(dim=1)
    bad = area <= 1e-10 * float(extent.max()) ** 2
    if int(bad.sum()) > 0.01 * len(faces):
        raise ToolError(f"--template {path}: {int(bad.sum())} of {len(faces)} faces are degenerate (zero area)")
    faces = faces[~bad]
    v = v - 0.5 * (v.min(0).values + v.max(0).values)
    v = v / v.norm(dim=1).max().clamp(min=1e-8)
    colors = mesh.vert_colors_packed()
    return Template(v, faces, torch.nn.functional.normalize(v, dim=1, eps=1e-8),
                    None if colors is None else colors[:, :3].float())


def with_verts(t: Template, verts: torch.Tensor, colors: torch.Tensor | None = None) -> Template:
    """The same template with new positions (and colors)."""
    return replace(t, verts=verts, colors=t.colors if colors is None else colors)
