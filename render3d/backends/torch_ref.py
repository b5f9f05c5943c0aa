"""The reference backend "torch": render3d's own pure-PyTorch kernels, on any device.

It is the backend every other one is tested against and the one that always works. It implements
all four tasks from the functional stages only (`render3d.raster.rasterize`,
`render3d.points.rasterize`, and the shading/compositing stages of `raster_render`), never from
the modules that select backends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from render3d.backends.capabilities import OUTPUT_FIELDS, SHADING_MODELS, Capabilities, Task
from render3d.backends.info import BackendInfo
from render3d.backends.raster_render import render_meshes_by_rasterizing, render_points_by_rasterizing
from render3d.cameras import Cameras
from render3d.fragments import Fragments, PointFragments
from render3d.output import RenderOutput
from render3d.points.rasterize import rasterize_points
from render3d.points.settings import PointsRasterSettings
from render3d.raster.rasterize import rasterize_meshes
from render3d.raster.settings import RasterSettings
from render3d.render_settings import RenderSettings
from render3d.shading.materials import Materials
from render3d.structures import Meshes, Pointclouds

if TYPE_CHECKING:
    from render3d.lights import Light


class TorchBackend:
    """Every `Task` through render3d's reference kernels."""

    def rasterize_meshes(self, meshes: Meshes, cameras: Cameras, settings: RasterSettings) -> Fragments:
        """`render3d.raster.rasterize_meshes`."""
        return rasterize_meshes(meshes, cameras, settings)

    def rasterize_points(self, clouds: Pointclouds, cameras: Cameras,
                         settings: PointsRasterSettings) -> PointFragments:
        """`render3d.points.rasterize_points`."""
        return rasterize_points(clouds, cameras, settings)

    def render_meshes(self, meshes: Meshes, cameras: Cameras, lights: Light | None = None,
                      materials: Materials | None = None, settings: RenderSettings | None = None) -> RenderOutput:
        """The reference mesh render (see `raster_render.render_meshes_by_rasterizing`)."""
        return render_meshes_by_rasterizing(rasterize_meshes, meshes, cameras, lights, materials, settings)

    def render_points(self, clouds: Pointclouds, cameras: Cameras,
                      settings: RenderSettings | None = None) -> RenderOutput:
        """The reference point render (see `raster_render.render_points_by_rasterizing`)."""
        return render_points_by_rasterizing(rasterize_points, clouds, cameras, settings)


INFO = BackendInfo(
    name="torch",
    capabilities=Capabilities(
        tasks=frozenset(Task), differentiable=True,
        devices=frozenset({"cpu", "cuda"}), fragment_fields=frozenset({"pix_to_face", "bary", "zbuf", "dists"}),
        point_fields=frozenset({"idx", "zbuf", "dists"}), outputs=OUTPUT_FIELDS, shadings=SHADING_MODELS,
        max_faces_per_pixel=256, soft=True, oriented_points=True,
    ),
    description="render3d's pure-PyTorch reference rasterizers and renderer (always available)",
    install="built in: pip install -c constraints.txt neurender",
    probe=lambda: None,
    factory=TorchBackend,
)
