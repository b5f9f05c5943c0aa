"""Normals of a point cloud from its own neighbourhoods, for clouds whose files carry none.

Each normal is the direction of least spread (smallest principal axis) of the point and its nearest
neighbours (Hoppe et al., "Surface reconstruction from unorganized points", 1992), oriented away from
the cloud's centroid: right for the closed, star-shaped objects a single scan or sampling usually
shows, possibly flipped on concave parts and in scenes. Oriented splats do not depend on the sign;
a two-sided shading neither.
"""

from __future__ import annotations

import numpy as np
import torch

from render3d.errors import ShapeError
from render3d.points.neighbours import Neighbours, as_numpy_points, nearest_neighbours


def pca_normals(points: torch.Tensor, k: int = 8, neighbours: Neighbours | None = None) -> torch.Tensor | None:
    """Unit normals `[N, 3]` (float32, on the points' device), or None for fewer than 3 points.

    A point whose neighbours span no plane (copies of one point, points on a line) gets a zero normal,
    which the rasterizer draws camera-facing.

    Args:
        points: `[N, 3]` finite positions.
        k: neighbours per point, itself included (>= 3).
        neighbours: `nearest_neighbours(points)` already computed (at least `min(k, N)` per point), shared
            with other measures of the cloud; None queries a tree of its own.

    Raises:
        ShapeError: `points` is not `[N, 3]`, `k < 3`, or `neighbours` of another cloud or too few.
        InvalidMeshError: non-finite coordinates.

    Example:
        >>> g = torch.stack(torch.meshgrid(torch.arange(10.0), torch.arange(10.0), indexing="ij"), -1).reshape(-1, 2)
        >>> n = pca_normals(torch.cat([g, torch.full((100, 1), 2.0)], 1))
        >>> bool((n[:, 2].abs() > 0.999).all())
        True
    """
    pts = as_numpy_points(points)
    if k < 3:
        raise ShapeError(f"k must be >= 3, got {k}")
    if pts.shape[0] < 3:
        return None
    k = min(k, pts.shape[0])
    if neighbours is None:
        neighbours = nearest_neighbours(points, k)
    _, nbr = neighbours.first(pts.shape[0], k, "pca_normals")
    local = pts[nbr]
    local -= local.mean(1, keepdims=True)
    cov = np.einsum("nki,nkj->nij", local, local)
    spread, axes = np.linalg.eigh(cov)  # eigenvalues ascend: axes[..., 0] is the axis of least spread
    normals = axes[:, :, 0]
    outward = np.einsum("ni,ni->n", normals, pts - pts.mean(0))
    # a neighbourhood of copies of one point, or of points on a line, spans no plane: no normal (zero)
    planar = spread[:, 1] > 1e-6 * spread[:, 2]
    normals *= np.where(planar, np.where(outward < 0, -1.0, 1.0), 0.0)[:, None]
    return torch.from_numpy(normals.astype(np.float32)).to(points.device)
