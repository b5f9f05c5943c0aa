"""Differentiable losses for inverse rendering: silhouettes, mesh regularizers, chamfer."""

from render3d.losses.chamfer import chamfer_distance
from render3d.losses.mesh_regularizers import (
    edge_length_loss,
    laplacian_smoothing,
    mesh_laplacian,
    normal_consistency,
)
from render3d.losses.silhouette import silhouette_iou_loss

__all__ = [
    "chamfer_distance", "edge_length_loss", "laplacian_smoothing", "mesh_laplacian",
    "normal_consistency", "silhouette_iou_loss",
]
