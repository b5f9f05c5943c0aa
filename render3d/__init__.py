"""render3d: differentiable mesh and point-cloud rendering in the OpenCV camera convention.

Images are `[B, H, W, C]` float32 in [0, 1], depth is camera z, masks are in [0, 1].
"""

from render3d.cameras import Cameras, intrinsics_from_fov, look_at, orbit
from render3d.errors import BackendUnavailable, InvalidMeshError, MeshIOError, Render3DError, ShapeError
from render3d.fragments import Fragments, PointFragments
from render3d.structures import Meshes, Pointclouds

__all__ = [
    "BackendUnavailable", "Cameras", "Fragments", "InvalidMeshError", "MeshIOError", "Meshes",
    "PointFragments", "Pointclouds", "Render3DError", "ShapeError", "intrinsics_from_fov",
    "look_at", "orbit",
]
