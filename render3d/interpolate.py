"""Barycentric interpolation of per-face-corner attributes at rasterized fragments."""

from __future__ import annotations

import torch

from render3d.errors import ShapeError
from render3d.fragments import Fragments


def interpolate(pix_to_face: torch.Tensor, bary: torch.Tensor, face_attrs: torch.Tensor) -> torch.Tensor:
    """Blend each fragment's face-corner attributes with its barycentric weights.

    Args:
        pix_to_face: `[B, H, W, K]` long, packed face index per fragment, -1 where empty.
        bary: `[B, H, W, K, 3]` barycentric coordinates of each fragment in its face.
        face_attrs: `[F, 3, C]` attribute values at the three corners of every packed face.

    Returns:
        `[B, H, W, K, C]` interpolated attributes, 0 where `pix_to_face` is -1. Differentiable
        with respect to `bary` and `face_attrs`.

    Raises:
        ShapeError: mismatched shapes or a face index out of range.

    Example:
        >>> p2f = torch.tensor([0, -1]).view(1, 1, 2, 1)
        >>> bary = torch.tensor([[0.25, 0.25, 0.5], [0, 0, 0]]).view(1, 1, 2, 1, 3)
        >>> interpolate(p2f, bary, torch.tensor([[[0.0], [1.0], [2.0]]]))[..., 0].flatten().tolist()
        [1.25, 0.0]
    """
    if pix_to_face.dim() != 4:
        raise ShapeError(f"pix_to_face must be [B, H, W, K], got {list(pix_to_face.shape)}")
    if bary.shape != (*pix_to_face.shape, 3):
        raise ShapeError(f"bary must be {[*pix_to_face.shape, 3]}, got {list(bary.shape)}")
    if face_attrs.dim() != 3 or face_attrs.shape[1] != 3:
        raise ShapeError(f"face_attrs must be [F, 3, C], got {list(face_attrs.shape)}")
    if pix_to_face.numel() and int(pix_to_face.max()) >= face_attrs.shape[0]:
        raise ShapeError(f"pix_to_face holds face {int(pix_to_face.max())} but face_attrs has "
                         f"{face_attrs.shape[0]} faces")
    valid = pix_to_face >= 0
    corners = face_attrs[pix_to_face.clamp(min=0)]
    out = (bary.to(corners.dtype).unsqueeze(-1) * corners).sum(-2)
    return out * valid.unsqueeze(-1).to(out.dtype)


def interpolate_vertex_attrs(fragments: Fragments, faces: torch.Tensor, vert_attrs: torch.Tensor) -> torch.Tensor:
    """`interpolate` for per-vertex attributes `vert_attrs: [V, C]` of packed `faces: [F, 3]`.

    Returns:
        `[B, H, W, K, C]`, 0 at empty fragments.

    Example:
        >>> bary = torch.tensor([0.5, 0.5, 0.0]).view(1, 1, 1, 1, 3)
        >>> frags = Fragments(torch.zeros(1, 1, 1, 1, dtype=torch.long), bary, torch.ones(1, 1, 1, 1))
        >>> interpolate_vertex_attrs(frags, torch.tensor([[0, 1, 2]]), torch.tensor([[2.0], [4.0], [8.0]])).item()
        3.0
    """
    if vert_attrs.dim() != 2:
        raise ShapeError(f"vert_attrs must be [V, C], got {list(vert_attrs.shape)}")
    return interpolate(fragments.pix_to_face, fragments.bary, vert_attrs[faces])
