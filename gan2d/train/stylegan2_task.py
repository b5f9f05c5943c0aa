"""StyleGAN2 training task: non-saturating logistic loss, lazy R1, path-length regularization, style mixing, EMA.

Phases (run in this order each step when due): `D_main` (logistic loss on real and generated
images), `D_reg` (R1 every `r1_interval` steps), `G_main` (non-saturating loss), `G_reg`
(path length every `pl_interval` steps). Lazy phases scale their loss by the interval, and the
optimizers of lazily regularized networks get StyleGAN2's corrected lr and betas
(`c = k / (k + 1)`: `lr·c`, `β^c`), so the schedule matches regularizing every step.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from gan2d.errors import ConfigError
from gan2d.losses.regularizers import PathLengthRegularizer, path_length_noise, path_lengths, r1_loss
from gan2d.train.config import TrainConfig, check_finite
from gan2d.train.diffaug import check_policy, diff_augment
from gan2d.train.loop import Batch, Phase


class StyleGenerator(Protocol):
    """The generator interface the task needs (met by `gan2d.nets.stylegan2.Generator`)."""

    z_dim: int
    c_dim: int
    num_ws: int
    mapping: nn.Module
    synthesis: nn.Module


@dataclass(frozen=True)
class StyleGAN2LossConfig:
    """Loss and regularization settings (StyleGAN2-ADA defaults).

    Args:
        r1_gamma: R1 weight γ (0 disables `D_reg`).
        r1_interval: lazy R1 interval.
        pl_weight: path-length weight (0 disables `G_reg`).
        pl_interval: lazy path-length interval.
        pl_batch_shrink: `G_reg` uses batch // shrink samples.
        pl_decay: running-mean decay of the path length.
        style_mixing_prob: probability of mixing two latents at a random layer during training.
        diffaug: DiffAugment policy applied to every image D sees, e.g. ("color", "translation", "cutout").
        num_samples: images in each sample grid.
        view_pair_weight: weight of the view-pair discriminator's term in G's loss (0 = plain StyleGAN2;
            > 0 trains `gan2d.train.view_pair_task.ViewPairTask` on pairs of views of one object).
        view_identity_weight: weight of the identity-embedding agreement of G's view pairs (view pairs only).
        view_identity_relative: divide that agreement by the mean squared distance between different latents'
            views in the batch, so that making every identity alike does not pay.
        d_warmup_kimg: thousands of images the discriminators train alone before G's phases start (for a run
            that starts a trained generator against a fresh discriminator; 0 = none).
        view_pose_weight: weight of a frozen pose estimator's error on G's view pairs against their labels (view
            pairs only): it holds each view at its label where an identity term alone would pull views together.
        g_trainable: names of the G submodules its phases train, e.g. `("mapping.view0",)`; the rest of G stays
            frozen (a fine-tune of one part). Empty: all of G.
    """

    r1_gamma: float = 10.0
    r1_interval: int = 16
    pl_weight: float = 2.0
    pl_interval: int = 4
    pl_batch_shrink: int = 2
    pl_decay: float = 0.01
    style_mixing_prob: float = 0.9
    diffaug: tuple[str, ...] = field(default=())
    num_samples: int = 16
    view_pair_weight: float = 0.0
    view_identity_weight: float = 0.0
    view_identity_relative: bool = False
    d_warmup_kimg: float = 0.0
    view_pose_weight: float = 0.0
    g_trainable: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        check_finite(self)
        object.__setattr__(self, "diffaug", tuple(self.diffaug))
        object.__setattr__(self, "g_trainable", tuple(self.g_trainable))
        check_policy(self.diffaug)
        if min(self.r1_gamma, self.pl_weight, self.view_pair_weight, self.view_identity_weight,
               self.d_warmup_kimg, self.view_pose_weight) < 0:
            raise ConfigError("r1_gamma, pl_weight, view_pair_weight, view_identity_weight, d_warmup_kimg and "
                              "view_pose_weight must be >= 0")
        if min(self.r1_interval, self.pl_interval, self.pl_batch_shrink, self.num_samples) < 1:
            raise ConfigError("r1_interval, pl_interval, pl_batch_shrink and num_samples must be >= 1")
        if not 0.0 <= self.style_mixing_prob <= 1.0:
            raise ConfigError(f"style_mixing_prob must be in [0, 1], got {self.style_mixing_prob}")


def lazy_adam(
    params: list[nn.Parameter], lr: float, betas: tuple[float, float], reg_interval: int | None
) -> torch.optim.Adam:
    """Adam with StyleGAN2's lazy-regularization correction (`lr·c`, `β^c`, `c = k/(k+1)`) if `reg_interval`."""
    if reg_interval:
        c = reg_interval / (reg_interval + 1)
        lr, betas = lr * c, (betas[0] ** c, betas[1] ** c)
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=1e-8)


