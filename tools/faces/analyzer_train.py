"""Train and evaluate the head analyzer on data-engine heads (ground-truth pose and identity codes).

Minibatches mix head images (pose, face = 1, identity codes) with images without a face (face = 0).
Heads come in pairs of two views of one identity: besides regressing the codes, the two descriptors are
pulled together (a view-consistency loss), since the descriptor's job is to read the same head the same
from any side. An optional contrastive term (InfoNCE over the pairs of a batch, as in supervised
contrastive learning) also pushes different heads' descriptors apart: each view must pick its partner
view among all the other heads of the batch.
Augmentations make the analyzer read generated images as well as renders: horizontal flips (yaw
negated; the procedural head is left-right symmetric, so its codes stay), small shifts, blur, noise and
color jitter. Held-out errors come from a head set the analyzer never saw.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from gan2d.nets.regressor import MultiHeadEncoder
from gan2d.train.supervised import FitConfig, fit
from tools.faces.analyzer import HeadAnalyzer, analyzer_config
from tools.faces.analyzer_data import HeadArrays
from tools.faces.metrics import binned_errors, identity_drift


@dataclass(frozen=True)
class AnalyzerTrainConfig:
    """Settings of an analyzer run.

    Args:
        steps: optimizer steps.
        batch: images per step (heads and negatives together).
        resolution: side the encoder runs at (images are area-resampled to it).
        negative_fraction: share of images without a face in each batch.
        lr: peak learning rate.
        base_channels: encoder width at full resolution.
        max_channels: encoder channel cap.
        pose_weight: weight of the pose loss against the face loss.
        identity_weight: weight of the identity-code regression.
        consistency_weight: weight of the two-view descriptor agreement.
        contrastive_weight: weight of the InfoNCE term over the batch's pairs (0: off).
        temperature: InfoNCE temperature on cosine similarities.
        identity_dim: discriminant directions kept in the identity descriptor.
        flip_test: the trained analyzer reads every image together with its mirror (`HeadAnalyzer.flip_test`;
            training itself sees single images).
        seed: seed of the initialization and every draw.

    The defaults train the bundle's analyzer (`tools/faces/weights/analyzer.safetensors`, model card); an identity
    critic for the generator's training must be another analyzer than the one that measures drift, e.g.
    `seed=1, base_channels=12, batch=32, contrastive_weight=0`.
    """

    steps: int = 3000
    batch: int = 48
    resolution: int = 64
    negative_fraction: float = 0.2
    lr: float = 2e-3
    base_channels: int = 16
    max_channels: int = 128
    pose_weight: float = 4.0
    identity_weight: float = 2.0
    consistency_weight: float = 1.0
    contrastive_weight: float = 1.0
    temperature: float = 0.1
    identity_dim: int = 6
    flip_test: bool = True
    seed: int = 2


def to_gan(images: torch.Tensor) -> torch.Tensor:
    """uint8 `[B, 3, S, S]` → float `[B, 3, S, S]` in [-1, 1]."""
    return images.float() / 127.5 - 1.0


def augment(x: torch.Tensor) -> torch.Tensor:
    """Random shift (±2 px, edge-replicated), blur, noise and color jitter on `[B, 3, S, S]` in [-1, 1]."""
    b, _, s, _ = x.shape
    pad = F.pad(x, (2, 2, 2, 2), mode="replicate")
    dy, dx = torch.randint(0, 5, (2,)).tolist()
    x = pad[:, :, dy:dy + s, dx:dx + s]
    sigma = torch.rand(b, 1, 1, 1) * 0.8
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    x = x + (blurred - x) * sigma.clamp(max=1.0)
    gain = 1 + 0.16 * (torch.rand(b, 3, 1, 1) - 0.5)
    shift = 0.1 * (torch.rand(b, 1, 1, 1) - 0.5)
    x = (x + 1) * gain - 1 + shift
    return (x + torch.randn_like(x) * torch.rand(b, 1, 1, 1) * 0.04).clamp(-1, 1)


def pair_contrastive(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE of `[P, K]` descriptors `a[i]`, `b[i]` of two views of head i: each view must find
    its partner among the P views of the other side by cosine similarity / `temperature`.

    Example:
        >>> a = torch.eye(3)
        >>> float(pair_contrastive(a, a, 0.1)) < float(pair_contrastive(a, a.roll(1, 0), 0.1))
        True
    """
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / temperature
    target = torch.arange(len(a))
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def _code_stats(sets: list[HeadArrays]) -> tuple[torch.Tensor, torch.Tensor]:
    codes = torch.cat([s.codes for s in sets])
    return codes.mean(0), codes.std(0).clamp(min=1e-4)


