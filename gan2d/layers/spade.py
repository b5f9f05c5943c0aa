"""SPADE (Park et al. 2019): parameter-free normalization modulated per pixel by a label / G-buffer map.

The map (a one-hot semantic layout, or rendered buffers such as depth, normals and coarse color) is
resized to the feature resolution and a small conv net predicts a per-pixel γ and β from it, so
spatial layout survives normalization instead of being washed out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from gan2d.errors import ConfigError, ShapeError
from gan2d.layers.norms import NormKind, check_norm_kind, make_norm


def spade_modulate(normalized: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Apply SPADE's per-pixel affine map `normalized * (1 + gamma) + beta`.

    Args:
        normalized: `[B, C, H, W]` parameter-free normalized features.
        gamma: `[B, C, H, W]` predicted scale offset (0 means identity).
        beta: `[B, C, H, W]` predicted shift.

    Returns:
        `[B, C, H, W]`.

    Example:
        >>> y = spade_modulate(torch.randn(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4))
    """
    if gamma.shape != normalized.shape or beta.shape != normalized.shape:
        raise ShapeError(
            f"spade_modulate: gamma/beta {tuple(gamma.shape)}/{tuple(beta.shape)} must match "
            f"features {tuple(normalized.shape)}"
        )
    return normalized * (1.0 + gamma) + beta


def resize_label_map(label: torch.Tensor, size: tuple[int, int], mode: Literal["nearest", "bilinear"]) -> torch.Tensor:
    """Resize a `[B, L, H, W]` label / G-buffer map to `size` = (h, w).

    "nearest" keeps one-hot labels one-hot; "bilinear" suits continuous buffers (depth, normals).
    """
    if label.shape[-2:] == size:
        return label
    if mode == "nearest":
        return F.interpolate(label, size=size, mode="nearest")
    return F.interpolate(label, size=size, mode="bilinear", align_corners=False)


@dataclass(frozen=True)
class SPADEConfig:
    """Settings of one SPADE layer.

    Args:
        norm: the parameter-free normalization ("instance" or "batch"; "none" skips normalizing).
        hidden_channels: width of the shared conv that embeds the label map.
        kernel_size: kernel of the label-embedding convs (odd).
        resize_mode: how the label map is resized to the feature size.
    """

    norm: NormKind = "instance"
    hidden_channels: int = 128
    kernel_size: int = 3
    resize_mode: Literal["nearest", "bilinear"] = "nearest"

    def __post_init__(self) -> None:
        check_norm_kind(self.norm)
        if self.kernel_size % 2 != 1 or self.kernel_size < 1:
            raise ConfigError(f"SPADE kernel_size must be odd and positive, got {self.kernel_size}")
        if self.hidden_channels <= 0:
            raise ConfigError(f"SPADE hidden_channels must be positive, got {self.hidden_channels}")
        if self.resize_mode not in ("nearest", "bilinear"):
            raise ConfigError(f"SPADE resize_mode must be 'nearest' or 'bilinear', got {self.resize_mode!r}")


class SPADE(nn.Module):
    """Spatially-adaptive normalization.

    Args:
        channels: channels C of the features being normalized.
        label_channels: channels L of the label / G-buffer map.
        config: layer settings.

    Example:
        >>> spade = SPADE(16, 3)
        >>> y = spade(torch.randn(2, 16, 8, 8), torch.randn(2, 3, 32, 32))
        >>> y.shape
        torch.Size([2, 16, 8, 8])
    """

    def __init__(self, channels: int, label_channels: int, config: SPADEConfig | None = None) -> None:
        super().__init__()
        self.config = config or SPADEConfig()
        if label_channels <= 0:
            raise ConfigError(f"SPADE label_channels must be positive, got {label_channels}")
        self.label_channels = label_channels
        k, hidden = self.config.kernel_size, self.config.hidden_channels
        self.norm = make_norm(self.config.norm, channels, affine=False)
        self.shared = nn.Sequential(nn.Conv2d(label_channels, hidden, k, padding=k // 2), nn.ReLU())
        self.to_gamma = nn.Conv2d(hidden, channels, k, padding=k // 2)
        self.to_beta = nn.Conv2d(hidden, channels, k, padding=k // 2)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """x: `[B, C, H, W]`, label: `[B, L, H', W']` (any size) → `[B, C, H, W]`."""
        if label.ndim != 4 or label.shape[0] != x.shape[0] or label.shape[1] != self.label_channels:
            raise ShapeError(
                f"SPADE: label map must be [{x.shape[0]}, {self.label_channels}, H, W], got {tuple(label.shape)}"
            )
        label = resize_label_map(label, tuple(x.shape[-2:]), self.config.resize_mode)
        embedded = self.shared(label)
        return spade_modulate(self.norm(x), self.to_gamma(embedded), self.to_beta(embedded))
