"""Point-cloud processing through open3d: normals, voxel downsampling, outlier removal, file reading.

Functions take and return torch tensors of one cloud (`[N, 3]`); open3d is imported on first use
(via `render3d.backends.open3d`), never at `import render3d`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from render3d.backends.open3d import from_o3d_pointcloud, o3d, to_o3d_pointcloud
from render3d.errors import InvalidMeshError, MeshIOError, ShapeError
from render3d.structures import Pointclouds


def _check_points(points: torch.Tensor, min_points: int = 1) -> None:
    if points.dim() != 2 or points.shape[1] != 3:
        raise ShapeError(f"points must be [N, 3], got {list(points.shape)}")
    if points.shape[0] < min_points:
        raise InvalidMeshError(f"need at least {min_points} points, got {points.shape[0]}")
    if not torch.isfinite(points).all():
        raise InvalidMeshError("points hold non-finite (NaN/inf) values")


def estimate_normals(points: torch.Tensor, knn: int = 30, radius: float | None = None,
                     toward: torch.Tensor | None = None) -> torch.Tensor:
    """Unit normals from the local covariance of each point's neighbourhood (open3d).

    Args:
        points: `[N, 3]`.
        knn: neighbours used per point (the nearest `knn`, within `radius` if given).
        radius: optional search radius (world units).
        toward: optional `[3]` location (e.g. the scanner / camera center); normals are flipped to
            face it. Without it, orientation is made consistent along a minimum spanning tree.

    Returns:
        `[N, 3]` float32 unit normals on the points' device.

    Raises:
        ShapeError, InvalidMeshError: bad points or parameters.

    Example:
        >>> n = estimate_normals(torch.rand(200, 3) * torch.tensor([1.0, 1.0, 0.0]), toward=torch.tensor([0, 0, 1.0]))
        >>> bool((n[:, 2] > 0.99).all())
        True
    """
    _check_points(points, min_points=3)
    if knn < 3 or (radius is not None and radius <= 0):
        raise ShapeError(f"need knn >= 3 and radius > 0, got knn={knn}, radius={radius}")
    lib = o3d()
    pc = to_o3d_pointcloud(points)
    search = (lib.geometry.KDTreeSearchParamHybrid(radius=radius, max_nn=knn) if radius is not None
              else lib.geometry.KDTreeSearchParamKNN(knn=knn))
    pc.estimate_normals(search_param=search)
    if toward is not None:
        pc.orient_normals_towards_camera_location(np.asarray(toward.detach().cpu().double()).reshape(3, 1))
    else:
        pc.orient_normals_consistent_tangent_plane(min(knn, points.shape[0] - 1))
    return from_o3d_pointcloud(pc)[2].to(points.device)


def voxel_downsample(
    points: torch.Tensor, voxel_size: float, colors: torch.Tensor | None = None, normals: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Average the points (and their colors / normals) falling in each cubic voxel (open3d).

    The voxel grid starts half a voxel below the cloud's minimum corner (open3d's convention).

    Args:
        points: `[N, 3]`.
        voxel_size: voxel edge length (world units, > 0).
        colors: optional `[N, 3]` colors in [0, 1].
        normals: optional `[N, 3]`.

    Returns:
        (`points [M, 3]`, `colors [M, 3]` or None, `normals [M, 3]` or None), M ≤ N, one per occupied voxel.

    Example:
        >>> voxel_downsample(torch.tensor([[0.1, 0.1, 0.1], [0.2, 0.2, 0.2], [1.5, 0.1, 0.1]]), 1.0)[0].shape
        torch.Size([2, 3])
    """
    _check_points(points)
    if not voxel_size > 0:
        raise ShapeError(f"voxel_size must be > 0, got {voxel_size}")
    pc = to_o3d_pointcloud(points, colors, normals).voxel_down_sample(voxel_size)
    pts, c, n = from_o3d_pointcloud(pc)
    dev = points.device
    return pts.to(dev), None if c is None else c.to(dev), None if n is None else n.to(dev)


def remove_statistical_outliers(points: torch.Tensor, knn: int = 20, std_ratio: float = 2.0) -> torch.Tensor:
    """Keep-mask of points whose mean distance to their `knn` neighbours is within `std_ratio` σ of the mean.

    Returns:
        `[N]` bool, True for inliers.

    Example:
        >>> pts = torch.cat([torch.rand(100, 3), torch.tensor([[50.0, 50, 50]])])
        >>> remove_statistical_outliers(pts, knn=10)[-1].item()
        False
    """
    _check_points(points, min_points=2)
    if knn < 1 or std_ratio <= 0:
        raise ShapeError(f"need knn >= 1 and std_ratio > 0, got {knn}, {std_ratio}")
    _, kept = to_o3d_pointcloud(points).remove_statistical_outlier(nb_neighbors=knn, std_ratio=std_ratio)
    return _mask(kept, points)


def remove_radius_outliers(points: torch.Tensor, min_neighbors: int, radius: float) -> torch.Tensor:
    """Keep-mask of points with at least `min_neighbors` other points within `radius`.

    Returns:
        `[N]` bool, True for inliers.
    """
    _check_points(points)
    if min_neighbors < 1 or radius <= 0:
        raise ShapeError(f"need min_neighbors >= 1 and radius > 0, got {min_neighbors}, {radius}")
    # open3d counts the point itself among its neighbours
    _, kept = to_o3d_pointcloud(points).remove_radius_outlier(nb_points=min_neighbors + 1, radius=radius)
    return _mask(kept, points)


def _mask(kept: list[int], points: torch.Tensor) -> torch.Tensor:
    mask = torch.zeros(points.shape[0], dtype=torch.bool)
    mask[torch.as_tensor(kept, dtype=torch.long)] = True
    return mask.to(points.device)


def read_pointcloud_open3d(path: str | os.PathLike, radius: float = 0.01) -> Pointclouds:
    """Read any point-cloud file open3d reads (PCD incl. binary_compressed, PLY, XYZ, XYZN, XYZRGB, PTS).

    Args:
        path: the file.
        radius: splat radius given to every point.

    Returns:
        A one-cloud `Pointclouds` with colors as features and normals when the file has them.

    Raises:
        MeshIOError: missing, unreadable or empty file.
    """
    p = Path(path)
    if not p.is_file():
        raise MeshIOError(f"{p}: no such point-cloud file")
    pc = o3d().io.read_point_cloud(str(p))
    if len(pc.points) == 0:
        raise MeshIOError(f"{p}: open3d read no points (unsupported or corrupt file)")
    pts, colors, normals = from_o3d_pointcloud(pc)
    return Pointclouds([pts], features=None if colors is None else [colors],
                       normals=None if normals is None else [normals], radius=radius)
