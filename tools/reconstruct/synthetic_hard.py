"""The benchmark's hard set: shapes that are not blobs, with known ground truth.

Thin parts (ears, legs, a stick figure's arms), concavities (a horseshoe, a cactus), holes (a
mug's handle, a torus: genus 1), assemblies of primitives (chair-, table- and animal-like), and a
bunny-like assembly with long ears standing in for the Stanford bunny (no downloads). Each is a
smooth union of signed-distance primitives meshed by marching cubes, so the surface is one clean
closed manifold (no buried faces to bias the chamfer distance), seen from its own camera elevation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from render3d.structures import Meshes
from tools.reconstruct.synthetic import SyntheticShape, _colors

SDF = Callable[[torch.Tensor], torch.Tensor]


def _t(*v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float32)


def ellipsoid(center, radii) -> SDF:
    c, r = _t(*center), _t(*radii)
    return lambda p: ((p - c) / r).norm(dim=-1).sub(1.0) * r.min()


def capsule(a, b, radius: float) -> SDF:
    a, b = _t(*a), _t(*b)
    ab = b - a

    def f(p):
        t = (((p - a) @ ab) / (ab @ ab)).clamp(0, 1)
        return (p - a - t[..., None] * ab).norm(dim=-1) - radius
    return f


def box(center, half, rounding: float) -> SDF:
    c, h = _t(*center), _t(*half) - rounding

    def f(p):
        q = (p - c).abs() - h
        return q.clamp(min=0).norm(dim=-1) + q.amax(-1).clamp(max=0) - rounding
    return f


def torus(center, major: float, minor: float, axis: int = 1) -> SDF:
    c = _t(*center)
    plane = [i for i in range(3) if i != axis]

    def f(p):
        q = p - c
        ring = q[..., plane].norm(dim=-1) - major
        return torch.stack([ring, q[..., axis]], -1).norm(dim=-1) - minor
    return f


def cut(sdf: SDF, keep: Callable[[torch.Tensor], torch.Tensor]) -> SDF:
    """`sdf` intersected with the half-space where `keep(p) <= 0`."""
    return lambda p: torch.maximum(sdf(p), keep(p))


def union(*parts: SDF, k: float = 0.04) -> SDF:
    """Smooth union (polynomial smooth minimum, blend width k)."""
    def f(p):
        d = parts[0](p)
        for part in parts[1:]:
            e = part(p)
            h = (0.5 + 0.5 * (e - d) / k).clamp(0, 1)
            d = e * (1 - h) + d * h - k * h * (1 - h)
        return d
    return f


def mesh_sdf(sdf: SDF, lo: float = -0.8, hi: float = 0.8, n: int = 88) -> tuple[torch.Tensor, torch.Tensor]:
    """Marching cubes of the zero level of `sdf` on an `n³` grid over `[lo, hi]³`: `(verts, faces)`,
    faces counter-clockwise seen from outside (skimage's order for a field growing outward)."""
    from skimage.measure import marching_cubes

    xs = torch.linspace(lo, hi, n)
    grid = torch.stack(torch.meshgrid(xs, xs, xs, indexing="ij"), -1)
    values = torch.cat([sdf(chunk) for chunk in grid.reshape(-1, 3).split(200000)]).reshape(n, n, n)
    step = (hi - lo) / (n - 1)
    verts, faces, _, _ = marching_cubes(values.numpy(), 0.0, spacing=(step, step, step))
    verts = torch.from_numpy(verts.copy()).float() + lo
    faces = torch.from_numpy(np.ascontiguousarray(faces)).long()
    return verts, faces


def _table() -> list[tuple[str, SDF, float, float]]:
    legs = [capsule((x, -0.45, z), (x, 0.05, z), 0.045) for x in (-0.4, 0.4) for z in (-0.25, 0.25)]
    chair_legs = [capsule((x, -0.55, z), (x, -0.05, z), 0.04) for x in (-0.28, 0.28) for z in (-0.28, 0.28)]
    animal_legs = [capsule((x, -0.5, z), (x, -0.1, z), 0.06) for x in (-0.33, 0.3) for z in (-0.12, 0.12)]
    ears = [ellipsoid((0.18, 0.42, 0.07), (0.06, 0.25, 0.035)), ellipsoid((0.28, 0.4, -0.06), (0.06, 0.24, 0.035))]
    bunny = union(ellipsoid((0.0, -0.3, 0.0), (0.4, 0.3, 0.3)), ellipsoid((0.22, 0.05, 0.0), (0.2, 0.18, 0.17)),
                  *ears, ellipsoid((-0.42, -0.2, 0.0), (0.08, 0.08, 0.08)), k=0.06)
    arms = [capsule((0.0, -0.05, 0.0), (0.3, -0.05, 0.0), 0.08), capsule((0.3, -0.05, 0.0), (0.3, 0.3, 0.0), 0.08),
            capsule((0.0, 0.1, 0.0), (-0.28, 0.1, 0.0), 0.07), capsule((-0.28, 0.1, 0.0), (-0.28, 0.4, 0.0), 0.07)]
    limbs = [capsule((-0.12, 0.3, 0.0), (-0.5, 0.05, 0.0), 0.04), capsule((0.12, 0.3, 0.0), (0.5, 0.45, 0.0), 0.04),
             capsule((-0.08, -0.1, 0.0), (-0.2, -0.65, 0.0), 0.05), capsule((0.08, -0.1, 0.0), (0.2, -0.65, 0.0), 0.05)]
    mug = union(cut(capsule((0.0, -0.35, 0.0), (0.0, 0.3, 0.0), 0.3), lambda p: p[..., 1].abs() - 0.35),
                torus((0.36, -0.02, 0.0), 0.17, 0.045, axis=2), k=0.02)
    return [
        ("bunny", bunny, 20.0, 10.0),
        ("mug", mug, 10.0, 15.0),
        ("torus", torus((0.0, 0.0, 0.0), 0.42, 0.13, axis=1), 15.0, 50.0),
        ("chair", union(box((0.0, -0.05, 0.0), (0.33, 0.04, 0.33), 0.02), box((0.0, 0.3, -0.3), (0.33, 0.33, 0.035),
                                                                              0.02), *chair_legs, k=0.02), 30.0, 20.0),
        ("table", union(box((0.0, 0.08, 0.0), (0.5, 0.04, 0.33), 0.02), *legs, k=0.02), 25.0, 30.0),
        ("quadruped", union(ellipsoid((0.0, -0.02, 0.0), (0.45, 0.17, 0.16)), *animal_legs,
                            capsule((0.38, 0.05, 0.0), (0.5, 0.3, 0.0), 0.07),
                            ellipsoid((0.56, 0.33, 0.0), (0.14, 0.09, 0.09)),
                            capsule((-0.44, 0.02, 0.0), (-0.62, 0.22, 0.0), 0.03), k=0.05), 15.0, 10.0),
        ("horseshoe", cut(torus((0.0, 0.0, 0.0), 0.4, 0.11, axis=2), lambda p: -p[..., 1] - 0.15), 0.0, 20.0),
        ("cactus", union(capsule((0.0, -0.6, 0.0), (0.0, 0.55, 0.0), 0.13), *arms, k=0.04), 20.0, 0.0),
        ("stick_figure", union(ellipsoid((0.0, 0.1, 0.0), (0.17, 0.28, 0.12)),
                               ellipsoid((0.0, 0.5, 0.0), (0.12, 0.12, 0.12)), *limbs, k=0.05), 10.0, 5.0),
        ("dumbbell", union(ellipsoid((-0.45, 0.0, 0.0), (0.2, 0.2, 0.2)), ellipsoid((0.45, 0.0, 0.0), (0.2, 0.2, 0.2)),
                           capsule((-0.45, 0.0, 0.0), (0.45, 0.0, 0.0), 0.05), k=0.03), 35.0, 25.0),
    ]


def hard_shapes() -> list[SyntheticShape]:
    """The hard set (10 shapes, genus 0 and 1, elevations 0°–50°), deterministic.

    Example:
        >>> names = [s.name for s in hard_shapes()]  # doctest: +SKIP
    """
    out = []
    for i, (name, sdf, az, el) in enumerate(_table()):
        v, f = mesh_sdf(sdf)
        v = v - 0.5 * (v.min(0).values + v.max(0).values)
        out.append(SyntheticShape(name, Meshes([v], [f], vert_colors=[_colors(v, 100 + i)]), az, el))
    return out
