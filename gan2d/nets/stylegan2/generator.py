"""StyleGAN2 generator = mapping network + synthesis network, each callable on its own."""

from __future__ import annotations

import torch
from torch import nn

from gan2d.layers.noise import NoiseMode
from gan2d.nets.stylegan2.config import GeneratorConfig
from gan2d.nets.stylegan2.mapping import MappingNetwork
from gan2d.nets.stylegan2.synthesis import SynthesisNetwork
from gan2d.nets.stylegan2.view_mapping import ViewConditionedMapping


class Generator(nn.Module):
    """StyleGAN2(-ADA) generator with the official parameter layout (`mapping.fc0.weight`, `synthesis.b4.const`, …).

    With `config.view_layers` the mapping is a `ViewConditionedMapping` (the label moves only the early styles).

    Args:
        config: Generator configuration.

    Example:
        >>> cfg = GeneratorConfig(img_resolution=16, z_dim=16, w_dim=16, channel_base=256, channel_max=16)
        >>> G = Generator(cfg).eval()
        >>> ws = G.mapping(torch.randn(2, 16), None, truncation_psi=0.7)
        >>> G.synthesis(ws, noise_mode="const").shape
        torch.Size([2, 3, 16, 16])
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.z_dim = config.z_dim
        self.c_dim = config.c_dim
        self.w_dim = config.w_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        self.synthesis = SynthesisNetwork(config)
        self.num_ws = self.synthesis.num_ws
        self.mapping: MappingNetwork | ViewConditionedMapping
        if config.view_layers:
            self.mapping = ViewConditionedMapping(
                z_dim=config.z_dim, c_dim=config.c_dim, w_dim=config.w_dim, num_ws=self.num_ws,
                view_layers=config.view_layers, num_layers=config.mapping_layers,
                layer_features=config.layer_features, lr_multiplier=config.mapping_lr_multiplier,
                w_avg_beta=config.w_avg_beta,
            )
        else:
            self.mapping = MappingNetwork(
                z_dim=config.z_dim, c_dim=config.c_dim, w_dim=config.w_dim, num_ws=self.num_ws,
                num_layers=config.mapping_layers, embed_features=config.embed_features,
                layer_features=config.layer_features, lr_multiplier=config.mapping_lr_multiplier,
                w_avg_beta=config.w_avg_beta,
            )

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: NoiseMode = "random",
                update_emas: bool = False) -> torch.Tensor:
        """Generate images.

        Args:
            z: `[B, z_dim]` latents.
            c: `[B, c_dim]` labels (conditional generators), else None.
            truncation_psi: Truncation strength (1 = none, 0 = the average image).
            truncation_cutoff: Truncate only the first `cutoff` styles; None = all.
            noise_mode: "random", "const" or "none".
            update_emas: Update the tracked w average (training).

        Returns:
            img: `[B, img_channels, R, R]`, nominally in [-1, 1].

        Raises:
            ShapeError: Mis-shaped z or c.
        """
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff,
                          update_emas=update_emas)
        return self.synthesis(ws, noise_mode=noise_mode)
