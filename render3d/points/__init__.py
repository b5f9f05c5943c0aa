"""Point-cloud rendering: z-buffered disk splatting into `PointFragments` and differentiable compositing."""

from render3d.points.composite import alpha_composite, norm_weighted_composite
from render3d.points.rasterize import rasterize_points
from render3d.points.renderer import PointsRasterizer, PointsRenderer
from render3d.points.settings import PointsRasterSettings

__all__ = [
    "PointsRasterSettings", "PointsRasterizer", "PointsRenderer", "alpha_composite",
    "norm_weighted_composite", "rasterize_points",
]
