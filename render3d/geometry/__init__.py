"""Geometry processing backed by open3d (point clouds, reconstruction) and trimesh (sampling, rays).

The third-party packages are imported when a function is first called, not by this import.
"""

from render3d.geometry.pointcloud import (
    estimate_normals,
    read_pointcloud_open3d,
    remove_radius_outliers,
    remove_statistical_outliers,
    voxel_downsample,
)
from render3d.geometry.reconstruct import ball_pivoting, poisson_reconstruction
from render3d.geometry.surface import ray_cast, sample_surface

__all__ = [
    "ball_pivoting", "estimate_normals", "poisson_reconstruction", "ray_cast", "read_pointcloud_open3d",
    "remove_radius_outliers", "remove_statistical_outliers", "sample_surface", "voxel_downsample",
]
