"""Tiny stand-ins with the StyleGAN2 generator/discriminator interface, fast enough for loop tests on a busy CPU."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ToyConfig:
    resolution: int = 16
    z_dim: int = 8
    w_dim: int = 16
    num_ws: int = 2
    width: int = 16

    def to_dict(self) -> dict:
        return asdict(self)


class ToyMapping(nn.Module):
    def __init__(self, cfg: ToyConfig) -> None:
        super().__init__()
        self.num_ws = cfg.num_ws
        self.net = nn.Sequential(nn.Linear(cfg.z_dim, cfg.w_dim), nn.LeakyReLU(0.2), nn.Linear(cfg.w_dim, cfg.w_dim))
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def forward(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, update_emas=False):
        w = self.net(z)
        if update_emas:
            self.w_avg.copy_(w.detach().mean(0).lerp(self.w_avg, 0.995))
        return w[:, None].repeat(1, self.num_ws, 1)


class ToySynthesis(nn.Module):
    def __init__(self, cfg: ToyConfig) -> None:
        super().__init__()
        self.cfg = cfg
        r4 = cfg.resolution // 4
        self.fc0 = nn.Linear(cfg.w_dim, cfg.width * r4 * r4)
        self.fc1 = nn.Linear(cfg.w_dim, cfg.width)
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2), nn.Conv2d(cfg.width, cfg.width, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2), nn.Conv2d(cfg.width, 3, 3, padding=1),
        )

    def forward(self, ws, noise_mode="random"):
        r4 = self.cfg.resolution // 4
        x = self.fc0(ws[:, 0]).view(-1, self.cfg.width, r4, r4)
        x = torch.nn.functional.leaky_relu(x * (1 + self.fc1(ws[:, 1]))[:, :, None, None], 0.2)
        img = self.up(x)
        if noise_mode == "random":
            img = img + 0.01 * torch.randn_like(img)
        return img


class ToyGenerator(nn.Module):
    def __init__(self, cfg: ToyConfig | None = None) -> None:
        super().__init__()
        self.config = cfg or ToyConfig()
        self.z_dim, self.c_dim, self.num_ws = self.config.z_dim, 0, self.config.num_ws
        self.mapping = ToyMapping(self.config)
        self.synthesis = ToySynthesis(self.config)

    def forward(self, z, c=None, noise_mode="random"):
        return self.synthesis(self.mapping(z, c), noise_mode=noise_mode)


class ToyDiscriminator(nn.Module):
    def __init__(self, cfg: ToyConfig | None = None) -> None:
        super().__init__()
        self.config = cfg or ToyConfig()
        w = self.config.width
        self.net = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1, stride=2), nn.LeakyReLU(0.2),
            nn.Conv2d(w, w, 3, padding=1, stride=2), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(w * (self.config.resolution // 4) ** 2, 1),
        )

    def forward(self, img, c=None):
        return self.net(img)
