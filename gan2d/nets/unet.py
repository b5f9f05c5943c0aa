"""U-Net (Ronneberger et al. 2015) image-to-image network with skip connections, output tanh in [-1, 1]."""

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
class UNetConfig:
    """U-Net settings.

    Args:
        in_channels: input channels (image, G-buffers, labels...).
        out_channels: output image channels.
        base_channels: channels at full resolution, doubled per level up to `max_channels`.
        max_channels: channel cap.
        depth: number of 2× downsamplings; input sides must be divisible by 2**depth.
        norm: normalization inside the conv blocks.
    """

    in_channels: int = 3
    out_channels: int = 3
    base_channels: int = 32
    max_channels: int = 256
    depth: int = 4
    norm: NormKind = "instance"

    def __post_init__(self) -> None:
        check_norm_kind(self.norm)
        if min(self.in_channels, self.out_channels, self.base_channels, self.max_channels, self.depth) < 1:
            raise ConfigError(f"UNetConfig values must be positive: {self}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)


def _block(cin: int, cout: int, norm: NormKind) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), make_norm(norm, cout), nn.LeakyReLU(0.2),
        nn.Conv2d(cout, cout, 3, padding=1), make_norm(norm, cout), nn.LeakyReLU(0.2),
    )  # fmt: skip


class UNet(nn.Module):
    """Encoder of conv blocks and strided downsamplings, decoder that upsamples and concatenates the skips.

    Example:
        >>> net = UNet(UNetConfig(in_channels=4, base_channels=8, depth=2))
        >>> net(torch.randn(1, 4, 16, 16)).shape
        torch.Size([1, 3, 16, 16])
    """

    def __init__(self, config: UNetConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or UNetConfig()
        widths = [min(c.base_channels * 2**i, c.max_channels) for i in range(c.depth + 1)]
        self.stem = _block(c.in_channels, widths[0], c.norm)
        self.down = nn.ModuleList(nn.Conv2d(widths[i], widths[i], 4, stride=2, padding=1) for i in range(c.depth))
        self.enc = nn.ModuleList(_block(widths[i], widths[i + 1], c.norm) for i in range(c.depth))
        self.dec = nn.ModuleList(_block(widths[i + 1] + widths[i], widths[i], c.norm) for i in reversed(range(c.depth)))
        self.out = nn.Conv2d(widths[0], c.out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: `[B, in_channels, H, W]` (H, W divisible by 2**depth) → `[B, out_channels, H, W]` in [-1, 1]."""
        m = 2**self.config.depth
        if x.ndim != 4 or x.shape[1] != self.config.in_channels or x.shape[2] % m or x.shape[3] % m:
            raise ShapeError(
                f"UNet: need [B, {self.config.in_channels}, H, W], H and W divisible by {m}; got {tuple(x.shape)}"
            )
        if self.config.norm == "instance" and min(x.shape[2:]) < 2 * m:
            raise ShapeError(
                f"UNet: input {tuple(x.shape[2:])} leaves a 1-pixel bottleneck at depth {self.config.depth}"
            )
        h = self.stem(x)
        skips = [h]
        for down, enc in zip(self.down, self.enc, strict=True):
            h = enc(down(h))
            skips.append(h)
        skips.pop()
        for dec in self.dec:
            skip = skips.pop()
            h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = dec(torch.cat([h, skip], dim=1))
        return torch.tanh(self.out(h))
