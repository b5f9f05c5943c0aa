"""Style-modulated convolution layers of the StyleGAN2 synthesis network.

`ModulatedConv2d` is one synthesis layer: affine style from w, modulated + demodulated 3x3 conv (optionally
2x FIR-upsampling), noise, bias, leaky ReLU with gain and clamp. `ToRGB` is the 1x1 modulated conv
without demodulation that produces the image contribution of a block. Buffer and parameter names are
those of StyleGAN2-ADA's `SynthesisLayer` / `ToRGBLayer` so official weights load unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from gan2d.errors import ShapeError
from gan2d.layers.equalized import FIR_TAPS, EqualLinear
from gan2d.layers.noise import NoiseMode, make_noise
from gan2d.ops.bias_act import DEFAULT_GAIN, Activation, bias_act
from gan2d.ops.modulated_conv2d import modulated_conv2d
from gan2d.ops.upfirdn2d import setup_filter


class ModulatedConv2d(nn.Module):
    """Modulated conv + noise + bias + activation (StyleGAN2 synthesis layer).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        w_dim: Width of the style vector w.
        resolution: Output resolution (also the size of the stored constant noise map).
        kernel_size: Square kernel size.
        up: 1, or 2 for a 2x FIR-upsampling layer.
        use_noise: Hold a noise strength and constant noise map.
        activation: Activation after the bias.
        resample_taps: 1D FIR taps for upsampling.
        conv_clamp: Clamp outputs to +-conv_clamp (times the call's gain); None disables.

    Example:
        >>> layer = ModulatedConv2d(4, 6, w_dim=8, resolution=16, up=2)
        >>> layer(torch.randn(2, 4, 8, 8), torch.randn(2, 8), noise_mode="const").shape
        torch.Size([2, 6, 16, 16])
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, kernel_size: int = 3,
                 up: int = 1, use_noise: bool = True, activation: Activation = "lrelu",
                 resample_taps: Sequence[float] = FIR_TAPS, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.resolution = resolution
        self.up = up
        self.use_noise = use_noise
        self.activation = activation
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_taps))
        self.padding = kernel_size // 2
        self.act_gain = DEFAULT_GAIN[activation]
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: NoiseMode = "random", fused: bool = True,
                gain: float = 1.0) -> torch.Tensor:
        """Apply the layer.

        Args:
            x: `[B, in_channels, resolution // up, resolution // up]` features.
            w: `[B, w_dim]` style vectors.
            noise_mode: "random", "const" or "none".
            fused: Grouped-conv path (True) or activation-scaling path (False); same result.
            gain: Extra output gain (also scales the clamp).

        Returns:
            y: `[B, out_channels, resolution, resolution]`.

        Raises:
            ShapeError: If `x` does not have the expected channels and size.
        """
        in_res = self.resolution // self.up
        if x.ndim != 4 or x.shape[1:] != (self.in_channels, in_res, in_res):
            raise ShapeError(f"expected x: [B, {self.in_channels}, {in_res}, {in_res}], got {tuple(x.shape)}")
        styles = self.affine(w)
        noise = make_noise(noise_mode, self.noise_strength, self.noise_const, x.shape[0]) if self.use_noise else None
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up, padding=self.padding,
                             resample_filter=self.resample_filter, flip_weight=self.up == 1, fused=fused)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias.to(x.dtype), act=self.activation, gain=self.act_gain * gain, clamp=clamp)


class ToRGB(nn.Module):
    """1x1 modulated conv without demodulation, producing a block's image contribution.

    Without demodulation the equalized-lr constant 1/sqrt(fan_in) must be applied, and it goes on the styles.

    Args:
        in_channels: Feature channels.
        out_channels: Image channels.
        w_dim: Width of w.
        kernel_size: Kernel size (1 in StyleGAN2).
        conv_clamp: Clamp the output to +-conv_clamp; None disables.

    Example:
        >>> ToRGB(6, 3, w_dim=8)(torch.randn(2, 6, 4, 4), torch.randn(2, 8)).shape
        torch.Size([2, 3, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, kernel_size: int = 1,
                 conv_clamp: float | None = None) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused: bool = True) -> torch.Tensor:
        """`x: [B, in_channels, H, W]`, `w: [B, w_dim]` → `[B, out_channels, H, W]`."""
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused=fused)
        return bias_act(x, self.bias.to(x.dtype), clamp=self.conv_clamp)
