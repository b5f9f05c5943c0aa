"""The `condition` pose-control method: a pose-conditioned generator renders the requested yaw/pitch by its label.

A generator trained with `neurender train faces --pose-conditioned` (`tools.faces.gan_run`) maps z to
label-free styles and lets the pose label (`tools.faces.pose_labels`) move only its first view layers
(`gan2d.nets.stylegan2.ViewConditionedMapping`). So an identity is its label-free styles `ws`, a view
is `G.mapping.view(ws, encode_pose(pose))`, and the later (identity/texture) styles of every view are
the same tensors. The label is in the data engine's convention (degrees), so no calibration is needed;
`closed_loop` still corrects the label by the reader's measured error (secant per image), keeping the
best render, as the W-space methods' loop does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan2d.nets.stylegan2 import Generator, ViewConditionedMapping
from tools.errors import ToolError
from tools.faces.control import LoopResult, render
from tools.faces.evaluate import SWEEP_PITCHES, SWEEP_YAWS, score_sweep
from tools.faces.metrics import identity_spread
from tools.faces.pose_labels import POSE_DIM, POSE_SCALE, encode_pose
from tools.faces.readers import Reader, read_batched

LABEL_LIMIT = 1.5  # the loop may push the label to 1.5x the trained range, no further (the generator extrapolates)


def is_pose_conditioned(G: Any) -> bool:
    """`G` is a view-conditioned generator with the faces pose label."""
    return isinstance(G, Generator) and isinstance(G.mapping, ViewConditionedMapping) and G.c_dim == POSE_DIM


def load_conditioned(weights: Path) -> tuple[Generator, str]:
    """Load a pose-conditioned generator checkpoint; returns it (eval) and its format.

    Raises:
        ToolError: the checkpoint is not a pose-conditioned generator (one line, exit 2).
        CheckpointError: a missing or corrupt file.
    """
    from tools.gan.networks import load_gan_network

    G, fmt = load_gan_network(weights)
    if not is_pose_conditioned(G):
        raise ToolError(f"{weights} is not a pose-conditioned faces generator (train one with `neurender train "
                        "faces --pose-conditioned`); use --method direction or mixing for it")
    return G.eval(), fmt


def identity_ws(G: Generator, z: torch.Tensor, truncation: float) -> torch.Tensor:
    """`[B, num_ws, w_dim]` label-free styles of latents `z [B, z_dim]`."""
    with torch.no_grad():
        return G.mapping.shared(z, None, truncation_psi=truncation)


def seed_identity_ws(G: Generator, seeds: list[int], truncation: float) -> torch.Tensor:
    """Label-free styles of integer seeds (latents drawn as NVIDIA's generate.py does)."""
    z = torch.from_numpy(np.stack([np.random.RandomState(s).randn(G.z_dim) for s in seeds])).float()
    return identity_ws(G, z, truncation)


def sample_identity_ws(G: Generator, n: int, seed: int, truncation: float = 1.0) -> torch.Tensor:
    """Label-free styles of `n` latents drawn from `seed`."""
    return identity_ws(G, torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed)), truncation)


@torch.no_grad()
def render_pose(G: Generator, ws: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
    """Images `[B, 3, R, R]` of identities `ws [B, L, D]` at `pose [B, 2]` (yaw, pitch) degrees, constant noise."""
    return render(G, G.mapping.view(ws, encode_pose(pose)))


def trained_range(axis: int) -> tuple[float, float]:
    """The pose range (degrees) the label was trained on for `axis` (0 yaw, 1 pitch)."""
    return -POSE_SCALE[axis], POSE_SCALE[axis]


def closed_loop(G: Generator, reader: Reader, ws: torch.Tensor, target: torch.Tensor, iterations: int = 3,
                tolerance: float = 0.5) -> LoopResult:
    """Render identities `ws [B, L, D]` at `target [B, 2]` degrees, correcting the label until the reader
    measures the request (within `tolerance`) or `iterations` corrections are spent.

    The first correction assumes the label is right in degrees (slope 1), later ones the secant of this
    image's last two tries (ignored when under 0.2). `steps` of the result are the labels used, in degrees;
    `in_range` flags requests inside the trained pose range.
    """
    target = target.float()
    limit = torch.tensor(POSE_SCALE) * LABEL_LIMIT
    in_range = (target.abs() <= torch.tensor(POSE_SCALE)).all(1)
    label = target.clamp(-limit, limit)
    best_err = torch.full((len(ws),), float("inf"))
    best = None
    prev_label = prev_pose = None
    for it in range(iterations + 1):
        edited = G.mapping.view(ws, encode_pose(label))
        images = render(G, edited)
        pose = read_batched(reader, images).pose.float()
        err = (target - pose).abs().max(1).values
        better = err < best_err
        if best is None:
            best = [images, pose, label.clone(), edited]
        else:
            best = [torch.where(better.view(-1, *[1] * (t.ndim - 1)), new, t)
                    for t, new in zip(best, (images, pose, label, edited), strict=True)]
        best_err = torch.minimum(best_err, err)
        if it == iterations or bool((best_err <= tolerance).all()):
            break
        slope = torch.ones_like(label)
        if prev_label is not None:
            dl = label - prev_label
            secant = (pose - prev_pose) / torch.where(dl.abs() > 1e-6, dl, torch.ones_like(dl))
            slope = torch.where((dl.abs() > 1e-6) & (secant >= 0.2), secant, slope)
        prev_label, prev_pose = label, pose
        label = (label + (target - pose) / slope).clamp(-limit, limit)
    return LoopResult(best[0], best[1], best[2], best[3], in_range)


def frontal_spread(G: Generator, reader: Reader, n: int = 256, seed: int = 7, truncation: float = 0.7) -> float:
    """RMS spread of identity descriptors of `n` identities shown frontally: what drift is relative to."""
    ws = sample_identity_ws(G, n, seed, truncation)
    ident = reader(closed_loop(G, reader, ws, torch.zeros(n, 2), iterations=1).images).identity
    if ident is None:
        raise ToolError("the pose reader gives no identity descriptor; identity drift cannot be measured")
    return identity_spread(ident)


def evaluate(G: Generator, reader: Reader, identities: int = 16, seed: int = 11, truncation: float = 0.7,
             yaws: tuple[float, ...] = SWEEP_YAWS, pitches: tuple[float, ...] = SWEEP_PITCHES, iterations: int = 3,
             spread: float | None = None) -> dict[str, Any]:
    """Pose error and identity drift of `identities` latents over the yaw × pitch grid (as
    `tools.faces.evaluate.evaluate_control` reports them for the W-space methods)."""
    grid = torch.tensor([[y, p] for p in pitches for y in yaws])
    ws = sample_identity_ws(G, identities, seed, truncation)
    return score_sweep(lambda w: closed_loop(G, reader, w, grid, iterations=iterations), reader, ws, grid, spread)
