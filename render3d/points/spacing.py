"""A point cloud's own spacing: per-point distance to its nearest neighbours, for choosing splat radii.

The k-d tree is scipy's (`cKDTree`), built once per cloud; the result is a tensor the caller keeps
and reuses for every view.
"""

from __future__ import annotations

import numpy as np
import torch

from render3d.errors import InvalidMeshError, ShapeError


def knn_spacing(points: torch.Tensor, k: int = 4, smooth: bool = True) -> torch.Tensor:
    """Per-point spacing: the mean distance to each point's `k` nearest other points.

    Coincident copies of a point are skipped (a cloud of 1000 copies of one point has no spacing). With
    `smooth`, each value is replaced by the median over the point's neighbourhood, so one isolated
    point does not get a huge disk and one clump does not punch a hole.

    Args:
        points: `[N, 3]` finite positions.
        k: neighbours averaged (>= 1).
        smooth: median-filter the spacing over the k neighbours.

    Returns:
        `[N]` float32 spacing on the points' device; 0 for points whose nearest neighbours all coincide with them.

    Raises:
        ShapeError: `points` is not `[N, 3]` or `k < 1`.
        InvalidMeshError: no points or non-finite coordinates.

    Example:
        >>> g = torch.stack(torch.meshgrid(torch.arange(10.0), torch.arange(10.0), indexing="ij"), -1).reshape(-1, 2)
        >>> s = knn_spacing(torch.cat([g * 0.1, torch.zeros(100, 1)], 1), k=4)
        >>> round(float(s.median()), 3)
        0.1
    """
    from scipy.spatial import cKDTree

    if points.dim() != 2 or points.shape[1] != 3:
        raise ShapeError(f"points must be [N, 3], got {list(points.shape)}")
    if k < 1:
        raise ShapeError(f"k must be >= 1, got {k}")
    if points.shape[0] == 0:
        raise InvalidMeshError("cannot measure the spacing of an empty cloud")
    if not torch.isfinite(points).all():
        raise InvalidMeshError("points hold non-finite (NaN/inf) values")
    pts = points.detach().cpu().double().numpy()
    n = pts.shape[0]
    if n < 2:
        return torch.zeros(n, device=points.device)
    # a few extra neighbours so that coincident copies of a point can be skipped
    kk = min(k + 4, n - 1)
    tree = cKDTree(pts)
    dist, nbr = tree.query(pts, k=kk + 1)
    dist = dist[:, 1:]
    apart = dist > 0
    take = apart & (np.cumsum(apart, 1) <= k)
    spacing = (dist * take).sum(1) / np.maximum(take.sum(1), 1)
    if smooth:
        spacing = np.median(spacing[nbr[:, :min(k, kk) + 1]], axis=1)
    return torch.from_numpy(spacing.astype(np.float32)).to(points.device)
