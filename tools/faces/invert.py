"""GAN inversion for `--from-photo` (the iGAN hybrid): an encoder's guess of w, refined by optimization.

The inverter is a `MultiHeadEncoder` regressing the (standardized) w of generated images; it is trained
on the generator's own samples, so it needs no real data. `invert` crops the photo to a centered square,
checks with the head analyzer that it shows a face, predicts w, then optimizes w (one w for every style
layer, so pose control still applies) to reproduce the photo: pixel L1 plus the analyzer's features.

A pose-conditioned generator (`tools.faces.condition`) is inverted the same way into its label-free w,
with the view label held at the photo's pose as the analyzer reads it: the inverter learns w from the
generator's samples at random labels over the trained pose range, and the optimization renders
through the label. The head then turns by its label alone.
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


def _styles(G: StyleGenerator, w: torch.Tensor, pose: torch.Tensor | None) -> torch.Tensor:
    """`[B, num_ws, w_dim]` styles of one w per image `[B, w_dim]`, viewed at `pose [B, 2]` degrees when `G` is
    pose-conditioned."""
    ws = w[:, None].expand(-1, G.num_ws, -1)
    if pose is None:
        return ws
    from tools.faces.pose_labels import encode_pose

    return G.mapping.view(ws, encode_pose(pose).to(w))


def sample_pairs(G: StyleGenerator, n: int, seed: int, psi: torch.Tensor | float, g: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(`[n, w_dim]` label-free w, `[n, 2]` poses or None, `[n, 3, R, R]` images) of `n` latents; a pose-conditioned
    `G` renders each at a pose drawn uniformly over its trained range."""
    from tools.faces.condition import is_pose_conditioned, sample_identity_ws

    conditioned = is_pose_conditioned(G)
    ws = (sample_identity_ws(G, n, seed) if conditioned else sample_ws(G, n, seed, 1.0))[:, 0]
    ws = G.mapping.w_avg + psi * (ws - G.mapping.w_avg)
    pose = None
    if conditioned:
        from tools.faces.pose_labels import POSE_SCALE

        pose = (torch.rand(n, 2, generator=g) * 2 - 1) * torch.tensor(POSE_SCALE)
    with torch.no_grad():
        images = render(G, _styles(G, ws, pose))
    return ws, pose, images


def train_inverter(G: StyleGenerator, cfg: InverterTrainConfig, run_dir: str | Path | None = None,
                   progress: bool = True) -> Inverter:
    """Train an inverter on `cfg.pool` samples of `G` (truncation drawn per sample; a pose-conditioned `G`'s at
    random poses, predicting the label-free w); resumable via `run_dir`."""
    g = torch.Generator().manual_seed(cfg.seed)
    psi = cfg.truncation[0] + (cfg.truncation[1] - cfg.truncation[0]) * torch.rand(cfg.pool, 1, generator=g)
    ws, _, images = sample_pairs(G, cfg.pool, cfg.seed, psi, g)
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
    """`ws [1, L, D]` (label-free for a pose-conditioned generator), the reconstruction `[1, 3, R, R]`, its pixel
    L1 to the photo (after / before optimization), the face score and the pose (yaw, pitch °) the view label was
    held at (None for a W-space generator)."""

    ws: torch.Tensor
    reconstruction: torch.Tensor
    l1: float
    encoder_l1: float
    face_score: float
    pose: tuple[float, float] | None = None


def invert(G: StyleGenerator, photo: torch.Tensor, analyzer: HeadAnalyzer | None, inverter: Inverter | None,
           steps: int = 150, lr: float = 0.02, feature_weight: float = 0.1, name: str = "photo",
           pose: torch.Tensor | None = None) -> InversionResult:
    """Invert a `[1, 3, R, R]` photo (at the generator's resolution) into W (a pose-conditioned generator: its
    label-free w, rendered at `pose [1, 2]` degrees if given, else at the analyzer's reading of the photo's pose,
    frontal without an analyzer).

    Raises:
        ToolError: the analyzer finds no face in the photo.
    """
    from tools.faces.condition import is_pose_conditioned

    score = float("nan")
    given = pose
    pose = (torch.zeros(1, 2) if pose is None else pose.float()) if is_pose_conditioned(G) else None
    if analyzer is not None:
        with torch.no_grad():
            reading = analyzer.analyze(photo)
        score = float(reading["face"][0])
        if score < FACE_THRESHOLD:
            raise ToolError(f"{name}: no face found (face score {score:.2f} < {FACE_THRESHOLD})")
        if pose is not None and given is None:
            pose = reading["pose"][:, :2].float()
    with torch.no_grad():
        w0 = inverter(photo) if inverter is not None and inverter.w_mean.numel() == G.w_dim else \
            G.mapping.w_avg[None].clone()
        start = render(G, _styles(G, w0, pose))
        target_feat = analyzer.features(photo) if analyzer is not None else None
    w = w0.clone().requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        img = G.synthesis(_styles(G, w, pose), noise_mode="const")
        loss = (img - photo).abs().mean()
        if target_feat is not None:
            loss = loss + feature_weight * F.mse_loss(analyzer.features(img), target_feat)
        (w.grad,) = torch.autograd.grad(loss, [w])  # no gradients into G's or the analyzer's weights
        opt.step()
    ws = w.detach()[:, None].expand(-1, G.num_ws, -1).clone()
    with torch.no_grad():
        recon = render(G, _styles(G, w.detach(), pose))
    return InversionResult(ws, recon, float((recon - photo).abs().mean()), float((start - photo).abs().mean()), score,
                           None if pose is None else tuple(float(v) for v in pose[0]))


@torch.no_grad()
def inverter_scores(G: StyleGenerator, inverter: Inverter, n: int = 64, refine: int = 8, seed: int = 12345
                    ) -> dict[str, float]:
    """Held-out scores on fresh samples (truncation 0.7): standardized latent MSE and image L1 of the encoder's
    guess, and image L1 before/after optimization for the first `refine` samples."""
    w, pose, images = sample_pairs(G, n, seed, 0.7, torch.Generator().manual_seed(seed))
    pred = inverter(images)
    recon = render(G, _styles(G, pred, pose))  # a conditioned G's at the sample's pose, which is not predicted
    mse = float((((pred - w) / inverter.w_std) ** 2).mean())
    with torch.enable_grad():
        refined = [invert(G, images[i:i + 1], None, inverter, steps=100, pose=None if pose is None else pose[i:i + 1])
                   for i in range(refine)]
    return {"latent_mse": mse, "encoder_l1": float((recon - images).abs().mean()),
            "refine_l1_before": sum(r.encoder_l1 for r in refined) / refine,
            "refine_l1_after": sum(r.l1 for r in refined) / refine, "samples": n}


def config_dict(cfg: InverterTrainConfig) -> dict[str, Any]:
    """JSON-ready settings."""
    return asdict(cfg)
