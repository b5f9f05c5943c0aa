"""`MeshRasterizer`: the module form of `rasterize_meshes`."""

from __future__ import annotations

from torch import nn

from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.raster.rasterize import rasterize_meshes
from render3d.raster.settings import RasterSettings
from render3d.structures import Meshes


class MeshRasterizer(nn.Module):
    """Holds `RasterSettings` and rasterizes meshes with them.

    Args:
        settings: rasterization settings (defaults: hard, one face per pixel).

    Raises:
        ShapeError: settings is not a RasterSettings.

    Example:
        >>> rasterizer = MeshRasterizer(RasterSettings(faces_per_pixel=4))
        >>> rasterizer.settings.faces_per_pixel
        4
    """

    def __init__(self, settings: RasterSettings | None = None) -> None:
        super().__init__()
        settings = RasterSettings() if settings is None else settings
        if not isinstance(settings, RasterSettings):
            raise ShapeError(f"settings must be a RasterSettings, got {type(settings).__name__}")
        self.settings = settings

    def forward(self, meshes: Meshes, cameras: Cameras) -> Fragments:
        """Rasterize `meshes` seen by `cameras`; see `rasterize_meshes` for shapes."""
        return rasterize_meshes(meshes, cameras, self.settings)

    def extra_repr(self) -> str:
        return repr(self.settings)
