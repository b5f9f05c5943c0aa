"""Shape regularizers for mesh fitting: Laplacian smoothing, edge length, normal consistency.

Each is averaged per mesh, then over the batch (every mesh weighs the same whatever its size),
matching pytorch3d.loss so losses and weights carry over.
"""

from __future__ import annotations

from typing import Literal

import torch

from render3d.errors import ShapeError
from render3d.structures import Meshes
from render3d.topology import MeshTopology


def _per_mesh_mean(values: torch.Tensor, owner: torch.Tensor, num_meshes: int) -> torch.Tensor:
    """Mean of `values: [N]` within each mesh (`owner: [N]`), then mean over the batch."""
    counts = torch.bincount(owner, minlength=num_meshes).clamp(min=1).to(values.dtype)
    sums = torch.zeros(num_meshes, dtype=values.dtype, device=values.device).index_add(0, owner, values)
    return (sums / counts).mean()


def _cot_weights(verts: torch.Tensor, faces: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """`[F, 3]` cotangent of each face corner's angle (weight of the edge opposite it)."""
    v0, v1, v2 = verts[faces].unbind(1)
    A, B, C = (v1 - v2).norm(dim=1), (v0 - v2).norm(dim=1), (v0 - v1).norm(dim=1)
    s = 0.5 * (A + B + C)
    area = (s * (s - A) * (s - B) * (s - C)).clamp(min=eps).sqrt()
    A2, B2, C2 = A * A, B * B, C * C
    return torch.stack([B2 + C2 - A2, A2 + C2 - B2, A2 + B2 - C2], 1) / (4.0 * area[:, None])


def mesh_laplacian(
    meshes: Meshes, topology: MeshTopology, method: Literal["uniform", "cot"] = "uniform"
) -> torch.Tensor:
    """Per-vertex Laplacian `L x_i = Σ_j w_ij x_j / Σ_j w_ij - x_i` of the packed vertices.

    `w_ij = 1` ("uniform") or `w_ij = cot α_ij + cot β_ij` ("cot", the angles opposite edge ij).
    The cotangent weights are treated as constants (no gradient through them), as in pytorch3d,
    which keeps the optimization stable. Vertices without neighbors, or whose weights sum to
    ≤ 0, get 0.

    Args:
        meshes: B meshes with the topology `topology` was built from.
        topology: `MeshTopology.from_meshes(meshes)`, reusable while faces stay the same.
        method: "uniform" or "cot".

    Returns:
        `[sum V_i, 3]` Laplacian vectors.

    Raises:
        ShapeError: topology does not match, unknown method.

    Example:
        >>> m = Meshes([torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])], [torch.tensor([[0, 1, 2]])])
        >>> mesh_laplacian(m, MeshTopology.from_meshes(m))[0].tolist()
        [0.5, 0.5, 0.0]
    """
    topology.check(meshes)
    verts = meshes.verts_packed()
    if method == "uniform":
        src, dst = topology.neighbor_sources, topology.neighbors
        w = torch.ones_like(src, dtype=verts.dtype)
    elif method == "cot":
        faces = meshes.faces_packed()
        with torch.no_grad():
            cot = _cot_weights(verts, faces).reshape(-1)
        # Corner k's cotangent weighs the edge (corner k+1, corner k+2), in both directions.
        a, b = faces[:, [1, 2, 0]].reshape(-1), faces[:, [2, 0, 1]].reshape(-1)
        src, dst, w = torch.cat([a, b]), torch.cat([b, a]), torch.cat([cot, cot])
    else:
        raise ShapeError(f"laplacian method must be 'uniform' or 'cot', got {method!r}")
    wsum = torch.zeros(verts.shape[0], dtype=verts.dtype, device=verts.device).index_add(0, src, w)
    acc = torch.zeros_like(verts).index_add(0, src, w[:, None] * verts[dst])
    has = wsum > 0
    inv = torch.where(has, 1.0 / torch.where(has, wsum, torch.ones_like(wsum)), torch.zeros_like(wsum))
    return (acc * inv[:, None] - verts) * has[:, None].to(verts.dtype)


def laplacian_smoothing(
    meshes: Meshes, topology: MeshTopology, method: Literal["uniform", "cot"] = "uniform"
) -> torch.Tensor:
    """Mean norm of each vertex's `mesh_laplacian` (offset from its neighbors' weighted average).

    Args:
        meshes: B meshes with the topology `topology` was built from.
        topology: `MeshTopology.from_meshes(meshes)`, reusable while faces stay the same.
        method: "uniform" or "cot" (see `mesh_laplacian`).

    Returns:
        Scalar: per-mesh mean over vertices of `|L x_i|`, averaged over meshes.

    Raises:
        ShapeError: topology does not match, unknown method.

    Example:
        >>> m = Meshes([torch.rand(4, 3)], [torch.tensor([[0, 1, 2], [0, 2, 3]])])
        >>> laplacian_smoothing(m, MeshTopology.from_meshes(m)).shape
        torch.Size([])
    """
    lap = mesh_laplacian(meshes, topology, method)
    return _per_mesh_mean(lap.norm(dim=1), meshes.vert_to_mesh_idx, len(meshes))


def edge_length_loss(meshes: Meshes, topology: MeshTopology, target_length: float = 0.0) -> torch.Tensor:
    """Mean squared deviation of every unique edge's length from `target_length`.

    Args:
        meshes: B meshes matching `topology`.
        topology: their `MeshTopology`.
        target_length: resting edge length (0 pulls edges short, like pytorch3d's mesh_edge_loss).

    Returns:
        Scalar: per-mesh mean over edges of `(|v_i - v_j| - target)²`, averaged over meshes.

    Raises:
        ShapeError: topology does not match.

    Example:
        >>> m = Meshes([torch.tensor([[0.0, 0, 0], [1, 0, 0], [0.5, 3 ** 0.5 / 2, 0]])], [torch.tensor([[0, 1, 2]])])
        >>> round(float(edge_length_loss(m, MeshTopology.from_meshes(m), 1.0)), 6)
        0.0
    """
    topology.check(meshes)
    verts = meshes.verts_packed()
    e = topology.edges
    length = (verts[e[:, 0]] - verts[e[:, 1]]).norm(dim=1)
    return _per_mesh_mean((length - target_length) ** 2, topology.edge_to_mesh, len(meshes))


def normal_consistency(meshes: Meshes, topology: MeshTopology) -> torch.Tensor:
    """Mean `1 - cos` of the angle between the normals of every pair of faces sharing an edge.

    Normals are taken relative to the shared edge `(v0, v1)` with opposite vertices a and b:
    `n0 = (v1 - v0) × (a - v0)`, `n1 = (b - v0) × (v1 - v0)`, so the loss ignores face winding
    (0 for a flat sheet however its faces are oriented, 2 for a sheet folded flat onto itself).

    Args:
        meshes: B meshes matching `topology`.
        topology: their `MeshTopology`.

    Returns:
        Scalar: per-mesh mean over face pairs, averaged over meshes (meshes without pairs count 0).

    Raises:
        ShapeError: topology does not match.

    Example:
        >>> m = Meshes([torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])],
        ...            [torch.tensor([[0, 1, 2], [0, 2, 3]])])
        >>> float(normal_consistency(m, MeshTopology.from_meshes(m)))
        0.0
    """
    topology.check(meshes)
    verts = meshes.verts_packed()
    if topology.face_pairs.shape[0] == 0:
        return verts.sum() * 0.0
    e = topology.edges[topology.pair_edges]
    v0, v1 = verts[e[:, 0]], verts[e[:, 1]]
    a, b = verts[topology.pair_opposite[:, 0]], verts[topology.pair_opposite[:, 1]]
    n0 = torch.cross(v1 - v0, a - v0, dim=1)
    n1 = torch.cross(b - v0, v1 - v0, dim=1)
    loss = 1.0 - torch.cosine_similarity(n0, n1, dim=1)
    return _per_mesh_mean(loss, topology.edge_to_mesh[topology.pair_edges], len(meshes))
