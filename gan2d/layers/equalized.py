"""Equalized-learning-rate layers: weights stored as N(0, 1) and scaled at run time by 1/sqrt(fan_in).

Storing unit-variance weights and applying the He constant in `forward` makes Adam's per-parameter
step sizes comparable across layers (Karras et al. 2018). `lr_multiplier` scales both the stored init
and the run-time gain, so the effective learning rate of a layer is multiplied by it (the mapping
network uses 0.01). Parameter names and init match StyleGAN2-ADA's `FullyConnectedLayer` and
`Conv2dLayer`, so official state dicts load unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from gan2d.ops.bias_act import DEFAULT_GAIN, Activation, bias_act
from gan2d.ops.conv2d_resample import conv2d_resample
from gan2d.ops.upfirdn2d import setup_filter

FIR_TAPS: tuple[float, ...] = (1.0, 3.0, 3.0, 1.0)


class EqualLinear(nn.Module):
    """Fully connected layer with equalized learning rate.

    Args:
        in_features: Input width.
        out_features: Output width.
        bias: Learn an additive bias.
        activation: "linear", "relu" or "lrelu" (with its default gain).
        lr_multiplier: Learning-rate multiplier for weight and bias.
        bias_init: Initial bias value (affine style layers start at 1 so modulation starts neutral).

    Example:
        >>> EqualLinear(8, 4, activation="lrelu")(torch.randn(2, 8)).shape
        torch.Size([2, 4])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: Activation = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x: [B, in_features]` → `[B, out_features]`."""
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, activation={self.activation}, lr_mul={self.bias_gain}"


class EqualConv2d(nn.Module):
    """2D convolution with equalized learning rate, optional FIR up/downsampling, bias, activation, clamp.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size (padding keeps the size, before resampling).
        bias: Learn an additive bias.
        activation: "linear", "relu" or "lrelu".
        up: Upsampling factor (1 or 2).
        down: Downsampling factor (1 or 2).
        resample_taps: 1D FIR taps for resampling.
        conv_clamp: Clamp outputs to +-conv_clamp (scaled by the call's gain); None disables.

    Example:
        >>> EqualConv2d(3, 8, 3, activation="lrelu", down=2)(torch.randn(1, 3, 16, 16)).shape
        torch.Size([1, 8, 8, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: Activation = "linear", up: int = 1, down: int = 1,
                 resample_taps: Sequence[float] = FIR_TAPS, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.activation = activation
        self.up = up
        self.down = down
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_taps))
        self.padding = kernel_size // 2
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size**2)
        self.act_gain = DEFAULT_GAIN[activation]
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        """`x: [B, in_channels, H, W]` → `[B, out_channels, H*up/down, W*up/down]`; `gain` scales output and clamp."""
        w = self.weight * self.weight_gain
        b = self.bias.to(x.dtype) if self.bias is not None else None
        # A true convolution when upsampling matches the official op's transposed-conv weight layout.
        x = conv2d_resample(x, w.to(x.dtype), self.resample_filter, up=self.up, down=self.down, padding=self.padding,
                            flip_weight=self.up == 1)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, b, act=self.activation, gain=self.act_gain * gain, clamp=clamp)
