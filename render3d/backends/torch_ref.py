"""The reference backend "torch": render3d's own pure-PyTorch rasterizers, on any device.

It is the backend every other one is tested against and the one that always works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from render3d.backends.capabilities import Capabilities, Task
from render3d.backends.registry import BackendInfo

if TYPE_CHECKING:
    from render3d.cameras import Cameras
    from render3d.fragments import Fragments, PointFragments
    from render3d.points import PointsRasterSettings
    from render3d.raster import RasterSettings
    from render3d.structures import Meshes, Pointclouds


class TorchBackend:
    """`Task.RASTERIZE_MESHES` and `Task.RASTERIZE_POINTS` through `render3d.raster` / `render3d.points`."""

    def rasterize_meshes(self, meshes: Meshes, cameras: Cameras, settings: RasterSettings) -> Fragments:
        """`render3d.raster.rasterize_meshes`."""
        from render3d.raster import rasterize_meshes

        return rasterize_meshes(meshes, cameras, settings)

    def rasterize_points(self, clouds: Pointclouds, cameras: Cameras,
                         settings: PointsRasterSettings) -> PointFragments:
        """`render3d.points.rasterize_points`."""
        from render3d.points import rasterize_points

        return rasterize_points(clouds, cameras, settings)


INFO = BackendInfo(
    name="torch",
    capabilities=Capabilities(
        tasks=frozenset({Task.RASTERIZE_MESHES, Task.RASTERIZE_POINTS}), differentiable=True,
        devices=frozenset({"cpu", "cuda"}), fragment_fields=frozenset({"pix_to_face", "bary", "zbuf", "dists"}),
        point_fields=frozenset({"idx", "zbuf", "dists"}), max_faces_per_pixel=256, soft=True,
    ),
    description="render3d's pure-PyTorch reference rasterizers (always available)",
    install="built in: pip install -c constraints.txt neurender",
    probe=lambda: None,
    factory=TorchBackend,
)
