"""`RenderSettings`: the backend-neutral request of the render tasks (`render_meshes`, `render_points`).

Every backend that renders reads the same frozen, validated settings; what it cannot honour is
declared in its `Capabilities` (e.g. a backend whose `shadings` hold only "unlit") so `auto` and
callers can tell before rendering, never silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from render3d.errors import ShapeError

Shading = Literal["unlit", "lambert", "phong"]
SHADINGS: tuple[str, ...] = ("unlit", "lambert", "phong")


@dataclass(frozen=True)
class RenderSettings:
    """How a render task draws B views.

    Attributes:
        shading: meshes: "unlit" (albedo as is), "lambert" or "phong" (Blinn-Phong in the reference;
            backends with their own shading models approximate it and say how in their module doc).
            Point clouds are always drawn with their colors, unlit.
        background: RGB in [0, 1] behind the geometry.
        cull_backfaces: skip faces seen from behind (meshes).
        znear: nearest camera depth drawn.
        supersample: s ≥ 1: draw at s× the camera resolution and box-filter down (rgb and alpha
            averaged, depth and normals averaged over covered sub-pixels), as `MeshRenderer` does.

    Raises:
        ShapeError: unknown shading, background not 3 numbers in [0, 1], znear ≤ 0, supersample < 1.

    Example:
        >>> RenderSettings(shading="phong", background=(1.0, 1.0, 1.0), supersample=2).supersample
        2
    """

    shading: Shading = "unlit"
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cull_backfaces: bool = False
    znear: float = 1e-3
    supersample: int = 1

    def __post_init__(self) -> None:
        if self.shading not in SHADINGS:
            raise ShapeError(f"shading must be one of {', '.join(SHADINGS)}, got {self.shading!r}")
        bg = tuple(self.background)
        if len(bg) != 3 or not all(isinstance(c, (int, float)) and 0.0 <= c <= 1.0 for c in bg):
            raise ShapeError(f"background must be 3 numbers in [0, 1], got {self.background!r}")
        object.__setattr__(self, "background", tuple(float(c) for c in bg))
        if not (isinstance(self.znear, (int, float)) and math.isfinite(self.znear) and self.znear > 0):
            raise ShapeError(f"znear must be a finite number > 0, got {self.znear!r}")
        if isinstance(self.supersample, bool) or not isinstance(self.supersample, int) or self.supersample < 1:
            raise ShapeError(f"supersample must be an int >= 1, got {self.supersample!r}")
