"""Reference mesh rasterizer (pure PyTorch): hard z-buffered top-K and soft (blurred) listing."""

from render3d.raster.rasterize import rasterize_meshes
from render3d.raster.rasterizer import MeshRasterizer
from render3d.raster.settings import RasterSettings

__all__ = ["MeshRasterizer", "RasterSettings", "rasterize_meshes"]
