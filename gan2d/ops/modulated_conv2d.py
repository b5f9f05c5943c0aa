"""Modulated / demodulated convolution (StyleGAN2), fused (grouped) and non-fused paths.

Per sample `n`: `w'[n,o,i] = w[o,i] * s[n,i]`, demodulated `w''[n,o] = w'[n,o] / sqrt(sum w'[n,o]^2 + 1e-8)`,
`y[n] = conv(x[n], w''[n]) + noise`. The fused path builds the per-sample weights and runs one grouped
convolution (the batch becomes the groups); the non-fused path scales activations before and after one
shared convolution, which is cheaper during training and gives the same result.
"""

from __future__ import annotations

import torch

from gan2d.errors import ShapeError
from gan2d.ops.conv2d_resample import conv2d_resample
from gan2d.ops.upfirdn2d import Padding

DEMOD_EPS = 1e-8


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    noise: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
    flip_weight: bool = True,
    fused: bool = True,
) -> torch.Tensor:
    """Convolve each sample with the shared weight modulated (and demodulated) by that sample's style.

    Args:
        x: `[B, I, H, W]` input.
        weight: `[O, I, k, k]` shared weight (no equalized-lr gain applied; demodulation makes it scale-free).
        styles: `[B, I]` per-sample input-channel scales.
        noise: Optional noise added after demodulation, broadcastable to `[B, O, H', W']`.
        up: Upsampling factor.
        down: Downsampling factor.
        padding: Padding relative to the upsampled input.
        resample_filter: `[Kh, Kw]` FIR filter used when resampling.
        demodulate: Normalise each output channel's weights to unit norm per sample.
        flip_weight: True = correlation, False = true convolution (official up-convs use False).
        fused: Use the grouped-convolution path; False scales activations instead. Same result.

    Returns:
        y: `[B, O, H', W']`.

    Raises:
        ShapeError: If `x`, `weight`, `styles` shapes disagree.

    Example:
        >>> y = modulated_conv2d(torch.randn(2, 4, 8, 8), torch.randn(6, 4, 3, 3), torch.randn(2, 4), padding=1)
        >>> y.shape
        torch.Size([2, 6, 8, 8])
    """
    if weight.ndim != 4 or x.ndim != 4 or styles.ndim != 2:
        raise ShapeError(f"modulated_conv2d expects x [B,I,H,W], weight [O,I,k,k], styles [B,I]; got "
                         f"{tuple(x.shape)}, {tuple(weight.shape)}, {tuple(styles.shape)}")
    B = x.shape[0]
    O, I, kh, kw = weight.shape
    if x.shape[1] != I or styles.shape != (B, I):
        raise ShapeError(f"x {tuple(x.shape)} / styles {tuple(styles.shape)} do not fit weight {tuple(weight.shape)}")

    w = None
    dcoefs = None
    if demodulate or fused:
        w = weight.unsqueeze(0) * styles.reshape(B, 1, I, 1, 1)
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + DEMOD_EPS).rsqrt()

    if not fused:
        x = x * styles.to(x.dtype).reshape(B, I, 1, 1)
        x = conv2d_resample(x, weight.to(x.dtype), resample_filter, up=up, down=down, padding=padding,
                            flip_weight=flip_weight)
        if demodulate and noise is not None:
            return torch.addcmul(noise.to(x.dtype), x, dcoefs.to(x.dtype).reshape(B, O, 1, 1))
        if demodulate:
            x = x * dcoefs.to(x.dtype).reshape(B, O, 1, 1)
        if noise is not None:
            x = x + noise.to(x.dtype)
        return x

    if demodulate:
        w = w * dcoefs.reshape(B, O, 1, 1, 1)
    x = x.reshape(1, B * I, *x.shape[2:])
    x = conv2d_resample(x, w.reshape(B * O, I, kh, kw).to(x.dtype), resample_filter, up=up, down=down,
                        padding=padding, groups=B, flip_weight=flip_weight)
    x = x.reshape(B, O, *x.shape[2:])
    if noise is not None:
        x = x + noise
    return x
