"""FIR resampling of 2D images: upsample (zero insertion), pad, filter, downsample.

The semantics follow `scipy.signal.upfirdn` applied along both image axes and the StyleGAN2-ADA op of
the same name, so filters and padding taken from official checkpoints mean the same thing here.
`upfirdn2d_reference` spells the definition out step by step; `upfirdn2d` computes the same result
without materialising the zero-inserted image (transposed convolution) or the discarded samples
(strided convolution). Both support gradients of any order, which R1 and path-length need.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from gan2d.errors import ConfigError, ShapeError

Padding = int | Sequence[int]


def setup_filter(
    taps: Sequence[float] | torch.Tensor,
    normalize: bool = True,
    flip_filter: bool = False,
    gain: float = 1.0,
) -> torch.Tensor:
    """Build a 2D FIR filter from separable 1D taps (or take a 2D filter as is).

    Args:
        taps: `[K]` taps (turned into their outer product) or a `[Kh, Kw]` filter.
        normalize: Scale so the filter sums to 1 (keeps a constant image's magnitude).
        flip_filter: Flip the filter along both axes.
        gain: Overall signal gain.

    Returns:
        f: `[Kh, Kw]` float32 filter.

    Raises:
        ConfigError: If the taps are empty or not 1D/2D.

    Example:
        >>> setup_filter([1, 3, 3, 1]).sum().item()
        1.0
    """
    f = torch.as_tensor(taps, dtype=torch.float32).clone()
    if f.numel() == 0 or f.ndim not in (1, 2):
        raise ConfigError(f"FIR filter must be non-empty 1D taps or a 2D kernel, got shape {tuple(f.shape)}")
    if f.ndim == 1:
        f = torch.outer(f, f)
    if normalize:
        f = f / f.sum()
    if flip_filter:
        f = f.flip([0, 1])
    return f * gain


def parse_padding(padding: Padding) -> tuple[int, int, int, int]:
    """Normalise padding to `(x0, x1, y0, y1)`; accepts an int, `[x, y]` or `[x0, x1, y0, y1]`."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    p = [int(v) for v in padding]
    if len(p) == 2:
        return p[0], p[0], p[1], p[1]
    if len(p) == 4:
        return p[0], p[1], p[2], p[3]
    raise ConfigError(f"padding must be an int, [x, y] or [x0, x1, y0, y1], got {padding!r}")


def _validate(x: torch.Tensor, f: torch.Tensor, up: int, down: int) -> None:
    if x.ndim != 4:
        raise ShapeError(f"upfirdn2d expects x: [B, C, H, W], got shape {tuple(x.shape)}")
    if f.ndim != 2:
        raise ShapeError(f"upfirdn2d expects a 2D filter f: [Kh, Kw], got shape {tuple(f.shape)}")
    if up < 1 or down < 1:
        raise ConfigError(f"up and down must be >= 1, got up={up}, down={down}")


def _out_size(size: int, up: int, down: int, p0: int, p1: int, k: int) -> int:
    return (size * up + p0 + p1 - k) // down + 1


def upfirdn2d_reference(
    x: torch.Tensor,
    f: torch.Tensor,
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1.0,
) -> torch.Tensor:
    """Reference upfirdn2d: insert zeros, pad (negative crops), convolve with `f`, keep every `down`-th pixel.

    Args:
        x: `[B, C, H, W]` images.
        f: `[Kh, Kw]` FIR filter (see `setup_filter`).
        up: Upsampling factor (inserts `up - 1` zeros after every pixel).
        down: Downsampling factor.
        padding: Padding of the upsampled image, `int`, `[x, y]` or `[x0, x1, y0, y1]`.
        flip_filter: False = true convolution, True = correlation.
        gain: Signal gain applied to the filter.

    Returns:
        y: `[B, C, (H*up + py0 + py1 - Kh) // down + 1, (W*up + px0 + px1 - Kw) // down + 1]`.

    Raises:
        ShapeError: If `x` is not 4D or `f` is not 2D.
    """
    _validate(x, f, up, down)
    px0, px1, py0, py1 = parse_padding(padding)
    B, C, H, W = x.shape
    x = x.reshape(B, C, H, 1, W, 1)
    x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(B, C, H * up, W * up)
    x = F.pad(x, [px0, px1, py0, py1])
    k = (f * gain).to(x.dtype)
    if not flip_filter:
        k = k.flip([0, 1])
    x = F.conv2d(x, k[None, None].repeat(C, 1, 1, 1), groups=C)
    return x[:, :, ::down, ::down]


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor,
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    flip_filter: bool = False,
    gain: float = 1.0,
) -> torch.Tensor:
    """Fast upfirdn2d, equal to `upfirdn2d_reference` (same arguments and result shape).

    Upsampling runs as one strided transposed convolution (no zero-inserted image), downsampling as a
    strided convolution (no discarded samples), so the work is proportional to the output size.

    Args:
        x: `[B, C, H, W]` images.
        f: `[Kh, Kw]` FIR filter.
        up: Upsampling factor.
        down: Downsampling factor.
        padding: Padding of the upsampled image, `int`, `[x, y]` or `[x0, x1, y0, y1]`.
        flip_filter: False = true convolution, True = correlation.
        gain: Signal gain applied to the filter.

    Returns:
        y: `[B, C, H', W']`, the shape `upfirdn2d_reference` documents.

    Raises:
        ShapeError: If `x` is not 4D or `f` is not 2D.

    Example:
        >>> f = setup_filter([1, 3, 3, 1])
        >>> upfirdn2d(torch.ones(1, 1, 4, 4), f, up=2, padding=[2, 1, 2, 1], gain=4).shape
        torch.Size([1, 1, 8, 8])
    """
    _validate(x, f, up, down)
    px0, px1, py0, py1 = parse_padding(padding)
    _, C, H, W = x.shape
    kh, kw = f.shape
    k = (f * gain).to(x.dtype)
    out_h = _out_size(H, up, down, py0, py1, kh)
    out_w = _out_size(W, up, down, px0, px1, kw)
    if out_h <= 0 or out_w <= 0:
        raise ShapeError(f"upfirdn2d output would be empty for input {H}x{W} with this padding and filter")
    if up == 1:
        # Correlating with the flipped filter is the convolution the definition asks for.
        weight = (k if flip_filter else k.flip([0, 1]))[None, None].repeat(C, 1, 1, 1)
        x = F.pad(x, [px0, px1, py0, py1])
        return F.conv2d(x, weight, stride=down, groups=C)
    # conv_transpose2d(stride=up) is zero insertion followed by a full true convolution; its sample n
    # is the definition's output sample n - (K - 1 - p0), so crop or pad by that offset.
    weight = (k.flip([0, 1]) if flip_filter else k)[None, None].repeat(C, 1, 1, 1)
    y = F.conv_transpose2d(x, weight, stride=up, groups=C)
    full_h, full_w = y.shape[2], y.shape[3]
    y0, x0 = kh - 1 - py0, kw - 1 - px0
    span_h, span_w = (out_h - 1) * down + 1, (out_w - 1) * down + 1
    y = F.pad(y, [-x0, x0 + span_w - full_w, -y0, y0 + span_h - full_h])
    return y[:, :, ::down, ::down] if down > 1 else y


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """Upsample by `up` with FIR filter `f`, output exactly `up` times larger: `[B, C, H*up, W*up]`."""
    kh, kw = f.shape
    p = [(kw + up - 1) // 2, (kw - up) // 2, (kh + up - 1) // 2, (kh - up) // 2]
    return upfirdn2d(x, f, up=up, padding=p, gain=up * up)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2) -> torch.Tensor:
    """Downsample by `down` with FIR filter `f`: `[B, C, H//down, W//down]`."""
    kh, kw = f.shape
    p = [(kw - down + 1) // 2, (kw - down) // 2, (kh - down + 1) // 2, (kh - down) // 2]
    return upfirdn2d(x, f, down=down, padding=p)
