"""Conditional image-to-image (pix2pix / pix2pixHD / SPADE) training task: G(input) → output.

The discriminator is a multi-scale PatchGAN on `cat(input, image)`. `G_main` combines the
adversarial G loss with discriminator feature matching, L1 to the target, an optional VGG
perceptual loss (weights from a local file) and, for a VAE SPADE generator, the KL term of the
style encoder. `D_main` uses the matching adversarial D loss. There is no lazy regularization.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from gan2d.errors import ConfigError
from gan2d.losses.adversarial import (
    hinge_d_loss,
    hinge_g_loss,
    logistic_d_loss,
    logistic_g_loss,
    lsgan_d_loss,
    lsgan_g_loss,
)
from gan2d.losses.feature_matching import feature_matching_loss
from gan2d.losses.perceptual import PerceptualLoss
from gan2d.losses.reconstruction import kl_divergence, l1_loss, reparameterize
from gan2d.nets.patchgan import MultiScalePatchGAN, patch_logits
from gan2d.nets.spade_generator import SPADEGenerator
from gan2d.train.config import TrainConfig, check_finite
from gan2d.train.loop import Batch, Phase

AdversarialKind = Literal["hinge", "lsgan", "logistic"]
_ADV: dict[str, tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]] = {
    "hinge": (hinge_d_loss, hinge_g_loss),
    "lsgan": (lsgan_d_loss, lsgan_g_loss),
    "logistic": (logistic_d_loss, logistic_g_loss),
}


@dataclass(frozen=True)
class RefinerLossConfig:
    """Loss weights of the refiner.

    Args:
        adversarial: "hinge" (SPADE), "lsgan" (pix2pixHD) or "logistic".
        fm_weight: discriminator feature-matching weight.
        l1_weight: L1-to-target weight.
        perceptual_weight: VGG perceptual weight; needs a `PerceptualLoss` passed to the task.
        kl_weight: KL weight of a VAE SPADE generator.
        num_samples: pairs shown in each sample grid.
    """

    adversarial: AdversarialKind = "hinge"
    fm_weight: float = 10.0
    l1_weight: float = 10.0
    perceptual_weight: float = 0.0
    kl_weight: float = 0.05
    num_samples: int = 8

    def __post_init__(self) -> None:
        check_finite(self)
        if self.adversarial not in _ADV:
            raise ConfigError(f"adversarial must be one of {sorted(_ADV)}, got {self.adversarial!r}")
        if min(self.fm_weight, self.l1_weight, self.perceptual_weight, self.kl_weight) < 0 or self.num_samples < 1:
            raise ConfigError("refiner loss weights must be >= 0 and num_samples >= 1")


def _mean_over_scales(fn: Callable[..., torch.Tensor], *maps: list[torch.Tensor]) -> torch.Tensor:
    return sum(fn(*per_scale) for per_scale in zip(*maps, strict=True)) / len(maps[0])


def input_preview(x: torch.Tensor) -> torch.Tensor:
    """A 3-channel look at an input map: its first 3 channels (or the first one repeated), clamped to [-1, 1]."""
    x = x[:, :3] if x.shape[1] >= 3 else x[:, :1].expand(-1, 3, -1, -1)
    return x.clamp(-1, 1)


class RefinerTask:
    """Holds G, D, G_ema, optimizers and the `D_main` / `G_main` phases.

    Args:
        G: image-to-image generator (`UNet`, `Pix2PixHDGenerator`, `SPADEGenerator`).
        D: multi-scale PatchGAN whose `in_channels` = input channels + output channels.
        train: loop settings.
        loss: loss weights.
        sample_batch: (inputs `[N, C_in, R, R]`, targets `[N, C, R, R]`) shown in the sample grids.
        perceptual: a VGG perceptual loss (required when `loss.perceptual_weight > 0`).
    """

    def __init__(
        self,
        G: nn.Module,
        D: MultiScalePatchGAN,
        train: TrainConfig,
        loss: RefinerLossConfig,
        sample_batch: tuple[torch.Tensor, torch.Tensor],
        perceptual: PerceptualLoss | None = None,
    ) -> None:
        if loss.perceptual_weight > 0 and perceptual is None:
            raise ConfigError("perceptual_weight > 0 needs a PerceptualLoss (VGG weights from a local file)")
        self.G, self.D, self.loss_config, self.perceptual = G, D, loss, perceptual
        self.vae = isinstance(G, SPADEGenerator) and G.config.use_vae
        self.G_ema = copy.deepcopy(G).eval().requires_grad_(False)
        self.networks: dict[str, nn.Module] = {"G": G, "D": D, "G_ema": self.G_ema}
        self.ema_pairs = [("G", "G_ema")]
        self.aux: dict[str, nn.Module] = {}
        self.optimizers = {
            "G": torch.optim.Adam(G.parameters(), lr=train.lr_g, betas=train.betas_g),
            "D": torch.optim.Adam(D.parameters(), lr=train.lr_d, betas=train.betas_d),
        }
        self.phases = [
            Phase("D_main", D, self.optimizers["D"], self._d_main),
            Phase("G_main", G, self.optimizers["G"], self._g_main),
        ]
        n = loss.num_samples
        self.sample_inputs, self.sample_targets = sample_batch[0][:n], sample_batch[1][:n]
        self.sample_columns = self.sample_inputs.shape[0]
        self._d_loss, self._g_loss = _ADV[loss.adversarial]

    def _generate(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not self.vae:
            return self.G(x), None
        mu, logvar = self.G.encode(target)
        return self.G(x, reparameterize(mu, logvar)), kl_divergence(mu, logvar)

    def _d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, real = batch
        with torch.no_grad():
            fake, _ = self._generate(x, real)
        fake_logits = patch_logits(self.D(torch.cat([x, fake], dim=1)))
        real_logits = patch_logits(self.D(torch.cat([x, real], dim=1)))
        loss = _mean_over_scales(self._d_loss, real_logits, fake_logits)
        return loss, {"real_score": sum(r.mean() for r in real_logits) / len(real_logits)}

    def _g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, real = batch
        fake, kl = self._generate(x, real)
        fake_feats = self.D(torch.cat([x, fake], dim=1))
        adv = _mean_over_scales(self._g_loss, patch_logits(fake_feats))
        stats = {"adv": adv}
        loss = adv
        cfg = self.loss_config
        if cfg.fm_weight > 0:
            with torch.no_grad():
                real_feats = self.D(torch.cat([x, real], dim=1))
            stats["fm"] = feature_matching_loss(fake_feats, real_feats)
            loss = loss + cfg.fm_weight * stats["fm"]
        if cfg.l1_weight > 0:
            stats["l1"] = l1_loss(fake, real)
            loss = loss + cfg.l1_weight * stats["l1"]
        if cfg.perceptual_weight > 0 and self.perceptual is not None:
            stats["perceptual"] = self.perceptual(fake, real)
            loss = loss + cfg.perceptual_weight * stats["perceptual"]
        if kl is not None:
            stats["kl"] = kl
            loss = loss + cfg.kl_weight * kl
        return loss, stats

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """Rows of inputs, G_ema outputs and targets: `[3N, C, R, R]` (lay out with N columns)."""
        dev = next(self.G_ema.parameters()).device
        x, y = self.sample_inputs.to(dev), self.sample_targets.to(dev)
        fake = self.G_ema(x, self.G_ema.encode(y)[0]) if self.vae else self.G_ema(x)
        return torch.cat([input_preview(x), fake, y], dim=0)
