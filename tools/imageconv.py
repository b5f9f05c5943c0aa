"""The one place images cross between render3d (`[B, H, W, C]` in [0, 1]) and gan2d (`[B, C, H, W]` in [-1, 1])."""

import torch


def render_to_gan(img: torch.Tensor) -> torch.Tensor:
    """`[B, H, W, C]` in [0, 1] → `[B, C, H, W]` in [-1, 1]."""
    return img.permute(0, 3, 1, 2) * 2.0 - 1.0


def gan_to_render(img: torch.Tensor) -> torch.Tensor:
    """`[B, C, H, W]` in [-1, 1] → `[B, H, W, C]` in [0, 1] (clamped)."""
    return ((img.permute(0, 2, 3, 1) + 1.0) * 0.5).clamp(0.0, 1.0)
