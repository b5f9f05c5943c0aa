"""ResNet-style image encoder: `[B, C, R, R]` image → `[B, out_dim]` latent code or parameter vector.

Used for inverse graphics (image → shape/pose/light parameters), GAN inversion (image → w), and as
the VAE style encoder of the SPADE generator (out_dim = 2·z_dim for mean and log-variance).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan2d.errors import ConfigError, ShapeError
from gan2d.layers.norms import NormKind, check_norm_kind, make_norm


@dataclass(frozen=True)
class ImageEncoderConfig:
    """Encoder settings.

    Args:
        in_channels: input channels.
        resolution: input side (power of two >= 4); the trunk halves it down to 4×4.
        out_dim: length of the output vector.
        base_channels: channels at full resolution, doubled per stage up to `max_channels`.
        max_channels: channel cap.
        norm: normalization inside residual blocks.
    """

    in_channels: int = 3
    resolution: int = 64
    out_dim: int = 512
    base_channels: int = 32
    max_channels: int = 256
    norm: NormKind = "instance"

    def __post_init__(self) -> None:
        check_norm_kind(self.norm)
        if self.resolution < 4 or self.resolution & (self.resolution - 1):
            raise ConfigError(f"ImageEncoder resolution must be a power of two >= 4, got {self.resolution}")
        if min(self.in_channels, self.out_dim, self.base_channels, self.max_channels) < 1:
            raise ConfigError(f"ImageEncoderConfig values must be positive: {self}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)


class DownResBlock(nn.Module):
    """Pre-activation residual block that halves the resolution: avg-pooled 1×1 shortcut + two 3×3 convs."""

    def __init__(self, cin: int, cout: int, norm: NormKind) -> None:
        super().__init__()
        self.norm0, self.conv0 = make_norm(norm, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm1, self.conv1 = make_norm(norm, cout), nn.Conv2d(cout, cout, 3, padding=1, stride=2)
        self.skip = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`[B, cin, H, W]` → `[B, cout, H/2, W/2]`."""
        h = self.conv0(F.leaky_relu(self.norm0(x), 0.2))
        h = self.conv1(F.leaky_relu(self.norm1(h), 0.2))
        return (h + self.skip(F.avg_pool2d(x, 2))) / 2**0.5


class ImageEncoder(nn.Module):
    """Stem conv, one `DownResBlock` per halving down to 4×4, then a linear head.

    Example:
        >>> enc = ImageEncoder(ImageEncoderConfig(resolution=16, out_dim=10, base_channels=8))
        >>> enc(torch.randn(2, 3, 16, 16)).shape
        torch.Size([2, 10])
    """

    def __init__(self, config: ImageEncoderConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or ImageEncoderConfig()
        stages = c.resolution.bit_length() - 3  # halvings from resolution down to 4
        widths = [min(c.base_channels * 2**i, c.max_channels) for i in range(stages + 1)]
        self.stem = nn.Conv2d(c.in_channels, widths[0], 3, padding=1)
        self.blocks = nn.Sequential(*(DownResBlock(widths[i], widths[i + 1], c.norm) for i in range(stages)))
        self.head = nn.Linear(widths[-1] * 16, c.out_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images: `[B, in_channels, R, R]` → `[B, out_dim]`."""
        r, ch = self.config.resolution, self.config.in_channels
        if images.ndim != 4 or images.shape[1:] != (ch, r, r):
            raise ShapeError(f"ImageEncoder: images must be [B, {ch}, {r}, {r}], got {tuple(images.shape)}")
        h = self.blocks(self.stem(images))
        return self.head(F.leaky_relu(h, 0.2).flatten(1))
