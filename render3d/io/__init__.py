"""Mesh and point-cloud file I/O (trimesh for meshes and PLY; own readers for PCD/XYZ/NPY)."""

from render3d.io.images import atomic_write, colorize_depth, contact_sheet, save_gif, save_npy, save_png, to_uint8
from render3d.io.meshes import MESH_SUFFIXES, load_mesh, save_mesh
from render3d.io.points import POINT_SUFFIXES, load_pointcloud, save_pointcloud

__all__ = [
    "MESH_SUFFIXES", "POINT_SUFFIXES", "atomic_write", "colorize_depth", "contact_sheet", "load_mesh",
    "load_pointcloud", "save_gif", "save_mesh", "save_npy", "save_png", "save_pointcloud", "to_uint8",
]
