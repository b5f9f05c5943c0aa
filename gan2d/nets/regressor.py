"""Multi-head regression encoder: one residual trunk, a shared feature vector, and named linear heads.

For image → parameter regression with several targets at once (pose angles, a detection logit,
shape/appearance codes): the heads share the trunk, so one forward pass serves every target, and the
shared features (`features`) double as an embedding for Fréchet distances.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan2d.errors import ConfigError, ShapeError
from gan2d.layers.norms import NormKind, check_norm_kind
from gan2d.nets.encoder import DownResBlock

KIND = "gan2d.multihead_encoder"


@dataclass(frozen=True)
class MultiHeadEncoderConfig:
    """Encoder settings.

    Args:
        heads: (name, width) of each output head, in order.
        in_channels: input channels.
        resolution: input side (power of two >= 8); the trunk halves it down to 4×4.
        base_channels: channels at full resolution, doubled per halving up to `max_channels`.
        max_channels: channel cap; `features` are twice the last stage's width.
        norm: normalization inside residual blocks.
    """

    heads: tuple[tuple[str, int], ...] = field(default=(("out", 1),))
    in_channels: int = 3
    resolution: int = 64
    base_channels: int = 16
    max_channels: int = 128
    norm: NormKind = "batch"

    def __post_init__(self) -> None:
        object.__setattr__(self, "heads", tuple((str(n), int(w)) for n, w in self.heads))
        check_norm_kind(self.norm)
        if self.resolution < 8 or self.resolution & (self.resolution - 1):
            raise ConfigError(f"MultiHeadEncoder resolution must be a power of two >= 8, got {self.resolution}")
        if not self.heads or any(w < 1 for _, w in self.heads) or len({n for n, _ in self.heads}) != len(self.heads):
            raise ConfigError(f"heads must be distinct names with positive widths, got {self.heads}")
        if min(self.in_channels, self.base_channels, self.max_channels) < 1:
            raise ConfigError(f"MultiHeadEncoderConfig values must be positive: {self}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {**dataclasses.asdict(self), "heads": [list(h) for h in self.heads]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MultiHeadEncoderConfig:
        """Inverse of `to_dict`; unknown keys raise `ConfigError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        if set(data) - names:
            raise ConfigError(f"unknown MultiHeadEncoderConfig fields: {sorted(set(data) - names)}")
        return cls(**{**data, "heads": tuple(tuple(h) for h in data.get("heads", ()))})


class MultiHeadEncoder(nn.Module):
    """Stem conv, `DownResBlock`s down to 4×4, a fully connected feature layer, one linear layer per head.

    Example:
        >>> enc = MultiHeadEncoder(MultiHeadEncoderConfig(heads=(("pose", 2), ("code", 5)), resolution=16))
        >>> out = enc(torch.randn(2, 3, 16, 16))
        >>> out["pose"].shape, out["code"].shape
        (torch.Size([2, 2]), torch.Size([2, 5]))
    """

    def __init__(self, config: MultiHeadEncoderConfig) -> None:
        super().__init__()
        self.config = c = config
        stages = c.resolution.bit_length() - 3
        widths = [min(c.base_channels * 2**i, c.max_channels) for i in range(stages + 1)]
        self.stem = nn.Conv2d(c.in_channels, widths[0], 3, padding=1)
        self.blocks = nn.Sequential(*(DownResBlock(widths[i], widths[i + 1], c.norm) for i in range(stages)))
        self.feature_dim = 2 * widths[-1]
        # The flattened 4×4 map keeps where things are in the image, which pose regression needs.
        self.fc = nn.Linear(widths[-1] * 16, self.feature_dim)
        self.heads = nn.ModuleDict({name: nn.Linear(self.feature_dim, w) for name, w in c.heads})

    def _check(self, images: torch.Tensor) -> None:
        r, ch = self.config.resolution, self.config.in_channels
        if images.ndim != 4 or images.shape[1:] != (ch, r, r):
            raise ShapeError(f"MultiHeadEncoder: images must be [B, {ch}, {r}, {r}], got {tuple(images.shape)}")

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """images `[B, in_channels, R, R]` → `[B, feature_dim]` (the input of every head)."""
        self._check(images)
        h = F.leaky_relu(self.blocks(self.stem(images)), 0.2)
        return F.leaky_relu(self.fc(h.flatten(1)), 0.2)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images `[B, in_channels, R, R]` → {head name: `[B, width]`}."""
        f = self.features(images)
        return {name: head(f) for name, head in self.heads.items()}
