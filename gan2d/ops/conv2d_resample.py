"""2D convolution with FIR up/downsampling, padding applied once at the start.

`conv2d_resample_reference` is the definition: FIR-upsample (with padding), convolve, FIR-downsample.
`conv2d_resample` takes the cheaper route StyleGAN2-ADA takes for each case (transposed strided conv
for upsampling, strided conv for downsampling, resampling on the cheaper side of a 1x1 conv), so it
matches both the reference and the official op's arithmetic order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan2d.errors import ConfigError, ShapeError
from gan2d.ops.upfirdn2d import Padding, parse_padding, upfirdn2d


def _conv(x: torch.Tensor, w: torch.Tensor, stride: int = 1, padding: tuple[int, int] = (0, 0), groups: int = 1,
          transpose: bool = False, flip_weight: bool = True) -> torch.Tensor:
    # torch's conv2d is a correlation; flip_weight=False asks for a true convolution.
    if not flip_weight and (w.shape[2] > 1 or w.shape[3] > 1):
        w = w.flip([2, 3])
    if transpose:
        return F.conv_transpose2d(x, w, stride=stride, padding=padding, groups=groups)
    return F.conv2d(x, w, stride=stride, padding=padding, groups=groups)


def _prepare(x: torch.Tensor, w: torch.Tensor, f: torch.Tensor | None, up: int, down: int, groups: int,
             padding: Padding) -> list[int]:
    if x.ndim != 4 or w.ndim != 4:
        raise ShapeError(f"conv2d_resample expects x: [B, C, H, W] and w: [O, C/groups, k, k], got "
                         f"{tuple(x.shape)} and {tuple(w.shape)}")
    if x.shape[1] != w.shape[1] * groups:
        raise ShapeError(f"x has {x.shape[1]} channels but w expects {w.shape[1] * groups} (groups={groups})")
    if up < 1 or down < 1:
        raise ConfigError(f"up and down must be >= 1, got up={up}, down={down}")
    if (up > 1 or down > 1) and f is None:
        raise ConfigError("resampling needs a FIR filter f")
    px0, px1, py0, py1 = parse_padding(padding)
    fh, fw = f.shape if f is not None else (1, 1)
    if up > 1:
        px0, px1 = px0 + (fw + up - 1) // 2, px1 + (fw - up) // 2
        py0, py1 = py0 + (fh + up - 1) // 2, py1 + (fh - up) // 2
    if down > 1:
        px0, px1 = px0 + (fw - down + 1) // 2, px1 + (fw - down) // 2
        py0, py1 = py0 + (fh - down + 1) // 2, py1 + (fh - down) // 2
    return [px0, px1, py0, py1]


def conv2d_resample_reference(
    x: torch.Tensor,
    w: torch.Tensor,
    f: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    groups: int = 1,
    flip_weight: bool = True,
) -> torch.Tensor:
    """Reference: FIR-upsample and pad, convolve, FIR-downsample (same arguments as `conv2d_resample`)."""
    px0, px1, py0, py1 = _prepare(x, w, f, up, down, groups, padding)
    pad = [px0, px1, py0, py1]
    x = upfirdn2d(x, f, up=up, padding=pad, gain=up * up) if up > 1 else F.pad(x, pad)
    x = _conv(x, w, groups=groups, flip_weight=flip_weight)
    if down > 1:
        x = upfirdn2d(x, f, down=down)
    return x


def conv2d_resample(
    x: torch.Tensor,
    w: torch.Tensor,
    f: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    groups: int = 1,
    flip_weight: bool = True,
) -> torch.Tensor:
    """2D convolution with optional FIR up/downsampling.

    Args:
        x: `[B, C, H, W]` input.
        w: `[O, C // groups, kh, kw]` weight.
        f: `[Kh, Kw]` FIR filter for resampling (required when `up > 1` or `down > 1`).
        up: Upsampling factor (applied before the convolution).
        down: Downsampling factor (applied after the convolution).
        padding: Padding relative to the upsampled input, `int`, `[x, y]` or `[x0, x1, y0, y1]`.
        groups: Convolution groups.
        flip_weight: True = correlation (like `torch.nn.functional.conv2d`), False = true convolution.

    Returns:
        y: `[B, O, H', W']`; for `padding = k // 2`, `H' = H * up // down`.

    Raises:
        ShapeError: If shapes do not fit.
        ConfigError: If resampling is asked for without a filter.

    Example:
        >>> from gan2d.ops.upfirdn2d import setup_filter
        >>> f = setup_filter([1, 3, 3, 1])
        >>> conv2d_resample(torch.randn(1, 4, 8, 8), torch.randn(5, 4, 3, 3), f, up=2, padding=1).shape
        torch.Size([1, 5, 16, 16])
    """
    px0, px1, py0, py1 = _prepare(x, w, f, up, down, groups, padding)
    out_c, in_per_group, kh, kw = w.shape
    if kh == 1 and kw == 1 and down > 1 and up == 1:
        x = upfirdn2d(x, f, down=down, padding=[px0, px1, py0, py1])
        return _conv(x, w, groups=groups, flip_weight=flip_weight)
    if kh == 1 and kw == 1 and up > 1 and down == 1:
        x = _conv(x, w, groups=groups, flip_weight=flip_weight)
        return upfirdn2d(x, f, up=up, padding=[px0, px1, py0, py1], gain=up * up)
    if down > 1 and up == 1:
        x = upfirdn2d(x, f, padding=[px0, px1, py0, py1])
        return _conv(x, w, stride=down, groups=groups, flip_weight=flip_weight)
    if up > 1:
        # A transposed conv with stride `up` is zero insertion + convolution; the FIR filter follows.
        if groups == 1:
            w = w.transpose(0, 1)
        else:
            w = w.reshape(groups, out_c // groups, in_per_group, kh, kw).transpose(1, 2)
            w = w.reshape(groups * in_per_group, out_c // groups, kh, kw)
        px0, px1, py0, py1 = px0 - (kw - 1), px1 - (kw - up), py0 - (kh - 1), py1 - (kh - up)
        pxt, pyt = max(min(-px0, -px1), 0), max(min(-py0, -py1), 0)
        x = _conv(x, w, stride=up, padding=(pyt, pxt), groups=groups, transpose=True, flip_weight=not flip_weight)
        x = upfirdn2d(x, f, padding=[px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt], gain=up * up)
        return upfirdn2d(x, f, down=down) if down > 1 else x
    if px0 == px1 and py0 == py1 and px0 >= 0 and py0 >= 0:
        return _conv(x, w, padding=(py0, px0), groups=groups, flip_weight=flip_weight)
    return _conv(F.pad(x, [px0, px1, py0, py1]), w, groups=groups, flip_weight=flip_weight)
