"""Normalization choices shared by the refiner networks and discriminators.

`make_norm` turns a `NormKind` into a module (instance, batch or identity) so a network config can
name its normalization as data; `maybe_spectral_norm` wraps a layer with PyTorch's parametrized
spectral norm when asked.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gan2d.errors import ConfigError

NormKind = Literal["instance", "batch", "none"]
NORM_KINDS: tuple[str, ...] = ("instance", "batch", "none")

M = TypeVar("M", bound=nn.Module)


def check_norm_kind(kind: str) -> None:
    """Raise `ConfigError` unless `kind` is one of `NORM_KINDS`."""
    if kind not in NORM_KINDS:
        raise ConfigError(f"norm must be one of {NORM_KINDS}, got {kind!r}")


def make_norm(kind: NormKind, channels: int, affine: bool = True) -> nn.Module:
    """Build a 2D normalization layer for `[B, C, H, W]` features.

    Args:
        kind: "instance" (per-sample, per-channel statistics; no running stats), "batch", or "none".
        channels: number of feature channels C.
        affine: whether the layer learns a per-channel scale and shift. SPADE uses `affine=False`
            because its scale and shift come from the label map instead.

    Returns:
        `nn.InstanceNorm2d`, `nn.BatchNorm2d` or `nn.Identity`.

    Raises:
        ConfigError: unknown kind or non-positive channel count.

    Example:
        >>> norm = make_norm("instance", 8)
        >>> type(norm).__name__, norm.num_features, norm.affine, norm.track_running_stats
        ('InstanceNorm2d', 8, True, False)
    """
    check_norm_kind(kind)
    if channels <= 0:
        raise ConfigError(f"norm channels must be positive, got {channels}")
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=affine)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=affine)
    return nn.Identity()


def maybe_spectral_norm(module: M, enabled: bool) -> M:
    """Wrap `module`'s `weight` with spectral normalization when `enabled`.

    Spectral norm divides the weight by its largest singular value (estimated by one power
    iteration per training forward), which bounds the layer's Lipschitz constant; discriminators
    use it instead of batch statistics.

    Args:
        module: a layer with a `weight` parameter (Linear, Conv2d, ...).
        enabled: when False the module is returned unchanged.

    Returns:
        The same module, parametrized in place when enabled.

    Example:
        >>> conv = maybe_spectral_norm(nn.Conv2d(3, 8, 3), True)
    """
    if not enabled:
        return module
    return spectral_norm(module)
