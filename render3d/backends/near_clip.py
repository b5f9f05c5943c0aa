"""Exact near-plane clipping of triangles in camera space, for backends that cannot clip themselves.

Cutting a triangle by the plane `z = znear` leaves nothing, a triangle, or a quad (two triangles).
Every corner of a piece is a convex combination of the original corners, so perspective-correct
barycentrics in a piece compose linearly into barycentrics of the original face:
`b_face = Σ_j b_piece_j · weights[j]`. Pieces keep the original winding (culling still works).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ClippedFaces:
    """Triangles after near-plane clipping, sorted by the face they came from.

    Attributes:
        verts: `[T, 3, 3]` camera-space corners of each piece.
        face: `[T]` long, the original (packed) face of each piece.
        weights: `[T, 3, 3]`, row j = barycentric weights of piece corner j over the face's corners.
        clipped: `[T]` bool, the face was cut by the plane.
    """

    verts: torch.Tensor
    face: torch.Tensor
    weights: torch.Tensor
    clipped: torch.Tensor


def _lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return a + t[:, None] * (b - a)


def clip_near(face_verts: torch.Tensor, znear: float) -> ClippedFaces:
    """Clip camera-space triangles `face_verts: [F, 3, 3]` to `z >= znear`.

    Returns:
        `ClippedFaces` (differentiable with respect to `face_verts`).

    Example:
        >>> tri = torch.tensor([[[0.0, 0, -1], [1, 0, 1], [0, 1, 1]]])
        >>> c = clip_near(tri, 0.5)
        >>> c.face.tolist(), c.verts[..., 2].min().item()
        ([0, 0], 0.5)
    """
    F = face_verts.shape[0]
    dev, dt = face_verts.device, face_verts.dtype
    z = face_verts[..., 2]
    inside = z >= znear
    n_in = inside.sum(1)
    eye = torch.eye(3, device=dev, dtype=dt)
    ids = torch.arange(F, device=dev)
    pieces: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, bool]] = []

    whole = n_in == 3
    pieces.append((face_verts[whole], ids[whole], eye.expand(int(whole.sum()), 3, 3), False))

    def corners(sel: torch.Tensor, first: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # rotate the corner order (winding kept) so that corner `first` comes first
        order = (first[:, None] + torch.arange(3, device=dev)) % 3
        v = face_verts[sel].gather(1, order[..., None].expand(-1, -1, 3))
        w = eye[order]
        return v[:, 0], v[:, 1], v[:, 2], w[:, 0], w[:, 1], w[:, 2]

    one = n_in == 1  # A inside; B, C outside → triangle (A, A→B, A→C)
    if bool(one.any()):
        A, B, C, wA, wB, wC = corners(one, inside[one].float().argmax(1))
        tB, tC = (znear - A[:, 2]) / (B[:, 2] - A[:, 2]), (znear - A[:, 2]) / (C[:, 2] - A[:, 2])
        pieces.append((torch.stack([A, _lerp(A, B, tB), _lerp(A, C, tC)], 1), ids[one],
                       torch.stack([wA, _lerp(wA, wB, tB), _lerp(wA, wC, tC)], 1), True))

    two = n_in == 2  # C outside → quad (A, B, B→C, A→C) as two triangles
    if bool(two.any()):
        C, A, B, wC, wA, wB = corners(two, (~inside[two]).float().argmax(1))
        tA, tB = (znear - A[:, 2]) / (C[:, 2] - A[:, 2]), (znear - B[:, 2]) / (C[:, 2] - B[:, 2])
        P, Q, wP, wQ = _lerp(B, C, tB), _lerp(A, C, tA), _lerp(wB, wC, tB), _lerp(wA, wC, tA)
        pieces.append((torch.stack([A, B, P], 1), ids[two], torch.stack([wA, wB, wP], 1), True))
        pieces.append((torch.stack([A, P, Q], 1), ids[two], torch.stack([wA, wP, wQ], 1), True))

    verts = torch.cat([p[0] for p in pieces])
    face = torch.cat([p[1] for p in pieces])
    weights = torch.cat([p[2] for p in pieces])
    clipped = torch.cat([torch.full((p[1].shape[0],), p[3], device=dev) for p in pieces])
    order = torch.sort(face, stable=True).indices  # keep pieces grouped by mesh, like packed faces
    return ClippedFaces(verts[order], face[order], weights[order], clipped[order])
