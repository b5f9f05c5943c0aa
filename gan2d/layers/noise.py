"""Per-pixel noise injection (StyleGAN): a learned strength times random, fixed, or no noise.

`noise_mode` is a sampling choice at call time ("random" for training and varied detail, "const" for
reproducible images from the stored buffer, "none" to drop the stochastic detail), not a different
computation, so it is an argument of `forward` just like in the official API.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import nn

from gan2d.errors import ConfigError

NoiseMode = Literal["random", "const", "none"]
NOISE_MODES: tuple[str, ...] = get_args(NoiseMode)


def make_noise(mode: NoiseMode, strength: torch.Tensor, noise_const: torch.Tensor, batch: int) -> torch.Tensor | None:
    """Scaled noise for one layer.

    Args:
        mode: "random" (fresh N(0,1) per sample), "const" (the stored map), "none".
        strength: `[]` learned scale.
        noise_const: `[H, W]` stored noise map; its shape sets the noise resolution.
        batch: Batch size for random noise.

    Returns:
        noise: `[B, 1, H, W]` ("random"), `[H, W]` ("const"), or None ("none").

    Raises:
        ConfigError: Unknown mode.

    Example:
        >>> make_noise("const", torch.tensor(0.5), torch.ones(4, 4), 2).sum().item()
        8.0
    """
    if mode == "random":
        h, w = noise_const.shape
        return torch.randn([batch, 1, h, w], device=noise_const.device, dtype=noise_const.dtype) * strength
    if mode == "const":
        return noise_const * strength
    if mode == "none":
        return None
    raise ConfigError(f"noise_mode must be one of {NOISE_MODES}, got {mode!r}")


class NoiseInjection(nn.Module):
    """Adds `noise_strength * noise` to `[B, C, H, W]` features (same buffer/parameter names as StyleGAN2-ADA).

    Args:
        resolution: Feature-map size the constant noise map is stored at.

    Example:
        >>> NoiseInjection(8)(torch.zeros(2, 3, 8, 8), noise_mode="const").abs().sum().item()
        0.0
    """

    def __init__(self, resolution: int) -> None:
        super().__init__()
        self.register_buffer("noise_const", torch.randn([resolution, resolution]))
        self.noise_strength = nn.Parameter(torch.zeros([]))

    def forward(self, x: torch.Tensor, noise_mode: NoiseMode = "random") -> torch.Tensor:
        """`x: [B, C, H, W]` → same shape with noise added."""
        noise = make_noise(noise_mode, self.noise_strength, self.noise_const, x.shape[0])
        return x if noise is None else x + noise.to(x.dtype)
