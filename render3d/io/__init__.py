"""Mesh and point-cloud file I/O (trimesh for meshes and PLY; own readers for PCD/XYZ/NPY)."""

from render3d.io.meshes import MESH_SUFFIXES, load_mesh, save_mesh
from render3d.io.points import POINT_SUFFIXES, load_pointcloud, save_pointcloud

__all__ = ["MESH_SUFFIXES", "POINT_SUFFIXES", "load_mesh", "load_pointcloud", "save_mesh", "save_pointcloud"]
