"""Differentiable compositing of per-point features over the K fragments of every pixel."""

from __future__ import annotations

import torch

from render3d.errors import ShapeError
from render3d.fragments import PointFragments

_EPS = 1e-4  # floor of the weight sum in norm-weighted compositing (as pytorch3d)


def _fragment_alphas(fragments: PointFragments, features: torch.Tensor,
                     alphas: torch.Tensor | None) -> torch.Tensor:
    """Validated per-fragment alphas `[B, H, W, K]` in the features' dtype, 0 where empty."""
    idx = fragments.idx
    if idx.dim() != 4:
        raise ShapeError(f"fragments.idx must be [B, H, W, K], got {list(idx.shape)}")
    if features.dim() != 2:
        raise ShapeError(f"features must be [P, C], got {list(features.shape)}")
    if idx.numel() and int(idx.max()) >= features.shape[0]:
        raise ShapeError(f"fragments reference point {int(idx.max())} but features has {features.shape[0]} rows")
    if alphas is None:
        alphas = (1.0 - fragments.dists).clamp(0.0, 1.0)
    elif alphas.shape != idx.shape:
        raise ShapeError(f"alphas must be {list(idx.shape)} like fragments.idx, got {list(alphas.shape)}")
    zero = torch.zeros((), dtype=features.dtype, device=features.device)
    return torch.where(idx >= 0, alphas.to(features.dtype), zero)


def _blend(idx: torch.Tensor, weights: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """`Σ_k weights_k · features[idx_k]` per pixel, `[B, H, W, C]`.

    Summed over the filled fragments only (gathered, scaled, added into their pixels), so the cost
    follows the fragments, not the B·H·W·K slots.
    """
    flat = idx.reshape(-1)
    filled = (flat >= 0).nonzero()[:, 0]
    contrib = weights.reshape(-1).index_select(0, filled)[:, None] \
        * features.index_select(0, flat.index_select(0, filled))
    out = features.new_zeros(flat.shape[0] // idx.shape[-1], features.shape[1])
    return out.index_add_(0, filled // idx.shape[-1], contrib).view(*idx.shape[:-1], features.shape[1])


def _over(alphas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Front-to-back over weights `a_k · Π_{j<k} (1 - a_j)` `[B, H, W, K]` and coverage
    `1 - Π (1 - a_k)` `[B, H, W, 1]`."""
    transmit = torch.cumprod(1.0 - alphas, dim=-1)
    before = torch.nn.functional.pad(transmit[..., :-1], (1, 0), value=1.0)
    return alphas * before, 1.0 - transmit[..., -1:]


def alpha_composite(fragments: PointFragments, features: torch.Tensor,
                    alphas: torch.Tensor | None = None) -> torch.Tensor:
    """Front-to-back "over" compositing of the K fragments of every pixel.

    Args:
        fragments: rasterizer output, fragments sorted near → far.
        features: `[P, C]` per packed point.
        alphas: `[B, H, W, K]` per-fragment opacity; default `clamp(1 - dists, 0, 1)` (a disk fading
            to its rim, as pytorch3d).

    Returns:
        `[B, H, W, C + 1]`: color premultiplied by coverage (composited over black) and, last, the
        accumulated alpha `1 - Π (1 - a_k)`. Differentiable with respect to `features`, `alphas`
        and `fragments.dists`.

    Raises:
        ShapeError: mismatched shapes or a point index beyond `features`.

    Example:
        >>> frags = PointFragments(torch.tensor([0, 1]).view(1, 1, 1, 2), torch.ones(1, 1, 1, 2),
        ...                        torch.tensor([0.5, 0.0]).view(1, 1, 1, 2))
        >>> alpha_composite(frags, torch.tensor([[1.0], [0.0]])).flatten().tolist()
        [0.5, 1.0]
    """
    weights, coverage = _over(_fragment_alphas(fragments, features, alphas))
    return torch.cat([_blend(fragments.idx, weights, features), coverage], dim=-1)


def norm_weighted_composite(fragments: PointFragments, features: torch.Tensor,
                            alphas: torch.Tensor | None = None) -> torch.Tensor:
    """Blend the K fragments of every pixel with their alphas normalized to sum 1.

    Unlike `alpha_composite` the order of fragments does not matter to the color; coverage is
    still the accumulated alpha `1 - Π (1 - a_k)`, so the two share one "over background" rule.

    Args:
        fragments: rasterizer output.
        features: `[P, C]` per packed point.
        alphas: `[B, H, W, K]` per-fragment weights; default `clamp(1 - dists, 0, 1)`.

    Returns:
        `[B, H, W, C + 1]`: `coverage · Σ a_k f_k / max(Σ a_k, 1e-4)` and, last, the coverage.
        Differentiable with respect to `features`, `alphas` and `fragments.dists`.

    Raises:
        ShapeError: mismatched shapes or a point index beyond `features`.

    Example:
        >>> frags = PointFragments(torch.tensor([0, 1]).view(1, 1, 1, 2), torch.ones(1, 1, 1, 2),
        ...                        torch.tensor([0.5, 0.0]).view(1, 1, 1, 2))
        >>> [round(x, 4) for x in norm_weighted_composite(frags, torch.tensor([[1.0], [0.0]])).flatten().tolist()]
        [0.3333, 1.0]
    """
    alphas = _fragment_alphas(fragments, features, alphas)
    color = _blend(fragments.idx, alphas, features) / alphas.sum(-1, keepdim=True).clamp(min=_EPS)
    coverage = _over(alphas)[1]
    return torch.cat([color * coverage, coverage], dim=-1)
