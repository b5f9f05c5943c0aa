"""StyleGAN2 residual discriminator with minibatch-stddev epilogue and projection conditioning."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from gan2d.errors import ConfigError, ShapeError
from gan2d.layers.equalized import FIR_TAPS, EqualConv2d, EqualLinear
from gan2d.layers.mbstd import MinibatchStd
from gan2d.nets.stylegan2.config import DiscriminatorConfig, channels_at
from gan2d.nets.stylegan2.mapping import MappingNetwork
from gan2d.ops.upfirdn2d import setup_filter

_RESIDUAL_GAIN = math.sqrt(0.5)  # keeps the variance of skip + main branch equal to either alone


class DiscriminatorBlock(nn.Module):
    """Residual block: (FromRGB on the first block) two 3x3 convs, the second downsampling, plus a 1x1 skip.

    Args:
        in_channels: Input feature channels, 0 for the first block (which reads the image).
        tmp_channels: Channels inside the block.
        out_channels: Output channels.
        img_channels: Image channels.
        conv_clamp: Conv output clamp; None disables.
        resample_taps: FIR taps.
    """

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, img_channels: int,
                 conv_clamp: float | None = None, resample_taps: Sequence[float] = FIR_TAPS) -> None:
        super().__init__()
        self.in_channels = in_channels
        # Unused by the math (each conv holds its own copy) but part of the official state-dict layout.
        self.register_buffer("resample_filter", setup_filter(resample_taps))
        if in_channels == 0:
            self.fromrgb = EqualConv2d(img_channels, tmp_channels, 1, activation="lrelu", conv_clamp=conv_clamp)
        self.conv0 = EqualConv2d(tmp_channels, tmp_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = EqualConv2d(tmp_channels, out_channels, 3, activation="lrelu", down=2,
                                 resample_taps=resample_taps, conv_clamp=conv_clamp)
        self.skip = EqualConv2d(tmp_channels, out_channels, 1, bias=False, down=2, resample_taps=resample_taps)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor) -> torch.Tensor:
        """Features `[B, C, r, r]` (or the image for the first block) → `[B, C', r/2, r/2]`."""
        if self.in_channels == 0:
            x = self.fromrgb(img)
        y = self.skip(x, gain=_RESIDUAL_GAIN)
        x = self.conv1(self.conv0(x), gain=_RESIDUAL_GAIN)
        return y + x


class DiscriminatorEpilogue(nn.Module):
    """4x4 head: minibatch stddev, conv, fully connected, output (projected onto the mapped label if conditional)."""

    def __init__(self, in_channels: int, cmap_dim: int, resolution: int, mbstd_group_size: int | None,
                 mbstd_num_channels: int, conv_clamp: float | None) -> None:
        super().__init__()
        self.cmap_dim = cmap_dim
        self.mbstd = MinibatchStd(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        self.conv = EqualConv2d(in_channels + mbstd_num_channels, in_channels, 3, activation="lrelu",
                                conv_clamp=conv_clamp)
        self.fc = EqualLinear(in_channels * resolution**2, in_channels, activation="lrelu")
        self.out = EqualLinear(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x: torch.Tensor, cmap: torch.Tensor | None) -> torch.Tensor:
        """`x: [B, C, 4, 4]`, `cmap: [B, cmap_dim]` or None → logits `[B, 1]`."""
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / math.sqrt(self.cmap_dim))
        return x


class Discriminator(nn.Module):
    """StyleGAN2(-ADA) residual discriminator, official parameter layout (`b256.fromrgb`, …, `b4.out`, `mapping`).

    Args:
        config: Discriminator configuration.

    Example:
        >>> D = Discriminator(DiscriminatorConfig(img_resolution=16, channel_base=128, channel_max=16))
        >>> D(torch.randn(4, 3, 16, 16)).shape
        torch.Size([4, 1])
    """

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        if config.img_resolution < 8:
            raise ConfigError(f"the discriminator needs img_resolution >= 8, got {config.img_resolution}")
        self.config = config
        self.c_dim = config.c_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        self.block_resolutions = [2**i for i in range(config.img_resolution.bit_length() - 1, 2, -1)]
        ch = {res: channels_at(res, config.channel_base, config.channel_max) for res in [*self.block_resolutions, 4]}
        cmap_dim = (ch[4] if config.cmap_dim is None else config.cmap_dim) if config.c_dim > 0 else 0
        for res in self.block_resolutions:
            in_ch = ch[res] if res < config.img_resolution else 0
            block = DiscriminatorBlock(in_ch, ch[res], ch[res // 2], config.img_channels,
                                       conv_clamp=config.conv_clamp, resample_taps=config.resample_taps)
            setattr(self, f"b{res}", block)
        if config.c_dim > 0:
            self.mapping = MappingNetwork(z_dim=0, c_dim=config.c_dim, w_dim=cmap_dim, num_ws=None,
                                          num_layers=config.mapping_layers,
                                          lr_multiplier=config.mapping_lr_multiplier, w_avg_beta=None)
        self.b4 = DiscriminatorEpilogue(ch[4], cmap_dim, 4, config.mbstd_group_size, config.mbstd_num_channels,
                                        config.conv_clamp)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Score images.

        Args:
            img: `[B, img_channels, R, R]` images in [-1, 1].
            c: `[B, c_dim]` labels for a conditional discriminator, else None.

        Returns:
            logits: `[B, 1]`.

        Raises:
            ShapeError: Wrong image shape, or missing labels for a conditional discriminator.
        """
        r = self.img_resolution
        if img.ndim != 4 or img.shape[1:] != (self.img_channels, r, r):
            raise ShapeError(f"img must be [B, {self.img_channels}, {r}, {r}], got {tuple(img.shape)}")
        img = img.to(torch.float32)
        x = None
        for res in self.block_resolutions:
            x = getattr(self, f"b{res}")(x, img)
        cmap = self.mapping(None, c) if self.c_dim > 0 else None
        return self.b4(x, cmap)
