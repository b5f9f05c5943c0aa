"""`MeshRasterizer`: the module form of `rasterize_meshes`."""

from __future__ import annotations

import torch
from torch import nn

from render3d.backends import Request, select_backend
from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.raster.settings import RasterSettings
from render3d.structures import Meshes


class MeshRasterizer(nn.Module):
    """Holds `RasterSettings` and a backend choice, and rasterizes meshes with them.

    Args:
        settings: rasterization settings (defaults: hard, one face per pixel).
        backend: a registered rasterizer backend ("torch", "pytorch3d", "nvdiffrast") or "auto", which takes
            the fastest available one able to serve the settings on the inputs' device and logs its choice
            (see `render3d.backends`). The choice is made per call, from the device of the cameras.

    Raises:
        ShapeError: settings is not a RasterSettings.

    Example:
        >>> rasterizer = MeshRasterizer(RasterSettings(faces_per_pixel=4))
        >>> rasterizer.settings.faces_per_pixel
        4
    """

    def __init__(self, settings: RasterSettings | None = None, backend: str = "torch") -> None:
        super().__init__()
        settings = RasterSettings() if settings is None else settings
        if not isinstance(settings, RasterSettings):
            raise ShapeError(f"settings must be a RasterSettings, got {type(settings).__name__}")
        self.settings = settings
        self.backend = backend

    def forward(self, meshes: Meshes, cameras: Cameras) -> Fragments:
        """Rasterize `meshes` seen by `cameras`; see `rasterize_meshes` for shapes.

        Raises:
            BackendUnavailable: the named backend is missing or cannot serve these settings.
        """
        request = Request.for_meshes(self.settings, cameras.device.type, differentiable=torch.is_grad_enabled())
        return select_backend(request, self.backend).backend.rasterize_meshes(meshes, cameras, self.settings)

    def extra_repr(self) -> str:
        return f"{self.settings!r}, backend={self.backend!r}"
