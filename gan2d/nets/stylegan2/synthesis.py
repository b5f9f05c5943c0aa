"""StyleGAN2 synthesis network, skip architecture: learned 4x4 constant, two modulated convs per block,
a ToRGB per block whose output is added to the FIR-upsampled image of the previous block."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from gan2d.errors import ShapeError
from gan2d.layers.equalized import FIR_TAPS
from gan2d.layers.modulated import ModulatedConv2d, ToRGB
from gan2d.layers.noise import NoiseMode
from gan2d.nets.stylegan2.config import GeneratorConfig, channels_at
from gan2d.ops.upfirdn2d import setup_filter, upsample2d


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network (names match StyleGAN2-ADA's `SynthesisBlock`).

    Args:
        in_channels: Channels from the previous block, 0 for the first (4x4 constant) block.
        out_channels: Channels of this block.
        w_dim: Style width.
        resolution: Output resolution of this block.
        img_channels: Image channels.
        use_noise: Noise inputs in the convs.
        conv_clamp: Conv output clamp; None disables.
        resample_taps: FIR taps.
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 use_noise: bool = True, conv_clamp: float | None = None,
                 resample_taps: Sequence[float] = FIR_TAPS) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.resolution = resolution
        self.img_channels = img_channels
        self.register_buffer("resample_filter", setup_filter(resample_taps))
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = ModulatedConv2d(in_channels, out_channels, w_dim, resolution, up=2, use_noise=use_noise,
                                         resample_taps=resample_taps, conv_clamp=conv_clamp)
        self.conv1 = ModulatedConv2d(out_channels, out_channels, w_dim, resolution, use_noise=use_noise,
                                     resample_taps=resample_taps, conv_clamp=conv_clamp)
        self.torgb = ToRGB(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2
        self.num_torgb = 1

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor, noise_mode: NoiseMode,
                fused: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """`ws: [B, num_conv + 1, w_dim]`; returns features `[B, C, r, r]` and image `[B, img_channels, r, r]`."""
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
        else:
            x = self.conv0(x, next(w_iter), noise_mode=noise_mode, fused=fused)
        x = self.conv1(x, next(w_iter), noise_mode=noise_mode, fused=fused)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        y = self.torgb(x, next(w_iter), fused=fused)
        img = img + y if img is not None else y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws `[B, num_ws, w_dim]` → image `[B, img_channels, R, R]`; blocks are attributes `b4`, `b8`, …, `bR`.

    Args:
        config: Generator configuration.

    Example:
        >>> cfg = GeneratorConfig(img_resolution=8, z_dim=8, w_dim=8, channel_base=64, channel_max=8)
        >>> SynthesisNetwork(cfg)(torch.randn(2, cfg.num_ws, 8), noise_mode="const").shape
        torch.Size([2, 3, 8, 8])
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.w_dim = config.w_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        self.block_resolutions = [2**i for i in range(2, config.img_resolution.bit_length())]
        self.num_ws = config.num_ws
        for res in self.block_resolutions:
            in_ch = channels_at(res // 2, config.channel_base, config.channel_max) if res > 4 else 0
            out_ch = channels_at(res, config.channel_base, config.channel_max)
            block = SynthesisBlock(in_ch, out_ch, config.w_dim, res, config.img_channels, use_noise=config.use_noise,
                                   conv_clamp=config.conv_clamp, resample_taps=config.resample_taps)
            setattr(self, f"b{res}", block)

    def forward(self, ws: torch.Tensor, noise_mode: NoiseMode = "random", fused_modconv: bool | None = None
                ) -> torch.Tensor:
        """Render images from per-layer styles.

        Args:
            ws: `[B, num_ws, w_dim]` styles (w+ space; the mapping broadcasts one w to all).
            noise_mode: "random", "const" or "none".
            fused_modconv: Override the config's choice of modulated-conv path (same result either way).

        Returns:
            img: `[B, img_channels, R, R]`, nominally in [-1, 1].

        Raises:
            ShapeError: If `ws` is not `[B, num_ws, w_dim]`.
        """
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ShapeError(f"ws must be [B, {self.num_ws}, {self.w_dim}], got {tuple(ws.shape)}")
        fused = fused_modconv if fused_modconv is not None else self.config.fused_modconv
        if fused is None:
            fused = not self.training
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            # Consecutive blocks share one w: a block's ToRGB style is the next block's first conv style.
            x, img = block(x, img, ws.narrow(1, w_idx, block.num_conv + block.num_torgb), noise_mode, fused)
            w_idx += block.num_conv
        return img
