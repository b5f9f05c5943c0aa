"""A point cloud's own spacing: per-point distance to its nearest neighbours, for choosing splat radii.

The neighbours come from one scipy k-d tree query per cloud (`render3d.points.neighbours`), which the
caller may share with the normal estimate; the result is a tensor the caller keeps and reuses for every view.
"""

from __future__ import annotations

import numpy as np
import torch

from render3d.errors import InvalidMeshError, ShapeError
from render3d.points.neighbours import Neighbours, as_numpy_points, nearest_neighbours


def knn_spacing(points: torch.Tensor, k: int = 4, smooth: bool = True,
                neighbours: Neighbours | None = None) -> torch.Tensor:
    """Per-point spacing: the mean distance to each point's `k` nearest other points.

    Coincident copies of a point are skipped (a cloud of 1000 copies of one point has no spacing). With
    `smooth`, each value is replaced by the median over the point's neighbourhood, so one isolated
    point does not get a huge disk and one clump does not punch a hole.

    Args:
        points: `[N, 3]` finite positions.
        k: neighbours averaged (>= 1).
        smooth: median-filter the spacing over the k neighbours.
        neighbours: `nearest_neighbours(points)` already computed (it needs `min(k + 5, N)` per point),
            shared with other measures of the cloud; None queries a tree of its own.

    Returns:
        `[N]` float32 spacing on the points' device; 0 for points whose nearest neighbours all coincide with them.

    Raises:
        ShapeError: `points` is not `[N, 3]`, `k < 1`, or `neighbours` of another cloud or too few.
        InvalidMeshError: no points or non-finite coordinates.

    Example:
        >>> g = torch.stack(torch.meshgrid(torch.arange(10.0), torch.arange(10.0), indexing="ij"), -1).reshape(-1, 2)
        >>> s = knn_spacing(torch.cat([g * 0.1, torch.zeros(100, 1)], 1), k=4)
        >>> round(float(s.median()), 3)
        0.1
    """
    pts = as_numpy_points(points)
    if k < 1:
        raise ShapeError(f"k must be >= 1, got {k}")
    n = pts.shape[0]
    if n == 0:
        raise InvalidMeshError("cannot measure the spacing of an empty cloud")
    if n < 2:
        return torch.zeros(n, device=points.device)
    # a few extra neighbours so that coincident copies of a point can be skipped
    kk = min(k + 4, n - 1)
    if neighbours is None:
        neighbours = nearest_neighbours(points, kk + 1)
    dist, nbr = neighbours.first(n, kk + 1, "knn_spacing")
    dist = dist[:, 1:]
    apart = dist > 0
    take = apart & (np.cumsum(apart, 1) <= k)
    spacing = (dist * take).sum(1) / np.maximum(take.sum(1), 1)
    if smooth:
        spacing = np.median(spacing[nbr[:, :min(k, kk) + 1]], axis=1)
    return torch.from_numpy(spacing.astype(np.float32)).to(points.device)
