"""Batched geometry containers."""

from render3d.structures.meshes import Meshes
from render3d.structures.pointclouds import Pointclouds

__all__ = ["Meshes", "Pointclouds"]
