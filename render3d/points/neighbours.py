"""Every point's nearest neighbours in its own cloud, from one k-d tree query, for the measures that need them.

The splat spacing (`render3d.points.spacing.knn_spacing`) and the estimated normals
(`render3d.points.normals.pca_normals`) both look at a point's few nearest neighbours. A k-d tree over
a million points and its query cost seconds each; `nearest_neighbours` does them once, and both
measures take its result (`neighbours=`) instead of building their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from render3d.errors import InvalidMeshError, ShapeError


@dataclass(frozen=True)
class Neighbours:
    """The `k` nearest points of each of `N` points, nearest first (a point itself, or a copy of it, first).

    Attributes:
        dist: `[N, k]` float64 distances, ascending along each row.
        idx: `[N, k]` int64 indices into the cloud.
    """

    dist: np.ndarray
    idx: np.ndarray

    @property
    def k(self) -> int:
        return self.idx.shape[1]

    def first(self, n: int, k: int, what: str) -> tuple[np.ndarray, np.ndarray]:
        """`(dist, idx)` of the first `k` columns, checked to belong to a cloud of `n` points.

        Raises:
            ShapeError: another cloud's neighbours, or fewer than `k` per point.
        """
        if self.idx.shape[0] != n:
            raise ShapeError(f"neighbours of {self.idx.shape[0]} points given for {n} points")
        if self.k < k:
            raise ShapeError(f"{what} needs {k} neighbours per point, the neighbours given hold {self.k}")
        return self.dist[:, :k], self.idx[:, :k]


def as_numpy_points(points: torch.Tensor) -> np.ndarray:
    """`[N, 3]` finite points → float64 numpy, validated.

    Raises:
        ShapeError: not `[N, 3]`.
        InvalidMeshError: non-finite coordinates.
    """
    if points.dim() != 2 or points.shape[1] != 3:
        raise ShapeError(f"points must be [N, 3], got {list(points.shape)}")
    if not torch.isfinite(points).all():
        raise InvalidMeshError("points hold non-finite (NaN/inf) values")
    return points.detach().cpu().double().numpy()


def nearest_neighbours(points: torch.Tensor, k: int = 9) -> Neighbours:
    """The `min(k, N)` nearest points of every point (scipy `cKDTree`, all cores).

    The default `k` covers both `knn_spacing` (k=4 asks for 9) and `pca_normals` (k=8).

    Args:
        points: `[N, 3]` finite positions, N >= 1.
        k: neighbours per point, itself included (>= 1).

    Raises:
        ShapeError: `points` is not `[N, 3]` or `k < 1`.
        InvalidMeshError: no points or non-finite coordinates.

    Example:
        >>> nb = nearest_neighbours(torch.tensor([[0.0, 0, 0], [1, 0, 0], [3, 0, 0]]), k=2)
        >>> nb.idx.tolist(), nb.dist[:, 1].tolist()
        ([[0, 1], [1, 0], [2, 1]], [1.0, 1.0, 2.0])
    """
    from scipy.spatial import cKDTree

    if k < 1:
        raise ShapeError(f"k must be >= 1, got {k}")
    pts = as_numpy_points(points)
    if pts.shape[0] == 0:
        raise InvalidMeshError("an empty cloud has no neighbours")
    k = min(k, pts.shape[0])
    dist, idx = cKDTree(pts).query(pts, k=k, workers=-1)
    return Neighbours(np.asarray(dist, np.float64).reshape(-1, k), np.asarray(idx, np.int64).reshape(-1, k))
