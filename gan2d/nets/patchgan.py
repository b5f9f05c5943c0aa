"""Multi-scale PatchGAN discriminator (pix2pixHD / SPADE) that returns every layer's features for feature matching.

Each scale is a fully convolutional N-layer discriminator whose output is a map of patch logits;
scale s sees the input average-pooled s times. Normalization is spectral norm (SPADE) or instance
norm (pix2pixHD); the first and last layers are never normalized.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gan2d.errors import ConfigError, ShapeError
from gan2d.layers.norms import make_norm, maybe_spectral_norm


@dataclass(frozen=True)
class PatchGANConfig:
    """Discriminator settings.

    Args:
        in_channels: input channels (for a conditional D: condition channels + image channels).
        base_channels: channels of the first layer; doubled per layer up to `max_channels`.
        max_channels: channel cap.
        num_layers: strided layers per scale (receptive field 70 px for 3 at full scale).
        num_scales: number of discriminators at successively halved resolutions.
        norm: "spectral", "instance" or "none".
    """

    in_channels: int = 6
    base_channels: int = 64
    max_channels: int = 512
    num_layers: int = 3
    num_scales: int = 2
    norm: Literal["spectral", "instance", "none"] = "spectral"

    def __post_init__(self) -> None:
        if min(self.in_channels, self.base_channels, self.max_channels, self.num_layers, self.num_scales) < 1:
            raise ConfigError(f"PatchGANConfig values must be positive: {self}")
        if self.norm not in ("spectral", "instance", "none"):
            raise ConfigError(f"PatchGAN norm must be 'spectral', 'instance' or 'none', got {self.norm!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)


class NLayerDiscriminator(nn.Module):
    """One scale: `num_layers` stride-2 4×4 convs, one stride-1 conv, and a 1-channel logit conv."""

    def __init__(self, config: PatchGANConfig) -> None:
        super().__init__()
        spectral = config.norm == "spectral"
        norm_kind = "instance" if config.norm == "instance" else "none"

        def conv(cin: int, cout: int, stride: int) -> nn.Module:
            return maybe_spectral_norm(nn.Conv2d(cin, cout, 4, stride=stride, padding=2), spectral)

        layers: list[nn.Module] = [nn.Sequential(conv(config.in_channels, config.base_channels, 2), nn.LeakyReLU(0.2))]
        ch = config.base_channels
        for i in range(1, config.num_layers + 1):
            nxt = min(ch * 2, config.max_channels)
            stride = 2 if i < config.num_layers else 1
            layers.append(nn.Sequential(conv(ch, nxt, stride), make_norm(norm_kind, nxt), nn.LeakyReLU(0.2)))
            ch = nxt
        layers.append(nn.Conv2d(ch, 1, 4, stride=1, padding=2))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x: `[B, C, H, W]` → every layer's output; the last is the `[B, 1, h, w]` patch-logit map."""
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats


class MultiScalePatchGAN(nn.Module):
    """`num_scales` PatchGANs on the input at full, ½, ¼ … resolution.

    Example:
        >>> D = MultiScalePatchGAN(PatchGANConfig(in_channels=3, base_channels=8, num_scales=2))
        >>> feats = D(torch.randn(1, 3, 32, 32))
        >>> len(feats), feats[0][-1].shape[1]
        (2, 1)
    """

    def __init__(self, config: PatchGANConfig | None = None) -> None:
        super().__init__()
        self.config = config or PatchGANConfig()
        self.scales = nn.ModuleList(NLayerDiscriminator(self.config) for _ in range(self.config.num_scales))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """x: `[B, in_channels, H, W]` → per scale, the list of layer features (last = logits)."""
        if x.ndim != 4 or x.shape[1] != self.config.in_channels:
            raise ShapeError(
                f"MultiScalePatchGAN: input must be [B, {self.config.in_channels}, H, W], got {tuple(x.shape)}"
            )
        out = []
        for i, disc in enumerate(self.scales):
            if i > 0:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            out.append(disc(x))
        return out


def patch_logits(features: list[list[torch.Tensor]]) -> list[torch.Tensor]:
    """The logit map of each scale (the last feature of each list)."""
    return [scale[-1] for scale in features]
