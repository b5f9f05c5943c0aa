"""Generator exponential moving average with StyleGAN2-ADA's half-life parametrization and ramp-up."""

from __future__ import annotations

import torch
from torch import nn


def ema_beta(batch_size: int, ema_kimg: float, cur_nimg: int, ema_rampup: float | None) -> float:
    """Per-step EMA decay so the average has a half-life of `ema_kimg` thousand images.

    With ramp-up the half-life is `min(ema_kimg·1000, cur_nimg·ema_rampup)` images, so early, fast
    changing weights are not averaged with the random initialization for long.

    Example:
        >>> round(ema_beta(32, 10.0, 10**6, None), 6)  # 0.5 ** (32 / 10000)
        0.997784
    """
    if ema_kimg <= 0:
        return 0.0
    ema_nimg = ema_kimg * 1000
    if ema_rampup is not None:
        ema_nimg = min(ema_nimg, cur_nimg * ema_rampup)
    return 0.5 ** (batch_size / max(ema_nimg, 1e-8))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, beta: float) -> None:
    """`ema_p ← model_p + beta·(ema_p - model_p)` for parameters; buffers are copied.

    Args:
        ema: the averaged copy (same architecture as `model`).
        model: the trained network.
        beta: decay in [0, 1); 0 copies the model.
    """
    for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
        p_ema.copy_(p.detach().lerp(p_ema, beta))
    for b_ema, b in zip(ema.buffers(), model.buffers(), strict=True):
        b_ema.copy_(b)
