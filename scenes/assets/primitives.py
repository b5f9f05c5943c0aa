"""Geometric primitives, centered at the origin with +Y as the axis of revolution.

Every primitive is described by a frozen parameter model (the same model a scene file uses under
`procedural:`), built by `build_primitive(params) -> MeshData`. UVs: u runs around the axis
(starting on +Z, turning toward +X), v from bottom to top; caps and box faces use planar UVs,
oriented so that no texture appears mirrored. The icosphere uses the same latitude-longitude map as
`sphere`, its triangles cut along the seam (`scenes.assets.spherical_uv`), so any material goes on
any primitive.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
from pydantic import Field

from scenes.assets.geometry import MeshData, concat, drop_degenerate, param_surface
from scenes.assets.spherical_uv import spherical_uvs
from scenes.spectypes import Positive, PositiveVec3, Spec

Segments = Annotated[int, Field(ge=3, le=512)]


class SphereParams(Spec):
    """UV sphere of `radius` with `segments` around and `rings` from pole to pole."""

    type: Literal["sphere"] = "sphere"
    radius: Positive = 0.5
    segments: Segments = 48
    rings: Annotated[int, Field(ge=2, le=512)] = 24


class IcosphereParams(Spec):
    """Subdivided icosahedron (20·4^subdivisions faces, plus the few split along the UV seam)."""

    type: Literal["icosphere"] = "icosphere"
    radius: Positive = 0.5
    subdivisions: Annotated[int, Field(ge=0, le=6)] = 3


class BoxParams(Spec):
    """Axis-aligned box with edge lengths `size` (x, y, z), flat faces, one UV square per face."""

    type: Literal["box"] = "box"
    size: PositiveVec3 = (1.0, 1.0, 1.0)


class CylinderParams(Spec):
    """Capped cylinder along +Y."""

    type: Literal["cylinder"] = "cylinder"
    radius: Positive = 0.5
    height: Positive = 1.0
    segments: Segments = 48


class ConeParams(Spec):
    """Cone along +Y with its base at -height/2 and apex at +height/2."""

    type: Literal["cone"] = "cone"
    radius: Positive = 0.5
    height: Positive = 1.0
    segments: Segments = 48


class TorusParams(Spec):
    """Torus around +Y: tube of radius `minor` swept along a circle of radius `major`."""

    type: Literal["torus"] = "torus"
    major: Positive = 0.5
    minor: Positive = 0.2
    segments: Segments = 64
    sides: Segments = 24


class CapsuleParams(Spec):
    """Cylinder of `length` along +Y closed by two hemispheres of `radius` (total height length + 2·radius)."""

    type: Literal["capsule"] = "capsule"
    radius: Positive = 0.3
    length: Positive = 0.8
    segments: Segments = 48
    rings: Annotated[int, Field(ge=2, le=256)] = 12


class PlaneParams(Spec):
    """Square-gridded plane in XZ facing +Y, `size` = (x extent, z extent)."""

    type: Literal["plane"] = "plane"
    size: tuple[Positive, Positive] = (2.0, 2.0)
    subdivisions: Annotated[int, Field(ge=1, le=512)] = 1


def _revolve(rho, y, n_rho, n_y, segments: int, nv: int) -> MeshData:
    """Surface of revolution of a profile given as functions of v ∈ [0, 1] (bottom axis → top axis)."""
    def fn(u, v):
        phi = 2 * math.pi * u
        s, c = torch.sin(phi), torch.cos(phi)
        r = rho(v)
        pts = torch.stack([r * s, y(v), r * c], -1)
        nr = n_rho(v)
        return pts, torch.stack([nr * s, n_y(v), nr * c], -1)
    return param_surface(fn, segments, nv)


def _disk(radius: float, y: float, segments: int, up: bool) -> MeshData:
    def fn(u, v):
        phi = 2 * math.pi * u
        r = radius * (1 - v) if up else radius * v
        pts = torch.stack([r * torch.sin(phi), torch.full_like(u, y), r * torch.cos(phi)], -1)
        return pts, torch.stack([torch.zeros_like(u), torch.full_like(u, 1.0 if up else -1.0), torch.zeros_like(u)], -1)
    d = param_surface(fn, segments, 1)
    # Seen from outside (above an up-facing cap, below a down-facing one) u runs along +x and v
    # away from the viewer's +z, so the texture reads the right way round on both caps.
    flip = -1.0 if up else 1.0
    uvs = torch.stack([d.verts[:, 0] / (2 * radius) + 0.5, 0.5 + flip * d.verts[:, 2] / (2 * radius)], -1)
    return MeshData(d.verts, d.faces, uvs.clamp(0, 1), d.normals)


def sphere(p: SphereParams) -> MeshData:
    r = p.radius
    return _revolve(lambda v: r * torch.sin(math.pi * v), lambda v: -r * torch.cos(math.pi * v),
                    lambda v: torch.sin(math.pi * v), lambda v: -torch.cos(math.pi * v), p.segments, p.rings)


def icosphere(p: IcosphereParams) -> MeshData:
    g = (1 + math.sqrt(5)) / 2
    verts = torch.tensor([[-1, g, 0], [1, g, 0], [-1, -g, 0], [1, -g, 0], [0, -1, g], [0, 1, g], [0, -1, -g],
                          [0, 1, -g], [g, 0, -1], [g, 0, 1], [-g, 0, -1], [-g, 0, 1]], dtype=torch.float64)
    faces = torch.tensor([[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
                          [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
                          [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]])
    verts = torch.nn.functional.normalize(verts, dim=-1)
    for _ in range(p.subdivisions):
        edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]).sort(dim=1).values
        n = verts.shape[0]
        keys, inv = torch.unique(edges[:, 0] * n + edges[:, 1], return_inverse=True)  # rows in lexicographic order
        mids = torch.nn.functional.normalize((verts[keys // n] + verts[keys % n]) / 2, dim=-1)
        m = inv.reshape(3, -1) + verts.shape[0]
        a, b, c = faces.unbind(1)
        faces = torch.cat([torch.stack([a, m[0], m[2]], 1), torch.stack([b, m[1], m[0]], 1),
                           torch.stack([c, m[2], m[1]], 1), torch.stack([m[0], m[1], m[2]], 1)])
        verts = torch.cat([verts, mids])
    cut = spherical_uvs(verts, faces)
    return MeshData(cut.verts * p.radius, cut.faces, cut.uvs, torch.nn.functional.normalize(cut.verts, dim=-1))


def box(p: BoxParams) -> MeshData:
    half = torch.tensor(p.size, dtype=torch.float32) / 2
    axes = torch.eye(3)
    sides = [(0, 2, 1, -1.0), (0, 2, 1, 1.0), (1, 0, 2, -1.0), (1, 0, 2, 1.0), (2, 0, 1, 1.0), (2, 0, 1, -1.0)]
    parts = []
    for n_ax, u_ax, v_ax, sign in sides:
        n = axes[n_ax] * sign
        du, dv = axes[u_ax].clone(), axes[v_ax].clone()
        if torch.linalg.cross(du, dv).dot(n) < 0:
            du = -du
        center = n * half
        corners = torch.stack([center + (su * du + sv * dv) * half for sv in (-1, 1) for su in (-1, 1)])
        uvs = torch.tensor([[0.0, 0], [1, 0], [0, 1], [1, 1]])
        faces = torch.tensor([[0, 1, 3], [0, 3, 2]])
        parts.append(MeshData(corners, faces, uvs, n.expand(4, 3).clone()))
    return concat(parts)


def cylinder(p: CylinderParams) -> MeshData:
    r, h = p.radius, p.height
    side = _revolve(lambda v: torch.full_like(v, r), lambda v: h * (v - 0.5), torch.ones_like,
                    torch.zeros_like, p.segments, 1)
    return concat([_disk(r, -h / 2, p.segments, up=False), side, _disk(r, h / 2, p.segments, up=True)])


def cone(p: ConeParams) -> MeshData:
    r, h = p.radius, p.height
    slant = math.hypot(r, h)
    side = _revolve(lambda v: r * (1 - v), lambda v: h * (v - 0.5), lambda v: torch.full_like(v, h / slant),
                    lambda v: torch.full_like(v, r / slant), p.segments, max(4, p.segments // 8))
    return concat([_disk(r, -h / 2, p.segments, up=False), side])


def torus(p: TorusParams) -> MeshData:
    R, a = p.major, p.minor

    def fn(u, v):
        phi, psi = 2 * math.pi * u, 2 * math.pi * v
        ring = R + a * torch.cos(psi)
        pts = torch.stack([ring * torch.sin(phi), a * torch.sin(psi), ring * torch.cos(phi)], -1)
        nrm = torch.stack([torch.cos(psi) * torch.sin(phi), torch.sin(psi), torch.cos(psi) * torch.cos(phi)], -1)
        return pts, nrm
    return param_surface(fn, p.segments, p.sides)


def capsule(p: CapsuleParams) -> MeshData:
    r, half = p.radius, p.length / 2
    # v ∈ [0, 1/2) bottom hemisphere, the cylinder is the single row around v = 1/2, then the top one.
    n = p.rings
    nv = 2 * n + 1

    def theta(v):  # polar angle from the bottom pole; the cylinder row keeps θ = π/2
        k = v * nv
        return torch.where(k <= n, k / n, torch.where(k >= n + 1, (k - 1) / n, torch.ones_like(k))) * math.pi / 2

    def y(v):
        k = v * nv
        shift = torch.where(k <= n, -half, torch.where(k >= n + 1, half, -half + (k - n) * 2 * half))
        return -r * torch.cos(theta(v)) + shift
    return _revolve(lambda v: r * torch.sin(theta(v)), y, lambda v: torch.sin(theta(v)),
                    lambda v: -torch.cos(theta(v)), p.segments, nv)


def plane(p: PlaneParams) -> MeshData:
    sx, sz = p.size

    def fn(u, v):
        pts = torch.stack([(u - 0.5) * sx, torch.zeros_like(u), (0.5 - v) * sz], -1)
        return pts, torch.stack([torch.zeros_like(u), torch.ones_like(u), torch.zeros_like(u)], -1)
    return drop_degenerate(param_surface(fn, p.subdivisions, p.subdivisions))
