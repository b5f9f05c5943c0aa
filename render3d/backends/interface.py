"""The method signatures a backend object offers for each `Task` it declares.

A backend implements only the protocols of the tasks in its `Capabilities.tasks`; the registry
checks the declaration before handing the object out, so callers may rely on the method existing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from render3d.cameras import Cameras
    from render3d.fragments import Fragments, PointFragments
    from render3d.points import PointsRasterSettings
    from render3d.raster import RasterSettings
    from render3d.structures import Meshes, Pointclouds


@runtime_checkable
class MeshRasterBackend(Protocol):
    """`Task.RASTERIZE_MESHES`: meshes seen by cameras → `Fragments` in the OpenCV convention."""

    def rasterize_meshes(self, meshes: Meshes, cameras: Cameras, settings: RasterSettings) -> Fragments:
        """`meshes` (B) seen by `cameras` (B) → Fragments `[B, H, W, K]`."""
        ...


@runtime_checkable
class PointRasterBackend(Protocol):
    """`Task.RASTERIZE_POINTS`: point clouds seen by cameras → `PointFragments`."""

    def rasterize_points(self, clouds: Pointclouds, cameras: Cameras,
                         settings: PointsRasterSettings) -> PointFragments:
        """`clouds` (B) seen by `cameras` (B) → PointFragments `[B, H, W, K]`."""
        ...
