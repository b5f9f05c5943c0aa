"""Surface reconstruction of a mesh from oriented points through open3d: Poisson and ball pivoting."""

from __future__ import annotations

import numpy as np
import torch

from render3d.backends.open3d import from_o3d_mesh, o3d, to_o3d_pointcloud
from render3d.errors import InvalidMeshError, ShapeError
from render3d.geometry.pointcloud import _check_points
from render3d.structures import Meshes


def _check_normals(points: torch.Tensor, normals: torch.Tensor) -> None:
    _check_points(points, min_points=4)
    if normals.shape != points.shape:
        raise ShapeError(f"normals must match points {list(points.shape)}, got {list(normals.shape)}")


def _meshes(mesh, device: torch.device, what: str) -> Meshes:
    verts, faces, colors = from_o3d_mesh(mesh)
    if faces.shape[0] == 0:
        raise InvalidMeshError(f"{what} produced no triangles (too few points or unsuitable parameters)")
    return Meshes([verts.to(device)], [faces.to(device)],
                  vert_colors=None if colors is None else [colors.to(device)])


def poisson_reconstruction(points: torch.Tensor, normals: torch.Tensor, depth: int = 8,
                           density_quantile: float = 0.0) -> Meshes:
    """Screened Poisson surface reconstruction (open3d) of oriented points.

    Args:
        points: `[N, 3]`.
        normals: `[N, 3]` outward normals (see `estimate_normals`).
        depth: octree depth (resolution ~ bounding box / 2^depth); 5..12.
        density_quantile: drop the vertices whose Poisson density is below this quantile (0 keeps
            all; ~0.05 trims the film Poisson grows far from the samples).

    Returns:
        A one-mesh `Meshes`.

    Raises:
        ShapeError, InvalidMeshError: bad inputs or an empty result.

    Example:
        >>> d = torch.nn.functional.normalize(torch.randn(2000, 3), dim=1)
        >>> mesh = poisson_reconstruction(d, d, depth=5)
        >>> mesh.verts_packed().norm(dim=1).mean().round(decimals=1).item()
        1.0
    """
    _check_normals(points, normals)
    if not 5 <= depth <= 12 or not 0 <= density_quantile < 1:
        raise ShapeError(f"need depth in 5..12 and density_quantile in [0, 1), got {depth}, {density_quantile}")
    lib = o3d()
    pc = to_o3d_pointcloud(points, normals=normals)
    with lib.utility.VerbosityContextManager(lib.utility.VerbosityLevel.Error):
        mesh, densities = lib.geometry.TriangleMesh.create_from_point_cloud_poisson(pc, depth=depth)
    if density_quantile > 0:
        dens = np.asarray(densities)
        mesh.remove_vertices_by_mask(dens < np.quantile(dens, density_quantile))
    return _meshes(mesh, points.device, "Poisson reconstruction")


def ball_pivoting(points: torch.Tensor, normals: torch.Tensor, radii: tuple[float, ...]) -> Meshes:
    """Ball-pivoting reconstruction (open3d): balls of the given radii roll over the oriented points.

    Args:
        points: `[N, 3]`.
        normals: `[N, 3]` outward normals.
        radii: ball radii, increasing, each about the sampling spacing (world units).

    Returns:
        A one-mesh `Meshes` whose vertices are the input points.

    Raises:
        ShapeError, InvalidMeshError: bad inputs or an empty result.
    """
    _check_normals(points, normals)
    if not radii or any(r <= 0 for r in radii):
        raise ShapeError(f"radii must be a non-empty list of positive numbers, got {list(radii)}")
    lib = o3d()
    pc = to_o3d_pointcloud(points, normals=normals)
    mesh = lib.geometry.TriangleMesh.create_from_point_cloud_ball_pivoting(
        pc, lib.utility.DoubleVector([float(r) for r in radii]))
    return _meshes(mesh, points.device, "ball pivoting")
