"""Differentiable compositing of per-point features over the K fragments of every pixel."""

from __future__ import annotations

import torch

from render3d.errors import ShapeError
from render3d.fragments import PointFragments

_EPS = 1e-4  # floor of the weight sum in norm-weighted compositing (as pytorch3d)


def _fragment_alphas(fragments: PointFragments, features: torch.Tensor,
                     alphas: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated per-fragment features `[B, H, W, K, C]` and alphas `[B, H, W, K]` (0 where empty)."""
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
    valid = idx >= 0
    alphas = torch.where(valid, alphas.to(features.dtype), torch.zeros((), dtype=features.dtype,
                                                                        device=features.device))
    return features[idx.clamp(min=0)], alphas


def _over(alphas: torch.Tensor) -> torch.Tensor:
    """Front-to-back over weights `a_k · Π_{j<k} (1 - a_j)`, `[B, H, W, K]`."""
    transmit = torch.cumprod(1.0 - alphas, dim=-1)
    before = torch.cat([torch.ones_like(transmit[..., :1]), transmit[..., :-1]], dim=-1)
    return alphas * before


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
    feats, alphas = _fragment_alphas(fragments, features, alphas)
    weights = _over(alphas)
    color = (weights.unsqueeze(-1) * feats).sum(-2)
    return torch.cat([color, weights.sum(-1, keepdim=True)], dim=-1)


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
    feats, alphas = _fragment_alphas(fragments, features, alphas)
    total = alphas.sum(-1, keepdim=True)
    color = (alphas.unsqueeze(-1) * feats).sum(-2) / total.clamp(min=_EPS)
    coverage = _over(alphas).sum(-1, keepdim=True)
    return torch.cat([color * coverage, coverage], dim=-1)
