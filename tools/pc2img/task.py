"""The pc2img training task for the shared `gan2d.train.loop`: G = all three stages, D = a multi-scale PatchGAN.

`G_main` trains every stage at once, each with its own target:

- visibility: binary cross-entropy against the ground-truth visibility of each pixel's nearest point,
  hidden pixels weighted up (only a few percent of covered pixels show a hidden point: unweighted, the
  stage learns to call everything visible);
- coarse: L1 of the composited image and of alpha;
- refiner: multi-scale PatchGAN hinge loss, discriminator feature matching and L1 (+ VGG perceptual
  when a `PerceptualLoss` is given), on the image composited over the sample's own background.

`D_main` is the hinge loss of D on `cat(condition, image)`, the condition being the splat's colors and
coverage, so D judges whether an image fits its points.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gan2d.errors import ConfigError
from gan2d.losses.adversarial import hinge_d_loss, hinge_g_loss
from gan2d.losses.feature_matching import feature_matching_loss
from gan2d.losses.perceptual import PerceptualLoss
from gan2d.nets.patchgan import MultiScalePatchGAN, patch_logits
from gan2d.train.config import TrainConfig
from gan2d.train.loop import Batch, Phase
from tools.pc2img.model import Pc2ImgModel, Stages, composite

CONDITION_CHANNELS = 4  # splat colors (3) + coverage


@dataclass(frozen=True)
class Pc2ImgLossConfig:
    """Loss weights.

    Args:
        vis_weight: visibility BCE.
        vis_hidden_weight: weight of covered pixels whose nearest point is hidden in that BCE (visible: 1).
        coarse_weight: L1 of the coarse image and alpha.
        l1_weight: L1 of the refined image and alpha.
        fm_weight: discriminator feature matching.
        adv_weight: hinge adversarial loss of the refiner.
        perceptual_weight: VGG perceptual loss (needs a local VGG file).
        num_samples: views shown in each sample grid.
    """

    vis_weight: float = 1.0
    vis_hidden_weight: float = 8.0
    coarse_weight: float = 10.0
    l1_weight: float = 10.0
    fm_weight: float = 2.0
    adv_weight: float = 0.1
    perceptual_weight: float = 0.0
    num_samples: int = 6

    def __post_init__(self) -> None:
        if min(self.vis_weight, self.vis_hidden_weight, self.coarse_weight, self.l1_weight, self.fm_weight,
               self.adv_weight, self.perceptual_weight) < 0 or self.num_samples < 1:
            raise ConfigError("pc2img loss weights must be >= 0 and num_samples >= 1")


def condition(x: torch.Tensor, color_channels: int = 3) -> torch.Tensor:
    """D's condition `[B, 4, H, W]`: the splat colors (in [-1, 1]) and coverage (as ±1) from a net input."""
    return torch.cat([x[:, 2:2 + color_channels], x[:, :1] * 2 - 1], 1)


def _to_pm1(img: torch.Tensor) -> torch.Tensor:
    return img * 2 - 1