def trainable_part(G: nn.Module, names: tuple[str, ...]) -> nn.Module:
    """What G's phases train: G itself (`names` empty), or its submodules `names` in one container, the rest of G
    frozen for good (the loop only switches gradients of the phases' modules).

    Raises:
        ConfigError: a name that is not a submodule of G.
    """
    if not names:
        return G
    parts = []
    for name in names:
        try:
            parts.append(G.get_submodule(name))
        except AttributeError:
            raise ConfigError(f"g_trainable names {name!r}, which is not a submodule of the generator") from None
    G.requires_grad_(False)
    return nn.ModuleList(parts)


class StyleGAN2Task:
    """Holds G, D, G_ema, their optimizers and the four phases.

    Args:
        G: generator with `mapping(z, c, update_emas=...)` → `[B, num_ws, w_dim]` and `synthesis(ws, noise_mode=...)`.
        D: discriminator `D(img, c)` → `[B, 1]`.
        train: loop settings (learning rates, betas, batch size, seed).
        loss: loss settings.

    Example:
        >>> from gan2d.nets.stylegan2 import Generator, GeneratorConfig, Discriminator, DiscriminatorConfig
        >>> task = StyleGAN2Task(Generator(GeneratorConfig(16)), Discriminator(DiscriminatorConfig(16)),
        ...                      TrainConfig(batch_size=4), StyleGAN2LossConfig())  # doctest: +SKIP
    """

    def __init__(self, G: StyleGenerator, D: nn.Module, train: TrainConfig, loss: StyleGAN2LossConfig) -> None:
        self.G, self.D, self.loss_config = G, D, loss
        self.G_ema = copy.deepcopy(G).eval().requires_grad_(False)
        g_module = trainable_part(G, loss.g_trainable)
        self.networks: dict[str, nn.Module] = {"G": G, "D": D, "G_ema": self.G_ema}
        self.ema_pairs = [("G", "G_ema")]
        self.sample_columns: int | None = None
        self.pl = PathLengthRegularizer(loss.pl_weight, loss.pl_decay)
        self.aux: dict[str, nn.Module] = {"pl": self.pl}
        g_reg = loss.pl_interval if loss.pl_weight > 0 else None
        d_reg = loss.r1_interval if loss.r1_gamma > 0 else None
        self.optimizers = {
            "G": lazy_adam(list(g_module.parameters()), train.lr_g, train.betas_g, g_reg),
            "D": lazy_adam(list(D.parameters()), train.lr_d, train.betas_d, d_reg),
        }
        self.phases = [Phase("D_main", D, self.optimizers["D"], self._d_main)]
        if d_reg:
            self.phases.append(Phase("D_reg", D, self.optimizers["D"], self._d_reg, d_reg, mixed_precision=False))
        wait = loss.d_warmup_kimg
        self.phases.append(Phase("G_main", g_module, self.optimizers["G"], self._g_main, start_kimg=wait))
        if g_reg:
            self.phases.append(Phase("G_reg", g_module, self.optimizers["G"], self._g_reg, g_reg,
                                     mixed_precision=False, start_kimg=wait))
        gen = torch.Generator().manual_seed(train.seed)
        n = loss.num_samples
        self.sample_z = torch.randn(n, G.z_dim, generator=gen) if G.z_dim else None
        self.sample_c = F.one_hot(torch.arange(n) % G.c_dim, G.c_dim).float() if G.c_dim else None

    def _device(self) -> torch.device:
        return next(self.G.parameters()).device

    def _gen_labels(self, c: torch.Tensor) -> torch.Tensor | None:
        # Generated images get labels drawn from the real batch's (i.e. the data's) label distribution.
        if self.G.c_dim == 0:
            return None
        return c[torch.randperm(c.shape[0], device=c.device)]

    def _generate(self, n: int, c: torch.Tensor | None, update_emas: bool, repeat: int = 1
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        # `repeat` > 1: n // repeat latents (and mixing latents), each shown `repeat` times, in blocks
        # ([z0..zk, z0..zk, ...]), so that block j of `c` gives every latent its j-th label.
        dev = self._device()
        z = torch.randn(n // repeat, self.G.z_dim, device=dev).repeat(repeat, 1) if self.G.z_dim else None
        ws = self.G.mapping(z, c, update_emas=update_emas)
        if self.loss_config.style_mixing_prob > 0 and self.G.z_dim and ws.shape[1] > 1:
            cutoff = torch.randint(1, ws.shape[1], (), device=dev)
            cutoff = torch.where(torch.rand((), device=dev) < self.loss_config.style_mixing_prob, cutoff, ws.shape[1])
            mixed = self.G.mapping(torch.randn(n // repeat, self.G.z_dim, device=dev).repeat(repeat, 1), c,
                                   update_emas=False)
            ws = torch.where(torch.arange(ws.shape[1], device=dev)[None, :, None] < cutoff, ws, mixed)
        return self.G.synthesis(ws), ws

    def _discriminate(self, img: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        if self.loss_config.diffaug:
            img = diff_augment(img, self.loss_config.diffaug)
        return self.D(img, c)

    def _d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real, c = batch
        c = c if self.G.c_dim else None
        gen_c = self._gen_labels(c) if c is not None else None
        with torch.no_grad():
            fake, _ = self._generate(real.shape[0], gen_c, update_emas=True)
        fake_logits = self._discriminate(fake, gen_c)
        real_logits = self._discriminate(real, c)
        loss = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        return loss, {"real_score": real_logits.mean(), "fake_score": fake_logits.mean()}

    def _d_reg(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real, c = batch
        real = real.detach().requires_grad_(True)
        logits = self._discriminate(real, c if self.G.c_dim else None)
        loss = r1_loss(logits, real, self.loss_config.r1_gamma, self.loss_config.r1_interval)
        return loss, {}

    def _g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real, c = batch
        gen_c = self._gen_labels(c) if self.G.c_dim else None
        fake, _ = self._generate(real.shape[0], gen_c, update_emas=False)
        logits = self._discriminate(fake, gen_c)
        return F.softplus(-logits).mean(), {}

    def _g_reg(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real, c = batch
        n = max(1, real.shape[0] // self.loss_config.pl_batch_shrink)
        gen_c = self._gen_labels(c)[:n] if self.G.c_dim else None
        fake, ws = self._generate(n, gen_c, update_emas=False)
        loss = self.pl(fake, ws, path_length_noise(fake), interval=self.loss_config.pl_interval)
        return loss, {"pl_mean": self.pl.mean.detach().clone()}

    def measure_path_length(self, labels: torch.Tensor, batch: int = 8) -> float:
        """Set the path-length regularizer's running mean to G's mean path length now, over one sample per row
        of `labels` (`[N, c_dim]`, the data's labels; `[N, 0]` for an unconditional G), drawn as `G_reg` draws
        them: for a run whose generator comes without its training state, where from a mean of 0 the penalty
        would pull a trained generator's path lengths toward 0. Returns the mean."""
        lengths = []
        for c in labels.to(self._device()).split(batch):
            fake, ws = self._generate(len(c), c if self.G.c_dim else None, update_emas=False)
            lengths.append(path_lengths(fake, ws, path_length_noise(fake)).detach())
        self.pl.mean.copy_(torch.cat(lengths).mean())
        return float(self.pl.mean)

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """G_ema images of the fixed sample latents with constant noise: `[num_samples, C, R, R]`."""
        dev = self._device()
        z = self.sample_z.to(dev) if self.sample_z is not None else None
        c = self.sample_c.to(dev) if self.sample_c is not None else None
        ws = self.G_ema.mapping(z, c)
        return self.G_ema.synthesis(ws, noise_mode="const")
