"""SPADE generator (GauGAN, Park et al. 2019): upsampling SPADE residual blocks driven by a label / G-buffer map.

Without a VAE the generator starts from the label map downsampled to the head resolution; with
`use_vae` it starts from a latent z (sampled, or encoded from a style image by an `ImageEncoder`
that predicts mean and log-variance, trained with a KL term), so one layout can render in many
styles.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan2d.errors import ConfigError, ShapeError
from gan2d.layers.norms import NormKind, check_norm_kind, maybe_spectral_norm
from gan2d.layers.spade import SPADE, SPADEConfig
from gan2d.nets.encoder import ImageEncoder, ImageEncoderConfig


@dataclass(frozen=True)
class SPADEGeneratorConfig:
    """Generator settings (GauGAN: 64 base channels, 5 upsamplings, z_dim 256).

    Args:
        label_channels: channels of the label / G-buffer map.
        out_channels: output image channels.
        resolution: output side (power of two); the head runs at resolution / 2**num_upsampling.
        base_channels: channels of the last block; earlier blocks double up to 16×.
        num_upsampling: number of 2× upsampling stages.
        spade_hidden: hidden channels of each SPADE layer.
        norm: SPADE's parameter-free normalization.
        spectral: spectral norm on the block convs.
        use_vae: start from a latent z and add the style encoder.
        z_dim: latent size (VAE only).
    """

    label_channels: int = 3
    out_channels: int = 3
    resolution: int = 256
    base_channels: int = 64
    num_upsampling: int = 5
    spade_hidden: int = 128
    norm: NormKind = "instance"
    spectral: bool = True
    use_vae: bool = False
    z_dim: int = 256

    def __post_init__(self) -> None:
        check_norm_kind(self.norm)
        if self.resolution < 4 or self.resolution & (self.resolution - 1):
            raise ConfigError(f"SPADE generator resolution must be a power of two >= 4, got {self.resolution}")
        if not 1 <= self.num_upsampling <= self.resolution.bit_length() - 2:
            raise ConfigError(f"num_upsampling {self.num_upsampling} leaves a head below 2×2 at {self.resolution}px")
        if min(self.label_channels, self.out_channels, self.base_channels, self.spade_hidden, self.z_dim) < 1:
            raise ConfigError(f"SPADEGeneratorConfig values must be positive: {self}")

    @property
    def head_resolution(self) -> int:
        """Side of the first block's features."""
        return self.resolution >> self.num_upsampling

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)


class SPADEResBlock(nn.Module):
    """Two SPADE → LeakyReLU → 3×3 conv stages plus a shortcut (SPADE + 1×1 conv when channels change)."""

    def __init__(self, cin: int, cout: int, label_channels: int, spade: SPADEConfig, spectral: bool) -> None:
        super().__init__()
        mid = min(cin, cout)
        self.norm_0, self.conv_0 = SPADE(cin, label_channels, spade), nn.Conv2d(cin, mid, 3, padding=1)
        self.norm_1, self.conv_1 = SPADE(mid, label_channels, spade), nn.Conv2d(mid, cout, 3, padding=1)
        self.conv_0 = maybe_spectral_norm(self.conv_0, spectral)
        self.conv_1 = maybe_spectral_norm(self.conv_1, spectral)
        self.learned_shortcut = cin != cout
        if self.learned_shortcut:
            self.norm_s = SPADE(cin, label_channels, spade)
            self.conv_s = maybe_spectral_norm(nn.Conv2d(cin, cout, 1, bias=False), spectral)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """x: `[B, cin, H, W]`, label: `[B, L, *, *]` → `[B, cout, H, W]`."""
        shortcut = self.conv_s(self.norm_s(x, label)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, label), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, label), 0.2))
        return shortcut + dx


class SPADEGenerator(nn.Module):
    """Label map (+ optional latent) → image in [-1, 1].

    Example:
        >>> cfg = SPADEGeneratorConfig(4, resolution=32, base_channels=8, num_upsampling=3, spade_hidden=16)
        >>> SPADEGenerator(cfg)(torch.randn(2, 4, 32, 32)).shape
        torch.Size([2, 3, 32, 32])
    """

    def __init__(self, config: SPADEGeneratorConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or SPADEGeneratorConfig()
        spade = SPADEConfig(norm=c.norm, hidden_channels=c.spade_hidden)
        widths = [
            min(c.base_channels * 2 ** (c.num_upsampling - i), 16 * c.base_channels)
            for i in range(c.num_upsampling + 1)
        ]
        s = c.head_resolution
        if c.use_vae:
            self.fc = nn.Linear(c.z_dim, widths[0] * s * s)
            self.style_encoder = ImageEncoder(
                ImageEncoderConfig(c.out_channels, c.resolution, 2 * c.z_dim, base_channels=c.base_channels)
            )
        else:
            self.fc = nn.Conv2d(c.label_channels, widths[0], 3, padding=1)
        self.head = SPADEResBlock(widths[0], widths[0], c.label_channels, spade, c.spectral)
        self.blocks = nn.ModuleList(
            SPADEResBlock(widths[i], widths[i + 1], c.label_channels, spade, c.spectral)
            for i in range(c.num_upsampling)
        )
        self.conv_img = nn.Conv2d(widths[-1], c.out_channels, 3, padding=1)

    def encode(self, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """style: `[B, out_channels, R, R]` image → (mu, logvar), each `[B, z_dim]` (VAE generators only)."""
        if not self.config.use_vae:
            raise ConfigError("SPADEGenerator.encode needs use_vae=True")
        mu, logvar = self.style_encoder(style).chunk(2, dim=1)
        return mu, logvar

    def forward(self, label: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """label: `[B, label_channels, R, R]`; z: `[B, z_dim]` (VAE only; sampled from N(0, I) when None).

        Returns:
            `[B, out_channels, R, R]` in [-1, 1].
        """
        c = self.config
        if label.ndim != 4 or label.shape[1:] != (c.label_channels, c.resolution, c.resolution):
            raise ShapeError(
                f"SPADEGenerator: label must be [B, {c.label_channels}, {c.resolution}, {c.resolution}], "
                f"got {tuple(label.shape)}"
            )
        s = c.head_resolution
        if c.use_vae:
            if z is None:
                z = torch.randn(label.shape[0], c.z_dim, device=label.device, dtype=label.dtype)
            if z.shape != (label.shape[0], c.z_dim):
                raise ShapeError(f"SPADEGenerator: z must be [{label.shape[0]}, {c.z_dim}], got {tuple(z.shape)}")
            x = self.fc(z).view(label.shape[0], -1, s, s)
        elif z is not None:
            raise ConfigError("SPADEGenerator: z given but use_vae=False")
        else:
            x = self.fc(F.interpolate(label, size=(s, s), mode="nearest"))
        x = self.head(x, label)
        for block in self.blocks:
            x = block(F.interpolate(x, scale_factor=2, mode="nearest"), label)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))
