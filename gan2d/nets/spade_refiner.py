"""A SPADE refiner for images of any size: residual SPADE blocks at a pixel-unshuffled resolution.

`SPADEGenerator` synthesizes from a tiny head at a fixed square resolution; a refiner instead
starts from an image it improves (a coarse render) and is modulated per pixel by a G-buffer
(splatted depth, normals, colors …). Both are folded `factor`× into channels
(`pixel_unshuffle`), so the blocks run on `factor²` fewer positions, then shuffled back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan2d.errors import ConfigError, ShapeError
from gan2d.layers.norms import NormKind, check_norm_kind
from gan2d.layers.spade import SPADEConfig
from gan2d.nets.spade_generator import SPADEResBlock


@dataclass(frozen=True)
class SPADERefinerConfig:
    """Settings.

    Args:
        image_channels: channels of the image being refined.
        label_channels: channels of the G-buffer that modulates every block.
        out_channels: output channels (tanh, [-1, 1]).
        base_channels: width of the blocks.
        num_blocks: SPADE residual blocks.
        factor: pixel-unshuffle factor.
        spade_hidden: hidden channels of each SPADE layer.
        norm: SPADE's parameter-free normalization.
        spectral: spectral norm on the block convs.
    """

    image_channels: int = 3
    label_channels: int = 3
    out_channels: int = 3
    base_channels: int = 32
    num_blocks: int = 3
    factor: int = 2
    spade_hidden: int = 32
    norm: NormKind = "instance"
    spectral: bool = False

    def __post_init__(self) -> None:
        check_norm_kind(self.norm)
        if min(self.image_channels, self.label_channels, self.out_channels, self.base_channels, self.num_blocks,
               self.factor, self.spade_hidden) < 1:
            raise ConfigError(f"SPADERefinerConfig values must be positive: {self}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)


class SPADERefiner(nn.Module):
    """(image, label) → refined image in [-1, 1], same size as the image.

    Example:
        >>> net = SPADERefiner(SPADERefinerConfig(4, 6, 3, base_channels=8, num_blocks=1, spade_hidden=8))
        >>> net(torch.randn(1, 4, 18, 20), torch.randn(1, 6, 18, 20)).shape
        torch.Size([1, 3, 18, 20])
    """

    def __init__(self, config: SPADERefinerConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or SPADERefinerConfig()
        f2 = c.factor**2
        spade = SPADEConfig(norm=c.norm, hidden_channels=c.spade_hidden)
        self.stem = nn.Conv2d(c.image_channels * f2, c.base_channels, 3, padding=1)
        self.blocks = nn.ModuleList(SPADEResBlock(c.base_channels, c.base_channels, c.label_channels * f2, spade,
                                                  c.spectral) for _ in range(c.num_blocks))
        self.out = nn.Conv2d(c.base_channels, c.out_channels * f2, 3, padding=1)

    def forward(self, image: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """image: `[B, image_channels, H, W]`, label: `[B, label_channels, H, W]` → `[B, out_channels, H, W]`."""
        c = self.config
        if image.ndim != 4 or image.shape[1] != c.image_channels:
            raise ShapeError(f"SPADERefiner: image must be [B, {c.image_channels}, H, W], got {tuple(image.shape)}")
        if label.ndim != 4 or label.shape[1] != c.label_channels or label.shape[2:] != image.shape[2:] \
                or label.shape[0] != image.shape[0]:
            raise ShapeError(f"SPADERefiner: label must be [{image.shape[0]}, {c.label_channels}, "
                             f"{image.shape[2]}, {image.shape[3]}], got {tuple(label.shape)}")
        H, W = image.shape[2:]
        ph, pw = -H % c.factor, -W % c.factor
        if ph or pw:
            image = F.pad(image, (0, pw, 0, ph), mode="replicate")
            label = F.pad(label, (0, pw, 0, ph), mode="replicate")
        x = self.stem(F.pixel_unshuffle(image, c.factor))
        lab = F.pixel_unshuffle(label, c.factor)
        for block in self.blocks:
            x = block(x, lab)
        y = F.pixel_shuffle(self.out(F.leaky_relu(x, 0.2)), c.factor)
        return torch.tanh(y[:, :, :H, :W])
