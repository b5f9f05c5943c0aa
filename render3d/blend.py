"""Blending per-pixel face lists (`Fragments`) into images: hard, soft silhouettes, SoftRas softmax.

Distances in `Fragments.dists` are in pixels (negative inside a face), so every `sigma` here is in
pixels: `sigmoid(-d / sigma)` is 0.5 on a face's boundary and ≈0.73/0.27 one sigma inside/outside.
Typical soft-rendering values: `sigma` 0.5 to 2 px with a rasterizer `blur_radius` of about
`sigma * ln(1/eps - 1)` (≈ 7 sigma for eps 1e-3) so that cut-off faces contribute < eps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from render3d.errors import ShapeError
from render3d.fragments import Fragments

_EPS = 1e-10


@dataclass(frozen=True)
class SoftBlendSettings:
    """Parameters of `softmax_rgb_blend` (SoftRas, Liu et al. 2019).

    Attributes:
        sigma: sharpness of the coverage sigmoid, in pixels (smaller = sharper edges).
        gamma: temperature of the depth softmax, in units of normalized inverse depth
            (`(zfar - z) / (zfar - znear)`, 1 at znear and 0 at zfar); smaller = harder z-buffer.
        background: the background color, one value per channel.
        znear: depth mapped to 1 in the softmax.
        zfar: depth mapped to 0 in the softmax; must exceed znear.

    Raises:
        ShapeError: non-positive sigma or gamma, empty background, zfar <= znear.

    Example:
        >>> SoftBlendSettings(sigma=1.0, gamma=1e-2, background=(1.0, 1.0, 1.0), znear=0.1, zfar=10.0).sigma
        1.0
    """

    sigma: float = 1.0
    gamma: float = 1e-2
    background: tuple[float, ...] = (1.0, 1.0, 1.0)
    znear: float = 0.1
    zfar: float = 100.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sigma) and self.sigma > 0):
            raise ShapeError(f"sigma must be a finite number > 0 (pixels), got {self.sigma}")
        if not (math.isfinite(self.gamma) and self.gamma > 0):
            raise ShapeError(f"gamma must be a finite number > 0, got {self.gamma}")
        if len(self.background) == 0:
            raise ShapeError("background needs at least one channel")
        if not (math.isfinite(self.znear) and math.isfinite(self.zfar) and self.zfar > self.znear):
            raise ShapeError(f"need finite znear < zfar, got znear={self.znear}, zfar={self.zfar}")


def _check_colors(colors: torch.Tensor, fragments: Fragments) -> None:
    if not isinstance(fragments, Fragments):
        raise ShapeError(f"fragments must be a Fragments, got {type(fragments).__name__}")
    if colors.dim() != 5 or colors.shape[:4] != fragments.pix_to_face.shape:
        raise ShapeError(f"colors must be [B, H, W, K, C] with [B, H, W, K] = {list(fragments.pix_to_face.shape)}, "
                         f"got {list(colors.shape)}")


def _coverage(fragments: Fragments, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`[B, H, W, K]` per-face coverage probabilities (0 for empty slots) and the valid-slot mask."""
    if fragments.dists is None:
        raise ShapeError("soft blending needs fragments.dists; this backend did not fill it")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ShapeError(f"sigma must be a finite number > 0 (pixels), got {sigma}")
    valid = fragments.pix_to_face >= 0
    prob = torch.sigmoid(-fragments.dists / sigma) * valid
    return prob, valid


def hard_rgb_blend(colors: torch.Tensor, fragments: Fragments, background: torch.Tensor) -> torch.Tensor:
    """The nearest face's color, the background elsewhere; alpha is the coverage mask.

    Args:
        colors: `[B, H, W, K, C]` per-slot colors (from interpolation/shading).
        fragments: rasterizer output.
        background: `[C]` background color.

    Returns:
        `[B, H, W, C + 1]` RGBA (alpha 1 on covered pixels, 0 elsewhere).

    Raises:
        ShapeError: mismatched shapes.

    Example:
        >>> frags = Fragments(torch.tensor([[[[0], [-1]]]]), torch.zeros(1, 1, 2, 1, 3), torch.ones(1, 1, 2, 1))
        >>> hard_rgb_blend(torch.ones(1, 1, 2, 1, 3), frags, torch.zeros(3))[0, 0, :, 3].tolist()
        [1.0, 0.0]
    """
    _check_colors(colors, fragments)
    if background.shape != colors.shape[-1:]:
        raise ShapeError(f"background must be [C={colors.shape[-1]}], got {list(background.shape)}")
    mask = fragments.mask[..., None]
    rgb = torch.where(mask, colors[..., 0, :], background.to(colors))
    return torch.cat([rgb, mask.to(colors.dtype)], -1)


