"""Padded ⇄ packed conversions shared by the batched structures."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from render3d.errors import ShapeError


def as_list(
    x: torch.Tensor | Sequence[torch.Tensor], name: str, width: int | None, rank: int = 2
) -> list[torch.Tensor]:
    """Normalize a batched tensor `[B, N, ...]` or a list of `[N_i, ...]` tensors to a list.

    Args:
        x: the batch.
        name: argument name used in error messages.
        width: required size of the last dim, or None for any.
        rank: rank of each list element.

    Raises:
        ShapeError: wrong rank or last-dim size.
    """
    if isinstance(x, torch.Tensor):
        if x.dim() != rank + 1:
            raise ShapeError(f"{name} must be a list of rank-{rank} tensors or one rank-{rank + 1} "
                             f"batch, got shape {list(x.shape)}")
        lst = list(x.unbind(0))
    else:
        lst = [torch.as_tensor(t) for t in x]
    for i, t in enumerate(lst):
        if t.dim() != rank:
            raise ShapeError(f"{name}[{i}] must have rank {rank}, got shape {list(t.shape)}")
        if width is not None and t.shape[-1] != width:
            raise ShapeError(f"{name}[{i}] must have last dim {width}, got shape {list(t.shape)}")
    return lst


def split_sizes(packed: torch.Tensor, sizes: torch.Tensor) -> list[torch.Tensor]:
    """Split `packed: [sum N_i, ...]` into a list of `[N_i, ...]` views."""
    return list(torch.split(packed, sizes.tolist(), 0))


def pad_packed(packed: torch.Tensor, sizes: torch.Tensor, pad_value: float) -> torch.Tensor:
    """`[sum N_i, ...]` → `[B, max N_i, ...]` filled with `pad_value` past each N_i (differentiable)."""
    return torch.nn.utils.rnn.pad_sequence(split_sizes(packed, sizes), batch_first=True,
                                           padding_value=pad_value)


def packed_from_padded(padded: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """`[B, max N_i, ...]` → `[sum N_i, ...]` keeping the first N_i rows of each batch entry."""
    return torch.cat([padded[i, :n] for i, n in enumerate(sizes.tolist())], 0)