class Pc2ImgTask:
    """Networks, optimizers and phases of a pc2img run (see the module docstring).

    Args:
        G: the three-stage model.
        D: PatchGAN with `in_channels = CONDITION_CHANNELS + 3`.
        train: loop settings.
        loss: loss weights.
        sample_batch: a fixed batch from the dataset, shown in the sample grids.
        perceptual: VGG perceptual loss (required when `loss.perceptual_weight > 0`).
    """

    def __init__(self, G: Pc2ImgModel, D: MultiScalePatchGAN, train: TrainConfig, loss: Pc2ImgLossConfig,
                 sample_batch: tuple[torch.Tensor, ...], perceptual: PerceptualLoss | None = None) -> None:
        if loss.perceptual_weight > 0 and perceptual is None:
            raise ConfigError("perceptual_weight > 0 needs a PerceptualLoss (VGG weights from a local file)")
        self.G, self.D, self.loss_config, self.perceptual = G, D, loss, perceptual
        self.G_ema = copy.deepcopy(G).eval().requires_grad_(False)
        self.networks: dict[str, nn.Module] = {"G": G, "D": D, "G_ema": self.G_ema}
        self.ema_pairs = [("G", "G_ema")]
        self.aux: dict[str, nn.Module] = {}
        self.optimizers = {
            "G": torch.optim.Adam(G.parameters(), lr=train.lr_g, betas=train.betas_g),
            "D": torch.optim.Adam(D.parameters(), lr=train.lr_d, betas=train.betas_d),
        }
        self.phases = [Phase("D_main", D, self.optimizers["D"], self._d_main),
                       Phase("G_main", G, self.optimizers["G"], self._g_main)]
        self.sample_batch = tuple(t[:loss.num_samples] for t in sample_batch)
        self.sample_columns = self.sample_batch[0].shape[0]

    def _images(self, stages: Stages, bg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (_to_pm1(composite(stages.coarse_rgb, stages.coarse_alpha, bg)),
                _to_pm1(composite(stages.rgb, stages.alpha, bg)))

    def _d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, rgb, _, _, bg, _ = batch
        cond = condition(x)
        with torch.no_grad():
            fake = self._images(self.G(x), bg)[1]
        fake_logits = patch_logits(self.D(torch.cat([cond, fake], 1)))
        real_logits = patch_logits(self.D(torch.cat([cond, _to_pm1(rgb)], 1)))
        loss = sum(hinge_d_loss(r, f) for r, f in zip(real_logits, fake_logits, strict=True)) / len(real_logits)
        return loss, {"real_score": sum(r.mean() for r in real_logits) / len(real_logits)}

    def _g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, rgb, alpha, vis_target, bg, _ = batch
        cfg = self.loss_config
        stages = self.G(x)
        coarse, fake = self._images(stages, bg)
        real = _to_pm1(rgb)
        occ = x[:, :1]
        bce = F.binary_cross_entropy_with_logits(stages.visibility_logits, vis_target, reduction="none")
        w = occ * (1 + (cfg.vis_hidden_weight - 1) * (1 - vis_target))
        stats = {"vis_bce": (bce * w).sum() / w.sum().clamp(min=1),
                 "coarse_l1": (coarse - real).abs().mean() + (stages.coarse_alpha - alpha).abs().mean(),
                 "l1": (fake - real).abs().mean() + (stages.alpha - alpha).abs().mean()}
        loss = cfg.vis_weight * stats["vis_bce"] + cfg.coarse_weight * stats["coarse_l1"] \
            + cfg.l1_weight * stats["l1"]
        if cfg.adv_weight > 0 or cfg.fm_weight > 0:
            cond = condition(x)
            fake_feats = self.D(torch.cat([cond, fake], 1))
            stats["adv"] = sum(hinge_g_loss(f) for f in patch_logits(fake_feats)) / len(fake_feats)
            loss = loss + cfg.adv_weight * stats["adv"]
            if cfg.fm_weight > 0:
                with torch.no_grad():
                    real_feats = self.D(torch.cat([cond, real], 1))
                stats["fm"] = feature_matching_loss(fake_feats, real_feats)
                loss = loss + cfg.fm_weight * stats["fm"]
        if cfg.perceptual_weight > 0 and self.perceptual is not None:
            stats["perceptual"] = self.perceptual(fake, real)
            loss = loss + cfg.perceptual_weight * stats["perceptual"]
        with torch.no_grad():
            stats["vis_acc"] = (((stages.visibility_logits > 0).float() == vis_target).float() * occ).sum() \
                / occ.sum().clamp(min=1)
        return loss, stats

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """Rows: naive splat, visibility, coarse, refined, ground truth: `[5N, 3, H, W]` in [-1, 1]."""
        dev = next(self.G_ema.parameters()).device
        x, rgb, _, _, bg, _ = (t.to(dev) for t in self.sample_batch)
        stages = self.G_ema(x)
        coarse, fake = self._images(stages, bg)
        occ = x[:, :1]
        naive = x[:, 2:5] * occ + _to_pm1(bg.reshape(-1, 3, 1, 1)) * (1 - occ)
        vis = _to_pm1(stages.visibility).expand(-1, 3, -1, -1)
        return torch.cat([naive, vis, coarse, fake, _to_pm1(rgb)], 0)
