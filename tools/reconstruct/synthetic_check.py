"""The benchmark's check set: held-out shapes of the hard set's kinds, never used to choose a prior.

A prior that helps the hard set because it suits those ten shapes, rather than because it is true
of objects, shows up here: the same kinds (furniture, animals, people, handles and rings, thin
parts) in other proportions and poses, seen from other cameras. Built like the hard set
(`tools.reconstruct.synthetic_hard`): smooth unions of signed-distance primitives meshed by
marching cubes.
"""

from __future__ import annotations

import torch

from render3d.structures import Meshes
from tools.reconstruct.synthetic import SyntheticShape, _colors
from tools.reconstruct.synthetic_hard import SDF, box, capsule, cut, ellipsoid, mesh_sdf, torus, union


def _cylinder(y0: float, y1: float, radius: float) -> SDF:
    """A flat-ended vertical cylinder from height y0 to y1 (a capsule cut by two planes)."""
    mid, half = 0.5 * (y0 + y1), 0.5 * (y1 - y0)
    rod = capsule((0.0, y0 - radius, 0.0), (0.0, y1 + radius, 0.0), radius)
    return cut(rod, lambda p: (p[..., 1] - mid).abs() - half)


def _table() -> list[tuple[str, SDF, float, float]]:
    stool_legs = [capsule((0.0, 0.05, 0.0), (0.3 * dx, -0.6, 0.3 * dz), 0.035)
                  for dx, dz in ((1.0, 0.0), (-0.5, 0.87), (-0.5, -0.87))]
    bench = union(box((0.0, 0.0, 0.0), (0.62, 0.035, 0.18), 0.015),
                  *[box((x, -0.25, 0.0), (0.03, 0.25, 0.16), 0.015) for x in (-0.5, 0.5)], k=0.015)
    dog_legs = [capsule((x, -0.05, z), (x, -0.6, z), 0.05) for x in (-0.3, 0.32) for z in (-0.11, 0.11)]
    dog = union(capsule((-0.3, 0.0, 0.0), (0.32, 0.02, 0.0), 0.14), *dog_legs,
                capsule((0.35, 0.05, 0.0), (0.45, 0.32, 0.0), 0.06), ellipsoid((0.52, 0.38, 0.0), (0.15, 0.09, 0.09)),
                ellipsoid((0.45, 0.5, 0.06), (0.03, 0.07, 0.03)), ellipsoid((0.45, 0.5, -0.06), (0.03, 0.07, 0.03)),
                capsule((-0.42, 0.05, 0.0), (-0.55, -0.2, 0.0), 0.025), k=0.05)
    arms = [capsule((-0.15, 0.3, 0.0), (-0.3, 0.0, 0.1), 0.045), capsule((-0.3, 0.0, 0.1), (-0.25, -0.25, 0.2), 0.04),
            capsule((0.15, 0.3, 0.0), (0.33, 0.1, -0.05), 0.045), capsule((0.33, 0.1, -0.05), (0.45, 0.3, -0.1), 0.04)]
    legs = [capsule((-0.07, -0.1, 0.0), (-0.1, -0.66, 0.05), 0.055),
            capsule((0.07, -0.1, 0.0), (0.16, -0.66, -0.1), 0.055)]
    person = union(ellipsoid((0.0, 0.12, 0.0), (0.16, 0.26, 0.1)), ellipsoid((0.0, 0.5, 0.02), (0.11, 0.12, 0.11)),
                   *arms, *legs, k=0.05)
    teapot = union(ellipsoid((0.0, -0.1, 0.0), (0.36, 0.28, 0.36)), capsule((0.3, -0.15, 0.0), (0.6, 0.12, 0.0), 0.05),
                   torus((-0.38, -0.08, 0.0), 0.15, 0.04, axis=2), ellipsoid((0.0, 0.2, 0.0), (0.06, 0.05, 0.06)),
                   k=0.04)
    lamp = union(cut(ellipsoid((0.0, -0.58, 0.0), (0.3, 0.06, 0.3)), lambda p: -p[..., 1] - 0.6),
                 capsule((0.0, -0.55, 0.0), (0.0, 0.6, 0.0), 0.03), _shade(),
                 _cylinder(0.56, 0.62, 0.1), k=0.03)
    shelf = union(*[box((x, 0.0, 0.0), (0.03, 0.6, 0.2), 0.01) for x in (-0.35, 0.35)],
                  *[box((0.0, y, 0.0), (0.38, 0.03, 0.2), 0.01) for y in (-0.57, -0.15, 0.27, 0.57)], k=0.01)
    return [
        ("stool", union(_cylinder(0.02, 0.1, 0.3), *stool_legs, k=0.02), 20.0, 25.0),
        ("bench", bench, -35.0, 20.0),
        ("dog", dog, -25.0, 15.0),
        ("person", person, 25.0, 10.0),
        ("wheel", torus((0.0, 0.0, 0.0), 0.45, 0.09, axis=0), 30.0, 20.0),
        ("teapot", teapot, -15.0, 20.0),
        ("lamp", lamp, 10.0, 15.0),
        ("shelf", shelf, 20.0, 10.0),
    ]


def _shade() -> SDF:
    """A lampshade: a thick-walled open cone frustum around the lamp's pole."""
    def f(p: torch.Tensor) -> torch.Tensor:
        y = p[..., 1]
        r = (p[..., 0] ** 2 + p[..., 2] ** 2).sqrt()
        wall = 0.28 - 0.4 * (y - 0.15)  # radius 0.28 at the bottom rim, narrowing upward
        return torch.maximum((r - wall).abs() - 0.025, (y - 0.4).abs() - 0.22)
    return f


def check_shapes() -> list[SyntheticShape]:
    """The check set (8 shapes, genus 0 to 3, elevations 10°–25°), deterministic.

    Example:
        >>> names = [s.name for s in check_shapes()]  # doctest: +SKIP
    """
    out = []
    for i, (name, sdf, az, el) in enumerate(_table()):
        v, f = mesh_sdf(sdf)
        v = v - 0.5 * (v.min(0).values + v.max(0).values)
        out.append(SyntheticShape(name, Meshes([v], [f], vert_colors=[_colors(v, 200 + i)]), az, el))
    return out
