"""The icosphere and the 1-to-4 midpoint face split it is built from.

`split_faces` is the topological half of midpoint subdivision: it says which new vertex sits on
which edge, so callers can carry any per-vertex attribute along (positions, colors, sphere
directions) with `0.5 * (x[edges[:, 0]] + x[edges[:, 1]])`.
"""

from __future__ import annotations

import math

import torch

from render3d.errors import ShapeError

_GOLDEN = (1.0 + math.sqrt(5.0)) / 2.0
_ICOSAHEDRON_VERTS = ((-1, _GOLDEN, 0), (1, _GOLDEN, 0), (-1, -_GOLDEN, 0), (1, -_GOLDEN, 0), (0, -1, _GOLDEN),
                      (0, 1, _GOLDEN), (0, -1, -_GOLDEN), (0, 1, -_GOLDEN), (_GOLDEN, 0, -1), (_GOLDEN, 0, 1),
                      (-_GOLDEN, 0, -1), (-_GOLDEN, 0, 1))
_ICOSAHEDRON_FACES = ((0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2),
                      (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5),
                      (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1))


def split_faces(faces: torch.Tensor, num_verts: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split every triangle into four at its edge midpoints (topology only).

    Vertex i of the input keeps index i; new vertex `num_verts + j` is the midpoint of edge
    `edges[j]`. Edges are numbered in sorted (low, high) order, faces in the order: the three
    corner triangles of every input face, then the three-midpoint centre triangles.

    Args:
        faces: `[F, 3]` long, vertex indices below `num_verts`.
        num_verts: V.

    Returns:
        `faces: [4F, 3]` long (winding kept) and `edges: [E, 2]` long, the endpoints of the edge
        each new vertex splits.

    Raises:
        ShapeError: faces not `[F, 3]`.

    Example:
        >>> faces, edges = split_faces(torch.tensor([[0, 1, 2]]), 3)
        >>> faces.tolist(), edges.tolist()
        ([[0, 3, 4], [1, 5, 3], [2, 4, 5], [3, 5, 4]], [[0, 1], [0, 2], [1, 2]])
    """
    if faces.dim() != 2 or faces.shape[1] != 3:
        raise ShapeError(f"faces must be [F, 3], got {list(faces.shape)}")
    a, b = faces[:, [0, 1, 2]].reshape(-1), faces[:, [1, 2, 0]].reshape(-1)
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    uniq, inverse = torch.unique(lo * num_verts + hi, return_inverse=True)
    edges = torch.stack([uniq // num_verts, uniq % num_verts], 1)
    mid = (num_verts + inverse).view(-1, 3)  # midpoint of edge (corner k, corner k+1)
    c0, c1, c2 = faces.unbind(1)
    m01, m12, m20 = mid.unbind(1)
    out = torch.cat([torch.stack([c0, m01, m20], 1), torch.stack([c1, m12, m01], 1),
                     torch.stack([c2, m20, m12], 1), torch.stack([m01, m12, m20], 1)])
    return out, edges


def icosphere(level: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit icosphere: the icosahedron split `level` times, new vertices pushed onto the sphere.

    Args:
        level: 0..7 (10·4^level + 2 vertices, 20·4^level faces).

    Returns:
        `verts: [V, 3]` float32 unit vectors and `faces: [F, 3]` long, counter-clockwise seen from outside.

    Raises:
        ShapeError: level out of range.

    Example:
        >>> verts, faces = icosphere(2)
        >>> verts.shape, faces.shape
        (torch.Size([162, 3]), torch.Size([320, 3]))
    """
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 7:
        raise ShapeError(f"icosphere level must be an int within 0..7, got {level!r}")
    verts = torch.nn.functional.normalize(torch.tensor(_ICOSAHEDRON_VERTS, dtype=torch.float64), dim=1)
    faces = torch.tensor(_ICOSAHEDRON_FACES)
    for _ in range(level):
        faces_next, edges = split_faces(faces, verts.shape[0])
        mids = torch.nn.functional.normalize(verts[edges].mean(1), dim=1)
        verts, faces = torch.cat([verts, mids]), faces_next
    return verts.float(), faces
