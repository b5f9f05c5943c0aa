"""Point-cloud rendering: z-buffered disk splatting into `PointFragments` and differentiable compositing.

`PointsRasterizer` / `PointsRenderer`, the modules that pick a backend through the registry, are
exported lazily: the reference backend imports these kernels, so importing them must not load the
registry.
"""

from render3d.lazy import lazy_attributes
from render3d.points.composite import alpha_composite, norm_weighted_composite
from render3d.points.rasterize import rasterize_points
from render3d.points.settings import PointsRasterSettings

__all__ = [
    "PointsRasterSettings", "PointsRasterizer", "PointsRenderer", "alpha_composite",
    "norm_weighted_composite", "rasterize_points",
]
__getattr__, __dir__ = lazy_attributes(
    globals(), {"PointsRasterizer": "render3d.points.renderer", "PointsRenderer": "render3d.points.renderer"})
