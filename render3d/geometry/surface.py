"""Mesh surface queries through trimesh: area-uniform point sampling and ray casting (Embree when present).

trimesh is imported inside the functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from render3d.errors import InvalidMeshError, ShapeError


def _trimesh(verts: torch.Tensor, faces: torch.Tensor) -> Any:
    import trimesh

    if verts.dim() != 2 or verts.shape[1] != 3 or faces.dim() != 2 or faces.shape[1] != 3:
        raise ShapeError(f"need verts [V, 3] and faces [F, 3], got {list(verts.shape)}, {list(faces.shape)}")
    if faces.shape[0] == 0 or not torch.isfinite(verts).all():
        raise InvalidMeshError("mesh is empty or has non-finite vertices")
    return trimesh.Trimesh(verts.detach().cpu().double().numpy(), faces.detach().cpu().long().numpy(), process=False)


def sample_surface(verts: torch.Tensor, faces: torch.Tensor, count: int,
                   seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`count` points uniformly distributed by area over a triangle mesh (trimesh).

    Args:
        verts: `[V, 3]`.
        faces: `[F, 3]`.
        count: number of samples (> 0).
        seed: random seed for reproducible samples.

    Returns:
        `points [count, 3]` float32, `face_index [count]` long, `normals [count, 3]` (face normals).

    Raises:
        ShapeError, InvalidMeshError: bad mesh or count.

    Example:
        >>> v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
        >>> p, f, n = sample_surface(v, torch.tensor([[0, 1, 2]]), 100, seed=0)
        >>> bool((p[:, 0] + p[:, 1] <= 1 + 1e-6).all()), n[0, 2].item()
        (True, 1.0)
    """
    import trimesh

    if count < 1:
        raise ShapeError(f"count must be >= 1, got {count}")
    mesh = _trimesh(verts, faces)
    points, face_index = trimesh.sample.sample_surface(mesh, count, seed=seed)
    face_index = np.asarray(face_index, dtype=np.int64)
    dev = verts.device
    normals = torch.from_numpy(np.asarray(mesh.face_normals)[face_index]).float()
    return torch.from_numpy(np.asarray(points)).float().to(dev), torch.from_numpy(face_index).to(dev), normals.to(dev)


def ray_cast(verts: torch.Tensor, faces: torch.Tensor, origins: torch.Tensor,
             directions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """First hit of each ray with a triangle mesh (trimesh; Embree-accelerated when installed).

    Args:
        verts: `[V, 3]`.
        faces: `[F, 3]`.
        origins: `[R, 3]` ray origins.
        directions: `[R, 3]` ray directions (any non-zero length).

    Returns:
        `distance [R]` along the unit direction (inf on a miss), `face [R]` long (-1 on a miss),
        `location [R, 3]` (NaN on a miss).

    Raises:
        ShapeError, InvalidMeshError: bad mesh or rays.

    Example:
        >>> v = torch.tensor([[-1.0, -1, 2], [1, -1, 2], [0, 1, 2]])
        >>> d, f, _ = ray_cast(v, torch.tensor([[0, 1, 2]]), torch.zeros(2, 3), torch.tensor([[0, 0, 1.0], [0, 0, -1]]))
        >>> d.tolist(), f.tolist()
        ([2.0, inf], [0, -1])
    """
    if origins.dim() != 2 or origins.shape[1] != 3 or directions.shape != origins.shape:
        raise ShapeError(f"origins and directions must both be [R, 3], got {list(origins.shape)}, "
                         f"{list(directions.shape)}")
    norm = directions.norm(dim=1, keepdim=True)
    if bool((norm < 1e-12).any()):
        raise ShapeError("ray directions must be non-zero")
    mesh = _trimesh(verts, faces)
    o = origins.detach().cpu().double().numpy()
    d = (directions / norm).detach().cpu().double().numpy()
    locations, index_ray, index_tri = mesh.ray.intersects_location(o, d, multiple_hits=False)
    R = o.shape[0]
    distance = np.full(R, np.inf)
    face = np.full(R, -1, dtype=np.int64)
    loc = np.full((R, 3), np.nan)
    if len(index_ray):
        dist = np.einsum("ij,ij->i", locations - o[index_ray], d[index_ray])
        # a backend may report several hits per ray: keep the nearest
        order = np.argsort(-dist)
        distance[index_ray[order]] = dist[order]
        face[index_ray[order]] = index_tri[order]
        loc[index_ray[order]] = locations[order]
    dev = origins.device
    return (torch.from_numpy(distance).float().to(dev), torch.from_numpy(face).to(dev),
            torch.from_numpy(loc).float().to(dev))
