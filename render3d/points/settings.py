"""Settings of the point rasterizer."""

from __future__ import annotations

import math
from dataclasses import dataclass

from render3d.errors import ShapeError

# Half a pixel diagonal (√2/2 ≈ 0.707) plus a margin: a disk this large covers the center of the pixel
# its own center falls in, wherever in that pixel it falls.
HOLE_FREE_RADIUS_PX = 0.75


@dataclass(frozen=True)
class PointsRasterSettings:
    """How points are splatted into `PointFragments`.

    Attributes:
        points_per_pixel: K, the number of nearest points kept per pixel (1..256).
        znear: points whose camera z is below this are dropped (> 0).
        chunk_candidates: at most this many (pixel, point) candidate pairs are formed at once. It
            bounds the rasterizer's working memory (about 100 bytes per candidate, on top of ~40
            bytes per point and per output slot) without changing its output.
        min_radius_px: smallest on-screen disk radius in pixels (>= 0). A disk whose projected world
            radius is smaller is drawn at this radius instead. From `HOLE_FREE_RADIUS_PX` (0.75) up,
            every visible point covers the pixel it falls in, so a cloud with at least one point per
            pixel renders without holes at any resolution. 0 draws exact world radii (as pytorch3d),
            where a sub-pixel disk between pixel centers covers nothing.
        oriented: disks lie in the tangent plane of each point's normal (`render3d.points.surfels`) instead
            of facing the camera, so they follow the surface and do not stick out of its silhouette.
            Clouds without normals are drawn camera-facing.

    Raises:
        ShapeError: a value out of range.

    Example:
        >>> PointsRasterSettings(points_per_pixel=4).znear
        0.001
    """

    points_per_pixel: int = 8
    znear: float = 1e-3
    chunk_candidates: int = 1 << 22
    min_radius_px: float = 0.0
    oriented: bool = False

    @classmethod
    def hole_free(cls, znear: float = 1e-3, points_per_pixel: int = 8, oriented: bool = True) -> PointsRasterSettings:
        """Settings for images of a cloud: disks in the surface (`oriented`) and at least
        `HOLE_FREE_RADIUS_PX` on screen, so silhouettes stay sharp and dense clouds show no holes.
        `oriented=False` keeps the disks camera-facing (still hole-free; silhouettes up to a radius wider).

        Example:
            >>> PointsRasterSettings.hole_free().min_radius_px
            0.75
        """
        return cls(points_per_pixel=points_per_pixel, znear=znear, min_radius_px=HOLE_FREE_RADIUS_PX,
                   oriented=oriented)

    def __post_init__(self) -> None:
        if isinstance(self.points_per_pixel, bool) or not isinstance(self.points_per_pixel, int) \
                or not 1 <= self.points_per_pixel <= 256:
            raise ShapeError(f"points_per_pixel must be an int in 1..256, got {self.points_per_pixel!r}")
        if not isinstance(self.znear, (int, float)) or not math.isfinite(self.znear) or self.znear <= 0:
            raise ShapeError(f"znear must be a finite number > 0, got {self.znear!r}")
        if isinstance(self.chunk_candidates, bool) or not isinstance(self.chunk_candidates, int) \
                or self.chunk_candidates < 1024:
            raise ShapeError(f"chunk_candidates must be an int >= 1024, got {self.chunk_candidates!r}")
        if isinstance(self.min_radius_px, bool) or not isinstance(self.min_radius_px, (int, float)) \
                or not math.isfinite(self.min_radius_px) or not 0 <= self.min_radius_px <= 256:
            raise ShapeError(f"min_radius_px must be a number in 0..256 (pixels), got {self.min_radius_px!r}")
        if not isinstance(self.oriented, bool):
            raise ShapeError(f"oriented must be a bool, got {self.oriented!r}")
