"""Reference mesh rasterizer (pure PyTorch): hard z-buffered top-K and soft (blurred) listing.

`MeshRasterizer`, the module that picks a backend through the registry, is exported lazily: the
reference backend imports these kernels, so importing them must not load the registry.
"""

from render3d.lazy import lazy_attributes
from render3d.raster.rasterize import rasterize_meshes
from render3d.raster.settings import RasterSettings

__all__ = ["MeshRasterizer", "RasterSettings", "rasterize_meshes"]
__getattr__, __dir__ = lazy_attributes(globals(), {"MeshRasterizer": "render3d.raster.rasterizer"})
