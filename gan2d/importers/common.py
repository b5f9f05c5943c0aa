"""Helpers shared by the checkpoint importers: recovering our config values from foreign weights."""

from __future__ import annotations

import torch

from gan2d.errors import CheckpointError
from gan2d.nets.stylegan2.config import channels_at


def first_line(e: BaseException) -> str:
    """The first line of an exception's message, or its type name when the message is empty.

    Example:
        >>> first_line(EOFError()), first_line(ValueError("bad\\nmore"))
        ('EOFError', 'bad')
    """
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def fit_channels(channels: dict[int, int], channel_base: int | None = None, channel_max: int | None = None
                 ) -> tuple[int, int]:
    """Find `(channel_base, channel_max)` with `min(channel_base // r, channel_max) == channels[r]` for every r.

    Values recorded in the checkpoint are tried first; otherwise they are inferred from the channel counts.

    Args:
        channels: Resolution → channel count, as found in the weights.
        channel_base: Recorded value, if any.
        channel_max: Recorded value, if any.

    Returns:
        (channel_base, channel_max).

    Raises:
        CheckpointError: If no such pair reproduces the channel counts.

    Example:
        >>> fit_channels({4: 512, 8: 512, 16: 512, 32: 512, 64: 256})
        (16384, 512)
    """
    def fits(base: int, cmax: int) -> bool:
        return all(channels_at(r, base, cmax) == c for r, c in channels.items())

    if isinstance(channel_base, int) and isinstance(channel_max, int) and fits(channel_base, channel_max):
        return channel_base, channel_max
    cmax = max(channels.values())
    below = [r for r, c in sorted(channels.items()) if c < cmax]
    base = channels[below[0]] * below[0] if below else cmax * max(channels)
    if not fits(base, cmax):
        raise CheckpointError(f"channel counts {dict(sorted(channels.items()))} do not follow "
                              "min(channel_base // res, channel_max)")
    return base, cmax


def taps_from_filter(f: torch.Tensor) -> tuple[float, ...]:
    """Recover normalized 1D taps from a separable 2D FIR filter `[K, K]` (the stored `resample_filter`).

    Raises:
        CheckpointError: If the filter is not a normalized outer product of one tap vector with itself.
    """
    f = f.to(torch.float64)
    if f.ndim != 2 or f.shape[0] != f.shape[1]:
        raise CheckpointError(f"resample_filter must be a square 2D filter, got shape {tuple(f.shape)}")
    taps = f.sum(dim=1)
    if not torch.allclose(torch.outer(taps, taps), f, atol=1e-6):
        raise CheckpointError("resample_filter is not a separable outer product of 1D taps")
    return tuple(float(t) for t in taps)
