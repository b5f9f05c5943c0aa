"""Broadcasting per-batch parameters (`[1 or B, C]`) against per-pixel tensors (`[B, ..., C]`)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from render3d.errors import ShapeError

Vec3 = float | Sequence[float] | torch.Tensor


def as_batch_param(value: float | Sequence[float] | torch.Tensor, width: int, name: str) -> torch.Tensor:
    """A float, a `width`-sequence or a `[width]` / `[N, width]` tensor as an `[N, width]` tensor.

    Floating tensors keep their dtype and autograd graph (so predicted parameters stay
    differentiable); anything else becomes float32.

    Raises:
        ShapeError: the trailing size is not `width`, or the rank is above 2.
    """
    t = torch.as_tensor(value)
    if not t.is_floating_point():
        t = t.float()
    if t.dim() == 0:
        t = t.expand(width)
    if t.dim() == 1:
        t = t[None]
    if t.dim() != 2 or t.shape[-1] != width:
        raise ShapeError(f"{name} must be a float, {width} values or [N, {width}], got shape {list(t.shape)}")
    return t.clone()


def per_batch(param: torch.Tensor, like: torch.Tensor, name: str) -> torch.Tensor:
    """View `param: [N, C]` (N = 1 or B) as `[N, 1, ..., 1, C]` to broadcast with `like: [B, ..., *]`.

    Raises:
        ShapeError: N is neither 1 nor B.
    """
    B = like.shape[0]
    if param.shape[0] not in (1, B):
        raise ShapeError(f"{name} holds {param.shape[0]} entries for a batch of {B}")
    return param.reshape(param.shape[0], *([1] * (like.dim() - 2)), param.shape[-1]).to(like)