def _views_by_identity(sets: list[HeadArrays]) -> torch.Tensor:
    """`[I, V]` image indices (into the concatenated sets) of each identity's V views."""
    rows, offset = [], 0
    for s in sets:
        for ident in torch.unique(s.identity):
            rows.append(torch.nonzero(s.identity == ident)[:, 0] + offset)
        offset += len(s)
    views = min(len(r) for r in rows)
    return torch.stack([r[:views] for r in rows])


def _owners(members: torch.Tensor) -> torch.Tensor:
    """`[N]` row of `members` holding each image index."""
    owner = torch.full((int(members.max()) + 1,), -1, dtype=torch.long)
    owner[members.flatten()] = torch.arange(members.shape[0]).repeat_interleave(members.shape[1])
    return owner


def train_analyzer(sets: list[HeadArrays], negatives: torch.Tensor, config: AnalyzerTrainConfig,
                   run_dir: str | Path | None = None, progress: bool = True) -> HeadAnalyzer:
    """Train a head analyzer on head sets plus face-free images (resumes from `run_dir` if it holds state).

    Args:
        sets: head sets (same image size).
        negatives: `[M, 3, S, S]` uint8 images without a face.
        config: run settings.
        run_dir: folder of the resumable state file; None trains in memory.
        progress: show a progress bar.

    Returns:
        The trained analyzer, in eval mode, with the config's `flip_test`.
    """
    images = torch.cat([s.images for s in sets])
    pose = torch.cat([s.pose for s in sets])
    codes = torch.cat([s.codes for s in sets])
    members = _views_by_identity(sets)
    owner = _owners(members)
    mean, std = _code_stats(sets)
    torch.manual_seed(config.seed)
    analyzer = HeadAnalyzer(MultiHeadEncoder(analyzer_config(config.resolution, config.base_channels,
                                                             config.max_channels)), code_mean=mean, code_std=std)
    scale = torch.tensor(analyzer.pose_scale)
    n_neg = max(1, round(config.batch * config.negative_fraction))
    n_pair = (config.batch - n_neg) // 2
    n_pos = 2 * n_pair
    n_neg = config.batch - n_pos

    def batches(g: torch.Generator) -> tuple[torch.Tensor, ...]:
        first = torch.randint(len(images), (n_pair,), generator=g)
        group = members[owner[first]]
        other = group[torch.arange(n_pair), torch.randint(group.shape[1], (n_pair,), generator=g)]
        i = torch.cat([first, other])
        j = torch.randint(len(negatives), (n_neg,), generator=g)
        flip = torch.rand(n_pos, generator=g) < 0.5
        pos_img = to_gan(images[i])
        pos_img = torch.where(flip[:, None, None, None], pos_img.flip(-1), pos_img)
        target = pose[i] * torch.stack([torch.where(flip, -1.0, 1.0), torch.ones(n_pos)], 1)
        neg_flip = torch.rand(n_neg, generator=g) < 0.5
        neg_img = to_gan(negatives[j])
        neg_img = torch.where(neg_flip[:, None, None, None], neg_img.flip(-1), neg_img)
        return torch.cat([pos_img, neg_img]), target / scale, (codes[i] - mean) / std

    def loss_fn(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        x, pose_t, code_t = batch
        out = model(augment(x))
        face_t = torch.cat([torch.ones(n_pos), torch.zeros(n_neg)])
        l_pose = F.smooth_l1_loss(out["pose"][:n_pos], pose_t, beta=0.05)
        l_face = F.binary_cross_entropy_with_logits(out["face"][:, 0], face_t)
        ident = out["identity"][:n_pos]
        l_id = F.mse_loss(ident, code_t)
        l_same = F.mse_loss(ident[:n_pair], ident[n_pair:])
        loss = config.pose_weight * l_pose + l_face + config.identity_weight * l_id + config.consistency_weight * l_same
        logs = {"pose": l_pose.item(), "face": l_face.item(), "id": l_id.item(), "same": l_same.item()}
        if config.contrastive_weight:
            l_nce = pair_contrastive(ident[:n_pair], ident[n_pair:], config.temperature)
            loss = loss + config.contrastive_weight * l_nce
            logs["nce"] = l_nce.item()
        return loss, logs

    fit(analyzer, batches, loss_fn, FitConfig(steps=config.steps, lr=config.lr, warmup=min(200, config.steps // 10),
                                              seed=config.seed), run_dir, progress)
    analyzer.flip_test = config.flip_test
    return analyzer.eval()


@torch.no_grad()
def analyze_batched(analyzer: HeadAnalyzer, images: torch.Tensor, batch: int = 256) -> dict[str, torch.Tensor]:
    """`HeadAnalyzer.analyze` over uint8 or [-1, 1] float images in chunks; concatenated outputs."""
    parts: list[dict[str, torch.Tensor]] = []
    for k in range(0, len(images), batch):
        x = images[k:k + batch]
        parts.append(analyzer.analyze(to_gan(x) if x.dtype == torch.uint8 else x))
    return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}


def evaluate_analyzer(analyzer: HeadAnalyzer, held_out: HeadArrays, negatives: torch.Tensor,
                      yaw_range: tuple[float, float] = (-40.0, 40.0), pitch_range: tuple[float, float] = (-15.0, 15.0)
                      ) -> dict[str, Any]:
    """Held-out scores: pose error (overall in the target range and per bin), face accuracy, identity R².

    The median |error| over ground-truth poses inside `yaw_range` × `pitch_range` is the noise floor the
    faces job reports beside every pose error.
    """
    out = analyze_batched(analyzer, held_out.images)
    neg = analyze_batched(analyzer, negatives)
    views = int((held_out.identity == held_out.identity[0]).sum())
    err = (out["pose"] - held_out.pose).abs()
    inside = ((held_out.pose[:, 0] >= yaw_range[0]) & (held_out.pose[:, 0] <= yaw_range[1])
              & (held_out.pose[:, 1] >= pitch_range[0]) & (held_out.pose[:, 1] <= pitch_range[1]))
    target = (held_out.codes - analyzer.code_mean) / analyzer.code_std
    r2 = 1 - ((out["codes"] - target) ** 2).mean(0) / target.var(0).clamp(min=1e-8)
    return {
        "held_out_images": len(held_out),
        "noise_floor": {"yaw_median_abs": float(err[inside, 0].median()), "pitch_median_abs":
                        float(err[inside, 1].median()), "yaw_range": list(yaw_range), "pitch_range": list(pitch_range)},
        "pose_bins": binned_errors(held_out.pose, out["pose"]),
        "face_accuracy": {"heads": float((out["face"] > 0.5).float().mean()),
                          "non_faces": float((neg["face"] <= 0.5).float().mean())},
        "identity_r2_mean": float(r2.mean()),
        "identity_drift_real": identity_drift(out["identity"].reshape(-1, views, out["identity"].shape[1]))["drift"],
        "identity_dim": int(analyzer.identity_projection.shape[1]),
    }


@torch.no_grad()
def fit_identity_projection(analyzer: HeadAnalyzer, sets: list[HeadArrays], dim: int = 6) -> torch.Tensor:
    """`[CODE_DIM, dim]` linear discriminant directions of the analyzer's predicted codes over the views of
    each head in `sets` (sets the analyzer's `identity_projection` and returns it).

    The directions maximize between-head variance relative to within-head (across-view) variance: the
    leading generalized eigenvectors of (S_between, S_within), scaled so within-head variance is 1.
    """
    members = _views_by_identity(sets)
    images = torch.cat([s.images for s in sets])
    codes = analyze_batched(analyzer, images)["codes"].double()[members]  # [I, V, CODE_DIM]
    centered = codes - codes.mean(1, keepdim=True)
    s_within = torch.einsum("ivk,ivl->kl", centered, centered) / (codes.shape[0] * codes.shape[1])
    s_between = torch.cov(codes.mean(1).T)
    eye = torch.eye(codes.shape[2], dtype=torch.float64)
    inv_chol = torch.linalg.inv(torch.linalg.cholesky(s_within + 1e-4 * eye))
    _, vecs = torch.linalg.eigh(inv_chol @ s_between @ inv_chol.T)
    proj = (inv_chol.T @ vecs[:, -dim:].flip(1)).float()
    analyzer.identity_projection = proj
    return proj


def config_dict(config: AnalyzerTrainConfig) -> dict[str, Any]:
    """JSON-ready settings."""
    return asdict(config)
