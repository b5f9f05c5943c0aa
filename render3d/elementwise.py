"""3-vector algebra written element-wise in one fixed order, so results never depend on the batch.

A matmul (`@`, `bmm`, `einsum`) and a reduction over a tiny dimension (`.sum(-1)`, `.norm(dim=-1)`)
leave the order of operations to the library: BLAS and the reduction kernels pick their kernel, and
so their rounding, by tensor shape and CPU (MKL differs between AMD and Intel, and between a
`[1, V, 3]` and a `[3, V, 3]` batch). A rasterizer built on them gives a face a last-bit different
depth when other images share its batch, which flips the winner of a depth tie. The functions
here use only separate element-wise multiplies and adds, each correctly rounded by IEEE 754, in the
order written, so every element gets bit-identical results whatever shape it is computed in.
"""

from __future__ import annotations

import torch


class _Transform(torch.autograd.Function):
    """`transform` with the gradient of a matmul: the backward's rounding is free to differ by shape, and
    the element-wise form's autograd (tiny broadcast reductions, slice scatters) costs several times more."""

    @staticmethod
    def forward(ctx, p: torch.Tensor, M: torch.Tensor, offset: torch.Tensor | None) -> torch.Tensor:
        # row i: ((x · M_i0 + y · M_i1) + z · M_i2) + offset_i, all three rows at once
        out = p[..., 0:1] * M[..., :, 0] + p[..., 1:2] * M[..., :, 1] + p[..., 2:3] * M[..., :, 2]
        if offset is not None:
            out = out + offset
        ctx.save_for_backward(p, M)
        ctx.offset_shape = None if offset is None else offset.shape
        return out

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        p, M = ctx.saved_tensors
        gp = gM = go = None
        if ctx.needs_input_grad[0]:
            gp = (g.unsqueeze(-2) @ M).squeeze(-2).sum_to_size(p.shape)
        if ctx.needs_input_grad[1]:
            gM = (g.unsqueeze(-1) * p.unsqueeze(-2)).sum_to_size(M.shape)
        if ctx.offset_shape is not None and ctx.needs_input_grad[2]:
            go = g.sum_to_size(ctx.offset_shape)
        return gp, gM, go


def transform(p: torch.Tensor, M: torch.Tensor, offset: torch.Tensor | None = None) -> torch.Tensor:
    """`M @ p (+ offset)` for points `p: [..., 3]`, matrices `M: [..., 3, 3]` and offsets `[..., 3]`, broadcast.

    Differentiable in all three (the backward is a matmul: only the forward values need to be
    shape-independent).

    Example:
        >>> transform(torch.tensor([1.0, 2, 3]), torch.eye(3) * 2, torch.ones(3)).tolist()
        [3.0, 5.0, 7.0]
    """
    return _Transform.apply(p, M, offset)


def cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`a × b` over the last dimension of `[..., 3]` tensors.

    Example:
        >>> cross(torch.tensor([1.0, 0, 0]), torch.tensor([0.0, 1, 0])).tolist()
        [0.0, 0.0, 1.0]
    """
    # rolls, not index lists: their backward is a roll too, not a scatter-add
    a_yzx, a_zxy, b_yzx, b_zxy = a.roll(-1, -1), a.roll(1, -1), b.roll(-1, -1), b.roll(1, -1)
    return a_yzx * b_zxy - a_zxy * b_yzx


def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`Σ a_i b_i` over the last dimension (any small size), summed left to right: `[...]`.

    Example:
        >>> dot(torch.tensor([1.0, 2, 3]), torch.tensor([4.0, 5, 6])).item()
        32.0
    """
    return sum_terms([a[..., i] * b[..., i] for i in range(a.shape[-1])])


def total(a: torch.Tensor, dim: int) -> torch.Tensor:
    """Sum over a small dimension `dim`, left to right.

    Example:
        >>> total(torch.tensor([[1.0, 2], [3, 4]]), 0).tolist()
        [4.0, 6.0]
    """
    return sum_terms(list(a.unbind(dim)))


def sum_terms(terms: list[torch.Tensor]) -> torch.Tensor:
    """`terms[0] + terms[1] + ...`, left to right.

    Example:
        >>> sum_terms([torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0)]).item()
        6.0
    """
    out = terms[0]
    for term in terms[1:]:
        out = out + term
    return out
