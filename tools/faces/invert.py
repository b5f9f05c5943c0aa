"""GAN inversion for `--from-photo` (the iGAN hybrid): an encoder's guess of w, refined by optimization.

The inverter is a `MultiHeadEncoder` regressing the (standardized) w of generated images; it is trained
on the generator's own samples, so it needs no real data. `invert` crops the photo to a centered square,
checks with the head analyzer that it shows a face, predicts w, then optimizes w (one w for every style
layer, so pose control still applies) to reproduce the photo: pixel L1 plus the analyzer's features.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan2d.checkpoint import load_checkpoint, save_checkpoint
from gan2d.errors import CheckpointError, ConfigError
from gan2d.nets.regressor import MultiHeadEncoder, MultiHeadEncoderConfig
from gan2d.train.supervised import FitConfig, fit
from tools.errors import ToolError
from tools.faces.analyzer import HeadAnalyzer
from tools.faces.control import StyleGenerator, render, sample_ws

KIND = "faces.inverter"
FACE_THRESHOLD = 0.5


class Inverter(nn.Module):
    """Image `[B, 3, R, R]` in [-1, 1] → w `[B, w_dim]` (the encoder predicts `(w − w_mean) / w_std`)."""

    def __init__(self, encoder: MultiHeadEncoder, w_mean: torch.Tensor, w_std: torch.Tensor) -> None:
        super().__init__()
        if dict(encoder.config.heads) != {"w": w_mean.numel()}:
            raise ConfigError(f"an inverter needs one head 'w' of width {w_mean.numel()}, got {encoder.config.heads}")
        self.encoder = encoder
        self.register_buffer("w_mean", w_mean.float())
        self.register_buffer("w_std", w_std.float())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images)["w"] * self.w_std + self.w_mean


@dataclass(frozen=True)
class InverterTrainConfig:
    """Settings of an inverter run: a pool of `pool` generated (image, w) pairs, then `steps` steps."""

    pool: int = 6000
    steps: int = 2000
    batch: int = 32
    lr: float = 2e-3
    base_channels: int = 12
    max_channels: int = 128
    truncation: tuple[float, float] = (0.4, 1.0)
    seed: int = 0


def train_inverter(G: StyleGenerator, cfg: InverterTrainConfig, run_dir: str | Path | None = None,
                   progress: bool = True) -> Inverter:
    """Train an inverter on `cfg.pool` samples of `G` (truncation drawn per sample); resumable via `run_dir`."""
    g = torch.Generator().manual_seed(cfg.seed)
    psi = cfg.truncation[0] + (cfg.truncation[1] - cfg.truncation[0]) * torch.rand(cfg.pool, 1, generator=g)
    ws = sample_ws(G, cfg.pool, cfg.seed, 1.0)[:, 0]
    ws = G.mapping.w_avg + psi * (ws - G.mapping.w_avg)
    images = render(G, ws[:, None].expand(-1, G.num_ws, -1))
    mean, std = ws.mean(0), ws.std(0).clamp(min=1e-4)
    torch.manual_seed(cfg.seed)
    enc = MultiHeadEncoder(MultiHeadEncoderConfig(heads=(("w", G.w_dim),), resolution=G.img_resolution,
                                                  base_channels=cfg.base_channels, max_channels=cfg.max_channels))
    inverter = Inverter(enc, mean, std)

    def batches(gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        i = torch.randint(cfg.pool, (cfg.batch,), generator=gen)
        return images[i], (ws[i] - mean) / std

    def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        x, target = batch
        err = F.mse_loss(model.encoder(x)["w"], target)
        return err, {"mse": err.item()}

    fit(inverter, batches, loss_fn, FitConfig(steps=cfg.steps, lr=cfg.lr, warmup=100, seed=cfg.seed), run_dir, progress)
    return inverter.eval()


def save_inverter(path: str | os.PathLike, inverter: Inverter, extra: dict[str, Any] | None = None) -> Path:
    """Write the inverter as a gan2d checkpoint."""
    return save_checkpoint(path, KIND, {"encoder": inverter.encoder.config.to_dict()}, inverter.state_dict(), extra)


def load_inverter(path: str | os.PathLike) -> Inverter:
    """Load an inverter (eval mode).

    Raises:
        CheckpointError: missing/corrupt file, another kind, or weights that do not fit.
    """
    kind, config, state, _ = load_checkpoint(path)
    if kind != KIND:
        raise CheckpointError(f"{path} holds a {kind!r} checkpoint, not an inverter")
    try:
        enc = MultiHeadEncoder(MultiHeadEncoderConfig.from_dict(config["encoder"]))
        width = dict(enc.config.heads)["w"]
        inverter = Inverter(enc, torch.zeros(width), torch.ones(width))
        inverter.load_state_dict(state, strict=True)
    except (KeyError, TypeError, ConfigError, RuntimeError) as e:
        raise CheckpointError(f"{path}: inverter weights do not fit their config ({e})") from e
    return inverter.eval()


def load_photo(path: str | os.PathLike, resolution: int) -> torch.Tensor:
    """A photo as a `[1, 3, R, R]` gan2d image: centered square crop, Lanczos-resized.

    Raises:
        ImageIOError: missing, unreadable or huge file.
    """
    from PIL import Image

    from render3d.io.images import read_image

    img = read_image(path).convert("RGB")
    w, h = img.size
    side = min(w, h)
    img = img.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
    arr = np.asarray(img.resize((resolution, resolution), Image.Resampling.LANCZOS), dtype=np.float32)
    return torch.from_numpy(arr).permute(2, 0, 1)[None] / 127.5 - 1.0


@dataclass(frozen=True)
class InversionResult:
    """`ws [1, L, D]`, the reconstruction `[1, 3, R, R]`, its pixel L1 to the photo, the face score."""

    ws: torch.Tensor
    reconstruction: torch.Tensor
    l1: float
    encoder_l1: float
    face_score: float


def invert(G: StyleGenerator, photo: torch.Tensor, analyzer: HeadAnalyzer | None, inverter: Inverter | None,
           steps: int = 150, lr: float = 0.02, feature_weight: float = 0.1, name: str = "photo") -> InversionResult:
    """Invert a `[1, 3, R, R]` photo (at the generator's resolution) into W.

    Raises:
        ToolError: the analyzer finds no face in the photo.
    """
    score = float("nan")
    if analyzer is not None:
        with torch.no_grad():
            score = float(analyzer.analyze(photo)["face"][0])
        if score < FACE_THRESHOLD:
            raise ToolError(f"{name}: no face found (face score {score:.2f} < {FACE_THRESHOLD})")
    with torch.no_grad():
        w0 = inverter(photo) if inverter is not None and inverter.w_mean.numel() == G.w_dim else \
            G.mapping.w_avg[None].clone()
        start = render(G, w0[:, None].expand(-1, G.num_ws, -1))
        target_feat = analyzer.features(photo) if analyzer is not None else None
    w = w0.clone().requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        img = G.synthesis(w[:, None].expand(-1, G.num_ws, -1), noise_mode="const")
        loss = (img - photo).abs().mean()
        if target_feat is not None:
            loss = loss + feature_weight * F.mse_loss(analyzer.features(img), target_feat)
        (w.grad,) = torch.autograd.grad(loss, [w])  # no gradients into G's or the analyzer's weights
        opt.step()
    ws = w.detach()[:, None].expand(-1, G.num_ws, -1).clone()
    recon = render(G, ws)
    return InversionResult(ws, recon, float((recon - photo).abs().mean()), float((start - photo).abs().mean()), score)


@torch.no_grad()
def inverter_scores(G: StyleGenerator, inverter: Inverter, n: int = 64, refine: int = 8, seed: int = 12345
                    ) -> dict[str, float]:
    """Held-out scores on fresh samples (truncation 0.7): standardized latent MSE and image L1 of the encoder's
    guess, and image L1 before/after optimization for the first `refine` samples."""
    ws = sample_ws(G, n, seed, 0.7)
    images = render(G, ws)
    pred = inverter(images)
    recon = render(G, pred[:, None].expand(-1, G.num_ws, -1))
    mse = float((((pred - ws[:, 0]) / inverter.w_std) ** 2).mean())
    with torch.enable_grad():
        refined = [invert(G, images[i:i + 1], None, inverter, steps=100) for i in range(refine)]
    return {"latent_mse": mse, "encoder_l1": float((recon - images).abs().mean()),
            "refine_l1_before": sum(r.encoder_l1 for r in refined) / refine,
            "refine_l1_after": sum(r.l1 for r in refined) / refine, "samples": n}


def config_dict(cfg: InverterTrainConfig) -> dict[str, Any]:
    """JSON-ready settings."""
    return asdict(cfg)
