"""Settings of the point rasterizer."""

from __future__ import annotations

import math
from dataclasses import dataclass

from render3d.errors import ShapeError


@dataclass(frozen=True)
class PointsRasterSettings:
    """How points are splatted into `PointFragments`.

    Attributes:
        points_per_pixel: K, the number of nearest points kept per pixel (1..256).
        znear: points whose camera z is below this are dropped (> 0).
        chunk_candidates: at most this many (pixel, point) candidate pairs are formed at once. It
            bounds the rasterizer's working memory (about 100 bytes per candidate, on top of ~40
            bytes per point and per output slot) without changing its output.

    Raises:
        ShapeError: a value out of range.

    Example:
        >>> PointsRasterSettings(points_per_pixel=4).znear
        0.001
    """

    points_per_pixel: int = 8
    znear: float = 1e-3
    chunk_candidates: int = 1 << 22

    def __post_init__(self) -> None:
        if isinstance(self.points_per_pixel, bool) or not isinstance(self.points_per_pixel, int) \
                or not 1 <= self.points_per_pixel <= 256:
            raise ShapeError(f"points_per_pixel must be an int in 1..256, got {self.points_per_pixel!r}")
        if not isinstance(self.znear, (int, float)) or not math.isfinite(self.znear) or self.znear <= 0:
            raise ShapeError(f"znear must be a finite number > 0, got {self.znear!r}")
        if isinstance(self.chunk_candidates, bool) or not isinstance(self.chunk_candidates, int) \
                or self.chunk_candidates < 1024:
            raise ShapeError(f"chunk_candidates must be an int >= 1024, got {self.chunk_candidates!r}")
