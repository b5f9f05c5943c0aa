"""Bias + activation + gain + clamp, the epilogue of every StyleGAN2 layer.

`y = clamp(act(x + b) * gain, -clamp, clamp)`. The default gain of an activation keeps the signal's
second moment: sqrt(2) for ReLU and leaky ReLU (slope 0.2), 1 for linear.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

from gan2d.errors import ConfigError, ShapeError

Activation = Literal["linear", "relu", "lrelu"]

DEFAULT_GAIN: dict[str, float] = {"linear": 1.0, "relu": math.sqrt(2.0), "lrelu": math.sqrt(2.0)}
DEFAULT_ALPHA = 0.2


def _check(x: torch.Tensor, b: torch.Tensor | None, dim: int, act: str) -> None:
    if act not in DEFAULT_GAIN:
        raise ConfigError(f"unknown activation {act!r}; expected one of {sorted(DEFAULT_GAIN)}")
    if b is not None and (b.ndim != 1 or b.shape[0] != x.shape[dim]):
        raise ShapeError(f"bias must be [{x.shape[dim]}] for x of shape {tuple(x.shape)} (dim={dim}), "
                         f"got {tuple(b.shape)}")


def _bias_shape(x: torch.Tensor, dim: int) -> list[int]:
    return [-1 if i == dim % x.ndim else 1 for i in range(x.ndim)]


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    dim: int = 1,
    act: Activation = "linear",
    gain: float | None = None,
    clamp: float | None = None,
) -> torch.Tensor:
    """Add a bias along `dim`, apply an activation, scale by `gain`, clamp to `[-clamp, clamp]`.

    Args:
        x: `[..., C, ...]` activations.
        b: `[C]` bias for axis `dim`, or None.
        dim: Axis the bias runs along.
        act: "linear", "relu" or "lrelu" (slope 0.2).
        gain: Output scale; None uses the activation's default (sqrt(2) for relu/lrelu, 1 for linear).
        clamp: Clamp the output to +-clamp after the gain; None disables clamping.

    Returns:
        y: same shape as `x`.

    Raises:
        ConfigError: Unknown activation.
        ShapeError: Bias length does not match `x.shape[dim]`.

    Example:
        >>> bias_act(torch.tensor([[-1.0, 2.0]]), act="lrelu", gain=1.0)
        tensor([[-0.2000,  2.0000]])
    """
    _check(x, b, dim, act)
    if b is not None:
        x = x + b.to(x.dtype).reshape(_bias_shape(x, dim))
    if act == "relu":
        x = F.relu(x)
    elif act == "lrelu":
        x = F.leaky_relu(x, DEFAULT_ALPHA)
    g = DEFAULT_GAIN[act] if gain is None else float(gain)
    if g != 1.0:
        x = x * g
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def bias_act_reference(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    dim: int = 1,
    act: Activation = "linear",
    gain: float | None = None,
    clamp: float | None = None,
) -> torch.Tensor:
    """Reference `bias_act` written from the formula with `torch.where`; same arguments and result."""
    _check(x, b, dim, act)
    if b is not None:
        x = x + b.to(x.dtype).reshape(_bias_shape(x, dim))
    if act == "relu":
        x = torch.where(x > 0, x, torch.zeros_like(x))
    elif act == "lrelu":
        x = torch.where(x > 0, x, x * DEFAULT_ALPHA)
    x = x * (DEFAULT_GAIN[act] if gain is None else float(gain))
    if clamp is not None:
        x = torch.minimum(torch.maximum(x, torch.full_like(x, -clamp)), torch.full_like(x, clamp))
    return x
