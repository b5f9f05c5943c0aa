"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for data-efficient GAN training.

The same random, differentiable transforms are applied to every image the discriminator sees,
real or generated, so D cannot memorize a small dataset while G still gets gradients through the
augmentation. Policies: "color" (brightness, saturation, contrast), "translation" (shift by up to
1/8 of the size, zero fill), "cutout" (zero a random square of half the size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan2d.errors import ConfigError

POLICIES = ("color", "translation", "cutout")


def check_policy(policy: tuple[str, ...]) -> None:
    """Raise `ConfigError` for unknown or repeated policy names."""
    unknown = [p for p in policy if p not in POLICIES]
    if unknown or len(set(policy)) != len(policy):
        raise ConfigError(f"DiffAugment policy must be distinct names from {POLICIES}, got {policy}")


def rand_color(x: torch.Tensor) -> torch.Tensor:
    """Per-image random brightness (±0.5), saturation (×[0, 2)) and contrast (×[0.5, 1.5)) on `[B, C, H, W]`."""
    b = x.shape[0]
    x = x + (torch.rand(b, 1, 1, 1, dtype=x.dtype, device=x.device) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(b, 1, 1, 1, dtype=x.dtype, device=x.device) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(b, 1, 1, 1, dtype=x.dtype, device=x.device) + 0.5) + mean


def rand_translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by an integer offset up to `ratio` of its size, filling with zeros."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (b, 1, 1), device=x.device)
    tx = torch.randint(-sw, sw + 1, (b, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    # Index into a 1-pixel zero-padded copy; sources outside the image land on the padding.
    src_y = (gy[None] + ty + 1).clamp(0, h + 1)
    src_x = (gx[None] + tx + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    flat = padded.flatten(2)  # [B, C, (H+2)(W+2)]
    idx = (src_y * (w + 2) + src_x).flatten(1)[:, None, :].expand(-1, x.shape[1], -1)
    return flat.gather(2, idx).view_as(x)


def rand_cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of side `ratio · size` per image, centred anywhere (clipped at the border)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    y0 = torch.randint(0, h, (b, 1, 1), device=x.device) - ch // 2
    x0 = torch.randint(0, w, (b, 1, 1), device=x.device) - cw // 2
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    inside = (gy[None] >= y0) & (gy[None] < y0 + ch) & (gx[None] >= x0) & (gx[None] < x0 + cw)
    return x * (~inside)[:, None].to(x.dtype)


_AUGMENTS = {"color": rand_color, "translation": rand_translation, "cutout": rand_cutout}


def diff_augment(x: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    """Apply the policies in order (color, translation, cutout as named) to `[B, C, H, W]` images.

    Example:
        >>> y = diff_augment(torch.zeros(2, 3, 16, 16), ("translation", "cutout"))
    """
    check_policy(policy)
    for name in policy:
        x = _AUGMENTS[name](x)
    return x
