"""Adaptive instance normalization (Huang & Belongie 2017): instance-normalize, then scale and shift per sample."""

from __future__ import annotations

import torch
from torch import nn

from gan2d.errors import ShapeError


def adaptive_instance_norm(x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Normalize each channel of each sample to zero mean / unit variance, then apply a per-sample affine map.

    Args:
        x: `[B, C, H, W]` features.
        scale: `[B, C]` multiplicative style.
        bias: `[B, C]` additive style.
        eps: added to the variance for stability.

    Returns:
        `[B, C, H, W]`: `scale * (x - mean) / sqrt(var + eps) + bias`, statistics over H, W.

    Raises:
        ShapeError: if the shapes do not agree.

    Example:
        >>> y = adaptive_instance_norm(torch.randn(2, 4, 8, 8), torch.ones(2, 4), torch.zeros(2, 4))
    """
    if x.ndim != 4:
        raise ShapeError(f"adaptive_instance_norm: x must be [B, C, H, W], got {tuple(x.shape)}")
    b, c = x.shape[:2]
    if scale.shape != (b, c) or bias.shape != (b, c):
        raise ShapeError(
            f"adaptive_instance_norm: scale/bias must be [{b}, {c}], got {tuple(scale.shape)} and {tuple(bias.shape)}"
        )
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    normalized = (x - mean) * torch.rsqrt(var + eps)
    return normalized * scale[:, :, None, None] + bias[:, :, None, None]


class AdaIN(nn.Module):
    """AdaIN driven by a style vector: a linear layer predicts (scale, bias) per channel.

    The scale is predicted as `1 + delta` so a freshly initialized layer is close to plain
    instance normalization.

    Args:
        channels: feature channels C.
        style_dim: length of the style vector.

    Example:
        >>> layer = AdaIN(8, 16)
        >>> y = layer(torch.randn(2, 8, 4, 4), torch.randn(2, 16))
    """

    def __init__(self, channels: int, style_dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.affine = nn.Linear(style_dim, 2 * channels)
        nn.init.zeros_(self.affine.bias)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """x: `[B, C, H, W]`, style: `[B, style_dim]` → `[B, C, H, W]`."""
        if style.ndim != 2 or style.shape[0] != x.shape[0]:
            raise ShapeError(f"AdaIN: style must be [{x.shape[0]}, style_dim], got {tuple(style.shape)}")
        delta, bias = self.affine(style).chunk(2, dim=1)
        return adaptive_instance_norm(x, 1.0 + delta, bias, self.eps)
