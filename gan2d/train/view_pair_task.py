"""StyleGAN2 with a view-pair discriminator: two views of one latent must look like two views of one object.

A conditional generator (the label is the view, e.g. a camera pose) is free to change the object
along with the view: each image's discriminator only asks whether that image is real at that label.
The view-pair discriminator `P` sees two images side by side (channels concatenated) with both
labels, and learns to tell two real views of one object (`gan2d.data.view_pairs`) from the
generator's two views of one latent at the same two labels, and from two real views of two different
objects (the pairs of the batch with their second views rolled by one: the "mismatched" negatives of
GAN-INT-CLS, which teach P what "the same object" means from real data alone, before G's pairs are
good enough to teach it anything). Its judgment enters G's loss with weight `view_pair_weight`, so
a turn that changes the object (its shape, colors, lighting) costs G.

An optional frozen identity embedding (images → descriptors scaled so that distinct objects lie about
1 apart) adds `view_identity_weight · |e(view a) − e(view b)|²` of G's pairs to G's loss: a direct
"same object" term where P is too weak to see a change. Alone it also pays G for making all objects alike (the
distance shrinks with the spread); `view_identity_relative` divides it by the mean squared distance between the
views of different latents in the batch, the ratio that the drift measure reads. Measure the result with another
embedding than the one trained against. An optional frozen pose estimator (images → poses in label units) adds
`view_pose_weight · |pose(view) − label|²`: with the identity term alone, views that stop turning would cost
nothing, and this holds every view at its requested label.

Phases: the four of `StyleGAN2Task` on the pair's first views, then `P_main` (logistic loss on real
pairs vs the mean of generated and mismatched pairs) and `P_reg` (lazy R1 on real pairs). `G_main`
generates its batch as pairs (half the batch's latents, each at both labels of a real pair), so the
single-image loss sees as many images as before and the pair term adds no synthesis.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gan2d.errors import ConfigError
from gan2d.losses.regularizers import r1_loss
from gan2d.train.config import TrainConfig
from gan2d.train.diffaug import diff_augment
from gan2d.train.loop import Batch, Phase
from gan2d.train.stylegan2_task import StyleGAN2LossConfig, StyleGAN2Task, StyleGenerator, lazy_adam


class ViewPairTask(StyleGAN2Task):
    """G, D, G_ema and the view-pair discriminator P, trained on batches `(img_a, c_a, img_b, c_b)`.

    Args:
        G: a conditional generator (`c_dim > 0`).
        D: single-image discriminator `D(img [B, C, R, R], c [B, c_dim])`.
        P: pair discriminator `P(img [B, 2C, R, R], c [B, 2·c_dim])`.
        train: loop settings (P uses D's learning rate and betas).
        loss: loss settings; `view_pair_weight` > 0.
        identity: frozen embedding `[B, C, R, R]` → `[B, K]` for `view_identity_weight` (None: no such term).
        pose: frozen estimator `[B, C, R, R]` → `[B, c_dim]` poses in label units for `view_pose_weight`.

    Raises:
        ConfigError: an unconditional G, `view_pair_weight` 0, an odd batch, or `view_identity_weight` /
            `view_pose_weight` > 0 without an identity embedding / pose estimator.
    """

    def __init__(self, G: StyleGenerator, D: nn.Module, P: nn.Module, train: TrainConfig,
                 loss: StyleGAN2LossConfig, identity: nn.Module | None = None, pose: nn.Module | None = None
                 ) -> None:
        if G.c_dim == 0:
            raise ConfigError("view pairs need a conditional generator (its label is the view)")
        if loss.view_pair_weight <= 0:
            raise ConfigError("ViewPairTask needs view_pair_weight > 0")
        if train.batch_size % 2:
            raise ConfigError(f"view-pair training needs an even batch, got {train.batch_size}")
        if loss.view_identity_weight > 0 and identity is None:
            raise ConfigError("view_identity_weight > 0 needs an identity embedding")
        if loss.view_pose_weight > 0 and pose is None:
            raise ConfigError("view_pose_weight > 0 needs a pose estimator")
        super().__init__(G, D, train, loss)
        self.identity = None if identity is None else identity.eval().requires_grad_(False)
        self.pose = None if pose is None else pose.eval().requires_grad_(False)
        self.P = P
        self.networks["P"] = P
        d_reg = loss.r1_interval if loss.r1_gamma > 0 else None
        self.optimizers["P"] = lazy_adam(list(P.parameters()), train.lr_d, train.betas_d, d_reg)
        pair_phases = [Phase("P_main", P, self.optimizers["P"], self._p_main)]
        if d_reg:
            pair_phases.append(Phase("P_reg", P, self.optimizers["P"], self._p_reg, d_reg, mixed_precision=False))
        # P learns from the same step's data before G is judged by it, as D does.
        g_first = next(i for i, p in enumerate(self.phases) if p.name == "G_main")
        self.phases[g_first:g_first] = pair_phases

    def _d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return super()._d_main(batch[:2])

    def _d_reg(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return super()._d_reg(batch[:2])

    def _g_reg(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return super()._g_reg(batch[:2])

    def _pair_logits(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """P on side-by-side pairs `x [B, 2C, R, R]` with both labels `c [B, 2·c_dim]`."""
        if self.loss_config.diffaug:
            x = diff_augment(x, self.loss_config.diffaug)  # one augmentation for both views of a pair
        return self.P(x, c)

    def _pair_discriminate(self, a: torch.Tensor, b: torch.Tensor, c_a: torch.Tensor, c_b: torch.Tensor
                           ) -> torch.Tensor:
        return self._pair_logits(torch.cat([a, b], 1), torch.cat([c_a, c_b], 1))

    def _fake_pairs(self, c_a: torch.Tensor, c_b: torch.Tensor, update_emas: bool
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Each of `len(c_a)` latents rendered at `c_a[i]` and `c_b[i]`: images `[2n, C, R, R]` (first
        views, then second views)."""
        n = c_a.shape[0]
        fake, _ = self._generate(2 * n, torch.cat([c_a, c_b]), update_emas=update_emas, repeat=2)
        return fake

    def _p_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real_a, c_a, real_b, c_b = batch
        n = max(1, real_a.shape[0] // 2)
        perm = torch.randperm(real_a.shape[0], device=c_a.device)[:n]  # fake pairs at real pairs' labels
        with torch.no_grad():
            fake = self._fake_pairs(c_a[perm], c_b[perm], update_emas=False)
        fake_logits = self._pair_discriminate(fake[:n], fake[n:], c_a[perm], c_b[perm])
        real_logits = self._pair_discriminate(real_a[:n], real_b[:n], c_a[:n], c_b[:n])
        other = torch.arange(n, device=c_a.device).roll(1)  # each first view with another object's second view
        mismatch_logits = self._pair_discriminate(real_a[:n], real_b[other], c_a[:n], c_b[other])
        loss = (F.softplus(-real_logits).mean()
                + 0.5 * (F.softplus(fake_logits).mean() + F.softplus(mismatch_logits).mean()))
        return loss, {"real_score": real_logits.mean(), "fake_score": fake_logits.mean(),
                      "mismatch_score": mismatch_logits.mean()}

    def _p_reg(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real_a, c_a, real_b, c_b = batch
        n = max(1, real_a.shape[0] // 2)
        x = torch.cat([real_a[:n], real_b[:n]], 1).detach().requires_grad_(True)
        logits = self._pair_logits(x, torch.cat([c_a[:n], c_b[:n]], 1))
        return r1_loss(logits, x, self.loss_config.r1_gamma, self.loss_config.r1_interval), {}

    def _g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real_a, c_a, _, c_b = batch
        n = real_a.shape[0] // 2
        perm = torch.randperm(real_a.shape[0], device=c_a.device)[:n]
        ca, cb = c_a[perm], c_b[perm]
        fake = self._fake_pairs(ca, cb, update_emas=False)
        single = F.softplus(-self._discriminate(fake, torch.cat([ca, cb]))).mean()
        pair = F.softplus(-self._pair_discriminate(fake[:n], fake[n:], ca, cb)).mean()
        loss = single + self.loss_config.view_pair_weight * pair
        stats = {"single": single.detach(), "pair": pair.detach()}
        if self.loss_config.view_identity_weight > 0:
            e = self.identity(fake)
            same = (e[:n] - e[n:]).square().sum(1).mean()
            stats["identity"] = same.detach()
            if self.loss_config.view_identity_relative:
                apart = torch.cdist(e[:n], e[n:]).square()
                between = apart[~torch.eye(n, dtype=torch.bool, device=apart.device)].mean()
                same = same / between
                stats["identity_between"] = between.detach()
            loss = loss + self.loss_config.view_identity_weight * same
        if self.loss_config.view_pose_weight > 0:
            miss = (self.pose(fake) - torch.cat([ca, cb])).square().sum(1).mean()
            loss = loss + self.loss_config.view_pose_weight * miss
            stats["pose"] = miss.detach()
        return loss, stats
