"""Superquadrics: the shape family |x/a|^(2/ε2) + |z/c|^(2/ε2) ... (Barr 1981), +Y as the polar axis.

ε1 (north-south roundness) and ε2 (east-west roundness) near 0 give boxes, 1 an ellipsoid, 2 an
octahedron-like diamond. Unset fields are drawn from `seed`, so `SuperquadricParams(seed=7)` is a
reproducible random shape and `SuperquadricParams(seed=7, epsilon1=1.0)` fixes one of them.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
from pydantic import Field

from scenes.assets.geometry import MeshData, param_surface
from scenes.spectypes import PositiveVec3, Spec

Exponent = Annotated[float, Field(ge=0.05, le=2.0)]


class SuperquadricParams(Spec):
    """A superquadric; None fields are drawn from `seed` (scale in [0.3, 0.6], ε in [0.25, 1.6])."""

    type: Literal["superquadric"] = "superquadric"
    seed: Annotated[int, Field(ge=0)] = 0
    scale: PositiveVec3 | None = None
    epsilon1: Exponent | None = None
    epsilon2: Exponent | None = None
    segments: Annotated[int, Field(ge=3, le=512)] = 48
    rings: Annotated[int, Field(ge=2, le=512)] = 32

    def resolved(self) -> SuperquadricParams:
        """The same parameters with every None field drawn from `seed`."""
        g = torch.Generator().manual_seed(self.seed)
        draws = torch.rand(5, generator=g, dtype=torch.float64).tolist()
        scale = self.scale or tuple(0.3 + 0.3 * d for d in draws[:3])
        e1 = self.epsilon1 if self.epsilon1 is not None else 0.25 + 1.35 * draws[3]
        e2 = self.epsilon2 if self.epsilon2 is not None else 0.25 + 1.35 * draws[4]
        return self.model_copy(update={"scale": scale, "epsilon1": e1, "epsilon2": e2})


def _f(x: torch.Tensor, e: float) -> torch.Tensor:
    return torch.sign(x) * x.abs().pow(e)


def superquadric(p: SuperquadricParams) -> MeshData:
    """Build the surface (UVs: u around +Y from +Z toward +X, v from the south pole up).

    Example:
        >>> superquadric(SuperquadricParams(seed=3)).faces.shape[1]
        3
    """
    p = p.resolved()
    ax, ay, az = p.scale
    e1, e2 = p.epsilon1, p.epsilon2

    def fn(u, v):
        w, eta = 2 * math.pi * u, math.pi * (v - 0.5)
        ce, se, cw, sw = torch.cos(eta), torch.sin(eta), torch.cos(w), torch.sin(w)
        pts = torch.stack([ax * _f(ce, e1) * _f(sw, e2), ay * _f(se, e1), az * _f(ce, e1) * _f(cw, e2)], -1)
        nrm = torch.stack([_f(ce, 2 - e1) * _f(sw, 2 - e2) / ax, _f(se, 2 - e1) / ay,
                           _f(ce, 2 - e1) * _f(cw, 2 - e2) / az], -1)
        return pts, nrm
    return param_surface(fn, p.segments, p.rings)
