"""pix2pixHD generator (Wang et al. 2018): a global residual generator plus an optional local enhancer.

The global generator (downsample, residual blocks, upsample) works at half resolution when a
local enhancer is used; the enhancer encodes the full-resolution input, adds the global
generator's last features, refines them with its own residual blocks and renders the output.
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
class Pix2PixHDConfig:
    """Generator settings (pix2pixHD defaults: 64 channels, 4 downsamplings, 9 blocks).

    Args:
        in_channels: input channels (label map, G-buffers, coarse render).
        out_channels: output image channels.
        base_channels: channels of the outermost layer (the global generator uses twice this with an enhancer).
        max_channels: channel cap of the global generator.
        num_downsampling: stride-2 stages of the global generator.
        num_blocks: residual blocks of the global generator.
        local_enhancer: add the full-resolution local enhancer.
        num_local_blocks: residual blocks of the enhancer.
        norm: normalization ("instance" in pix2pixHD).
    """

    in_channels: int = 3
    out_channels: int = 3
    base_channels: int = 64
    max_channels: int = 1024
    num_downsampling: int = 4
    num_blocks: int = 9
    local_enhancer: bool = False
    num_local_blocks: int = 3
    norm: NormKind = "instance"

    def __post_init__(self) -> None:
        check_norm_kind(self.norm)
        if min(self.in_channels, self.out_channels, self.base_channels, self.max_channels, self.num_downsampling) < 1:
            raise ConfigError(f"Pix2PixHDConfig values must be positive: {self}")
        if self.num_blocks < 0 or self.num_local_blocks < 0:
            raise ConfigError("num_blocks and num_local_blocks must be >= 0")

    @property
    def size_multiple(self) -> int:
        """Input sides must be divisible by this."""
        return 2 ** (self.num_downsampling + (1 if self.local_enhancer else 0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)


class ResnetBlock(nn.Module):
    """Reflect-padded 3×3 conv, norm, ReLU, 3×3 conv, norm, plus the identity."""

    def __init__(self, channels: int, norm: NormKind) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), make_norm(norm, channels), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), make_norm(norm, channels),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`[B, C, H, W]` → same."""
        return x + self.body(x)


def _in_conv(cin: int, cout: int, norm: NormKind) -> list[nn.Module]:
    return [nn.ReflectionPad2d(3), nn.Conv2d(cin, cout, 7), make_norm(norm, cout), nn.ReLU()]


def _out_conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d(3), nn.Conv2d(cin, cout, 7), nn.Tanh()]


def _up(cin: int, cout: int, norm: NormKind) -> list[nn.Module]:
    return [nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1), make_norm(norm, cout), nn.ReLU()]


def _down(cin: int, cout: int, norm: NormKind) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride=2, padding=1), make_norm(norm, cout), nn.ReLU()]


class Pix2PixHDGenerator(nn.Module):
    """Global generator, optionally wrapped by one local enhancer.

    Example:
        >>> cfg = Pix2PixHDConfig(base_channels=8, num_downsampling=2, num_blocks=1, local_enhancer=True)
        >>> Pix2PixHDGenerator(cfg)(torch.randn(1, 3, 32, 32)).shape
        torch.Size([1, 3, 32, 32])
    """

    def __init__(self, config: Pix2PixHDConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or Pix2PixHDConfig()
        ngf = c.base_channels * (2 if c.local_enhancer else 1)
        widths = [min(ngf * 2**i, c.max_channels) for i in range(c.num_downsampling + 1)]
        trunk: list[nn.Module] = _in_conv(c.in_channels, widths[0], c.norm)
        for i in range(c.num_downsampling):
            trunk += _down(widths[i], widths[i + 1], c.norm)
        trunk += [ResnetBlock(widths[-1], c.norm) for _ in range(c.num_blocks)]
        for i in reversed(range(c.num_downsampling)):
            trunk += _up(widths[i + 1], widths[i], c.norm)
        self.global_trunk = nn.Sequential(*trunk)
        if c.local_enhancer:
            self.local_down = nn.Sequential(*_in_conv(c.in_channels, c.base_channels, c.norm),
                                            *_down(c.base_channels, ngf, c.norm))  # fmt: skip
            self.local_up = nn.Sequential(
                *(ResnetBlock(ngf, c.norm) for _ in range(c.num_local_blocks)),
                *_up(ngf, c.base_channels, c.norm),
                *_out_conv(c.base_channels, c.out_channels),
            )
        else:
            self.global_out = nn.Sequential(*_out_conv(widths[0], c.out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: `[B, in_channels, H, W]` (sides divisible by `config.size_multiple`) → `[B, out_channels, H, W]`."""
        c, m = self.config, self.config.size_multiple
        if x.ndim != 4 or x.shape[1] != c.in_channels or x.shape[2] % m or x.shape[3] % m:
            raise ShapeError(
                f"Pix2PixHDGenerator: need [B, {c.in_channels}, H, W] with H, W divisible by {m}, got {tuple(x.shape)}"
            )
        if c.norm == "instance" and min(x.shape[2:]) < 2 * m:
            raise ShapeError(f"Pix2PixHDGenerator: input {tuple(x.shape[2:])} leaves a 1-pixel bottleneck")
        if not c.local_enhancer:
            return self.global_out(self.global_trunk(x))
        coarse = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        return self.local_up(self.local_down(x) + self.global_trunk(coarse))
