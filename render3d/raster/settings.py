"""Settings of the reference mesh rasterizer."""

from __future__ import annotations

import math
from dataclasses import dataclass

from render3d.errors import ShapeError


@dataclass(frozen=True)
class RasterSettings:
    """How meshes are rasterized.

    Attributes:
        faces_per_pixel: K, how many faces each pixel lists, nearest first.
        blur_radius: in pixels; a face whose boundary lies within this distance of a pixel center
            is listed for that pixel even when the center lies outside it (soft rendering). 0 gives
            a hard rasterization where only faces covering the pixel center are listed.
        cull_backfaces: drop faces seen from behind. A face is front-facing when its outward
            normal (counter-clockwise winding seen from outside) points toward the camera; in the
            image (x right, y down) front faces then appear counter-clockwise, back faces clockwise.
        perspective_correct: barycentrics of the 3D surface point under the pixel center. If False,
            barycentrics are affine in screen space (faces crossing the near plane keep the
            perspective-correct ones, their screen projection being undefined). `zbuf` is always the
            true camera depth.
        znear: geometry with camera z below this is clipped away; faces crossing the plane are cut
            exactly (their visible part keeps its face id and barycentrics w.r.t. the whole face).

    Raises:
        ShapeError: a value out of range.

    Example:
        >>> RasterSettings(faces_per_pixel=8, blur_radius=1.5).faces_per_pixel
        8
    """

    faces_per_pixel: int = 1
    blur_radius: float = 0.0
    cull_backfaces: bool = False
    perspective_correct: bool = True
    znear: float = 1e-3

    def __post_init__(self) -> None:
        if isinstance(self.faces_per_pixel, bool) or not isinstance(self.faces_per_pixel, int):
            raise ShapeError(f"faces_per_pixel must be an int, got {self.faces_per_pixel!r}")
        if not 1 <= self.faces_per_pixel <= 256:
            raise ShapeError(f"faces_per_pixel must be within 1..256, got {self.faces_per_pixel}")
        if not (math.isfinite(self.blur_radius) and self.blur_radius >= 0):
            raise ShapeError(f"blur_radius must be a finite number >= 0 (pixels), got {self.blur_radius}")
        if not (math.isfinite(self.znear) and self.znear > 0):
            raise ShapeError(f"znear must be a finite number > 0, got {self.znear}")