def sigmoid_alpha_blend(fragments: Fragments, sigma: float) -> torch.Tensor:
    """Soft silhouette: `1 - prod_k (1 - sigmoid(-dists_k / sigma))` over the listed faces (SoftRas).

    Args:
        fragments: rasterizer output with `dists` (rasterize with a blur radius of a few sigma).
        sigma: edge sharpness in pixels.

    Returns:
        `[B, H, W]` alpha in [0, 1].

    Raises:
        ShapeError: `dists` missing or sigma not positive.

    Example:
        >>> frags = Fragments(torch.zeros(1, 1, 1, 1, dtype=torch.long), torch.zeros(1, 1, 1, 1, 3),
        ...                   torch.ones(1, 1, 1, 1), torch.zeros(1, 1, 1, 1))
        >>> sigmoid_alpha_blend(frags, 1.0).item()
        0.5
    """
    prob, _ = _coverage(fragments, sigma)
    return 1.0 - torch.prod(1.0 - prob, dim=-1)


def dibr_alpha_blend(fragments: Fragments, sigma: float) -> torch.Tensor:
    """DIB-R soft silhouette: 1 on covered pixels, `1 - prod_k (1 - exp(-(d_k / sigma)^2))` outside.

    Unlike the sigmoid silhouette, pixels covered by a face get exactly 1 and gradients come only
    from the band outside the faces (Chen et al., "Learning to Predict 3D Objects with an
    Interpolation-based Differentiable Renderer", 2019).

    Args:
        fragments: rasterizer output with `dists` (rasterize with a blur radius of 2 to 3 sigma).
        sigma: falloff in pixels.

    Returns:
        `[B, H, W]` alpha in [0, 1].

    Raises:
        ShapeError: `dists` missing or sigma not positive.

    Example:
        >>> frags = Fragments(torch.zeros(1, 1, 1, 1, dtype=torch.long), torch.zeros(1, 1, 1, 1, 3),
        ...                   torch.ones(1, 1, 1, 1), torch.ones(1, 1, 1, 1))
        >>> round(dibr_alpha_blend(frags, 1.0).item(), 4)
        0.3679
    """
    _coverage(fragments, sigma)
    outside = fragments.dists.clamp(min=0) / sigma
    prob = torch.exp(-outside * outside) * (fragments.pix_to_face >= 0)
    return 1.0 - torch.prod(1.0 - prob, dim=-1)


def softmax_rgb_blend(colors: torch.Tensor, fragments: Fragments, settings: SoftBlendSettings) -> torch.Tensor:
    """SoftRas aggregation: a depth softmax over the listed faces plus a background term.

    Each listed face k gets weight `p_k exp((zi_k - zi_max) / gamma)` with coverage
    `p_k = sigmoid(-d_k / sigma)` and normalized inverse depth `zi_k = (zfar - z_k) / (zfar - znear)`;
    the background gets `exp((eps - zi_max) / gamma)`. Alpha is the sigmoid silhouette.

    Args:
        colors: `[B, H, W, K, C]` per-slot colors.
        fragments: rasterizer output with `dists`.
        settings: sigma (pixels), gamma, background (C values), znear, zfar.

    Returns:
        `[B, H, W, C + 1]` RGBA.

    Raises:
        ShapeError: mismatched shapes, background with the wrong channel count, `dists` missing.

    Example:
        >>> frags = Fragments(torch.zeros(1, 1, 1, 1, dtype=torch.long), torch.zeros(1, 1, 1, 1, 3),
        ...                   torch.ones(1, 1, 1, 1), torch.full((1, 1, 1, 1), -10.0))
        >>> s = SoftBlendSettings(sigma=1.0, gamma=1e-2, background=(0.0,), znear=0.1, zfar=10.0)
        >>> round(softmax_rgb_blend(torch.ones(1, 1, 1, 1, 1), frags, s)[0, 0, 0, 0].item(), 3)
        1.0
    """
    _check_colors(colors, fragments)
    if len(settings.background) != colors.shape[-1]:
        raise ShapeError(f"background has {len(settings.background)} channels, colors {colors.shape[-1]}")
    prob, valid = _coverage(fragments, settings.sigma)
    alpha = 1.0 - torch.prod(1.0 - prob, dim=-1)
    z_inv = (settings.zfar - fragments.zbuf) / (settings.zfar - settings.znear) * valid
    z_inv_max = z_inv.amax(-1, keepdim=True).clamp(min=_EPS)
    weights = prob * torch.exp((z_inv - z_inv_max) / settings.gamma)
    delta = torch.exp((_EPS - z_inv_max) / settings.gamma).clamp(min=_EPS)
    denom = weights.sum(-1, keepdim=True) + delta
    background = torch.tensor(settings.background, dtype=colors.dtype, device=colors.device)
    rgb = ((weights[..., None] * colors).sum(-2) + delta * background) / denom
    return torch.cat([rgb, alpha[..., None]], -1)
