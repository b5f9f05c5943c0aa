"""A procedural toy image distribution for tests and smoke runs: one random-colored disc on a dark background.

Each image has a disc of random center, radius and saturated color, anti-aliased, on a near-black
background with a little noise. The distribution is simple enough that a tiny GAN learns it in a
few hundred steps, and structured enough (one round blob, a colored foreground, a dark
background) that quality is measurable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan2d.errors import ConfigError


def disc_images(n: int, resolution: int, seed: int = 0) -> torch.Tensor:
    """`[n, 3, R, R]` float32 images in [-1, 1], deterministic given `seed`.

    Example:
        >>> disc_images(4, 16).shape
        torch.Size([4, 3, 16, 16])
    """
    if n <= 0 or resolution < 4:
        raise ConfigError(f"disc_images: need n > 0 and resolution >= 4, got {n}, {resolution}")
    g = torch.Generator().manual_seed(seed)
    r = resolution
    center = 0.3 * r + torch.rand(n, 2, generator=g) * 0.4 * r
    radius = (0.15 + torch.rand(n, generator=g) * 0.15) * r
    hue = torch.rand(n, 3, generator=g)
    color = hue / hue.max(dim=1, keepdim=True).values  # saturated: brightest channel = 1
    ys, xs = torch.meshgrid(torch.arange(r) + 0.5, torch.arange(r) + 0.5, indexing="ij")
    dist = ((xs[None] - center[:, 0, None, None]) ** 2 + (ys[None] - center[:, 1, None, None]) ** 2).sqrt()
    alpha = (radius[:, None, None] - dist + 0.5).clamp(0, 1)[:, None]
    background = 0.05 + 0.03 * torch.rand(n, 3, r, r, generator=g)
    img = alpha * color[:, :, None, None] + (1 - alpha) * background
    return img * 2 - 1


class TensorImageDataset(torch.utils.data.Dataset):
    """In-memory images `[N, C, R, R]` as a dataset of `(image, empty label [0])` items."""

    def __init__(self, images: torch.Tensor) -> None:
        if images.ndim != 4:
            raise ConfigError(f"TensorImageDataset: images must be [N, C, R, R], got {tuple(images.shape)}")
        self.images = images
        self.c_dim = 0

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], torch.zeros(0)


def write_disc_folder(root: str | Path, n: int, resolution: int, seed: int = 0) -> Path:
    """Write `disc_images(n, resolution, seed)` as `root/000000.png`, … and return `root`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    imgs = ((disc_images(n, resolution, seed) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    for i, img in enumerate(imgs):
        Image.fromarray(np.ascontiguousarray(img.permute(1, 2, 0).numpy())).save(root / f"{i:06d}.png")
    return root
