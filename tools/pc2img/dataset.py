"""Training pairs for pc2img: a random-density, noisy subset of a sample's cloud splatted into one GT view.

Item `j` of `CloudViewDataset` is view `j mod (files × views)`, with its density, noise and
normals drop drawn from a generator seeded by `(seed, j)`: the dataset is `repeats` times longer
than its views, so every pass sees new subsets, and an item is a pure function of its index (the
training loop's exact resume stays exact).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from render3d.cameras import Cameras
from tools.pc2img.model import Pc2ImgConfig
from tools.pc2img.pipeline import PreparedCloud, net_input, prepare_cloud, splat
from tools.pc2img.trainset import Sample, load_sample


@dataclass(frozen=True)
class Degradation:
    """How training clouds are thinned and perturbed.

    Attributes:
        min_density / max_density: fraction of the full cloud kept, drawn log-uniformly.
        position_noise: max Gaussian σ of point positions in pixel footprints (drawn uniformly from 0).
        color_noise: max Gaussian σ of point colors (drawn uniformly from 0).
        drop_normals: probability that the cloud is given without normals.
    """

    min_density: float = 0.01
    max_density: float = 1.0
    position_noise: float = 0.5
    color_noise: float = 0.05
    drop_normals: float = 0.3


def degrade(sample: Sample, view: int, rng: np.random.Generator, deg: Degradation,
            density: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """A thinned, noisy copy of a sample's cloud as seen for `view`.

    Returns:
        points `[n, 3]`, colors `[n, 3]`, normals `[n, 3]` or None, and `[n]` the kept indices.
    """
    N = sample.points.shape[0]
    if density is None:
        density = math.exp(rng.uniform(math.log(deg.min_density), math.log(deg.max_density)))
    n = max(1, round(density * N))
    keep = np.sort(rng.choice(N, size=n, replace=False))
    pts = sample.points[keep].astype(np.float32)
    z = pts @ sample.R[view, 2] + sample.t[view, 2]
    footprint = float(np.median(np.abs(z))) / abs(float(sample.K[view, 0, 0]))
    pts = pts + rng.normal(0.0, rng.uniform(0, deg.position_noise) * footprint, pts.shape).astype(np.float32)
    cols = sample.colors[keep].astype(np.float32)
    cols = np.clip(cols + rng.normal(0.0, rng.uniform(0, deg.color_noise), cols.shape), 0, 1).astype(np.float32)
    normals = None if rng.uniform() < deg.drop_normals else sample.normals[keep].astype(np.float32)
    return pts, cols, normals, keep


@functools.lru_cache(maxsize=8)
def _cached_sample(path: str) -> Sample:
    return load_sample(path)


def view_targets(sample: Sample, view: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """GT `rgb [3, H, W]`, `alpha [1, H, W]` in [0, 1] and the background `[3]` of one view."""
    rgb = torch.from_numpy(sample.rgb[view]).permute(2, 0, 1).float() / 255
    alpha = torch.from_numpy(sample.alpha[view])[None].float() / 255
    return rgb, alpha, torch.from_numpy(sample.background).float()


def splat_item(config: Pc2ImgConfig, cloud: PreparedCloud, cameras: Cameras,
               visible: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Net input `[C, H, W]` and the visibility target `[1, H, W]` (GT visibility of the nearest point)."""
    with torch.no_grad():
        buffers = splat(cloud, cameras, config.splat)
        x = net_input(buffers)[0]
    nearest = buffers.nearest[0]
    vis = torch.from_numpy(visible)[nearest.clamp(min=0)] & (nearest >= 0)
    return x, vis[None].float()


class CloudViewDataset(torch.utils.data.Dataset):
    """`(input [C, H, W], rgb [3, H, W], alpha [1, H, W], visibility [1, H, W], background [3], density [1])`.

    Args:
        files: sample files (`tools.pc2img.trainset`).
        config: the model config (splat settings).
        degradation: thinning and noise.
        repeats: passes of random subsets per view.
        seed: seeds every item's draws.
        crop: if set, a random `crop`² window of the view (centered on a covered pixel 80% of the
            time), so training steps are cheap while the splat still sees the whole view.
    """

    def __init__(self, files: Sequence[str | os.PathLike], config: Pc2ImgConfig,
                 degradation: Degradation | None = None, repeats: int = 1000, seed: int = 0,
                 crop: int | None = None) -> None:
        self.files = [str(Path(f)) for f in files]
        if not self.files:
            raise ValueError("CloudViewDataset needs at least one sample file")
        self.config, self.deg, self.repeats, self.seed = config, degradation or Degradation(), repeats, seed
        self.crop = crop
        with np.load(self.files[0], allow_pickle=False) as z:
            self.views = int(z["K"].shape[0])

    def __len__(self) -> int:
        return len(self.files) * self.views * self.repeats

    def __getitem__(self, j: int) -> tuple[torch.Tensor, ...]:
        base = j % (len(self.files) * self.views)
        sample = _cached_sample(self.files[base // self.views])
        view = base % self.views
        rng = np.random.default_rng([self.seed, j])
        pts, cols, normals, keep = degrade(sample, view, rng, self.deg)
        cloud = prepare_cloud(torch.from_numpy(pts), torch.from_numpy(cols),
                              None if normals is None else torch.from_numpy(normals), self.config.splat,
                              self.config.spacing_k)
        x, vis = splat_item(self.config, cloud, sample.cameras([view]), sample.visible_mask(view)[keep])
        rgb, alpha, bg = view_targets(sample, view)
        maps = [x, rgb, alpha, vis]
        if self.crop is not None:
            maps = _crop(maps, x[0] > 0, self.crop, rng)
        return *maps, bg, torch.tensor([len(keep) / sample.points.shape[0]])


def _crop(maps: list[torch.Tensor], covered: torch.Tensor, size: int, rng: np.random.Generator) -> list[torch.Tensor]:
    """The same `size`² window of every `[C, H, W]` map."""
    H, W = covered.shape
    size = min(size, H, W)
    ys, xs = covered.nonzero(as_tuple=True)
    if len(ys) and rng.uniform() < 0.8:
        k = int(rng.integers(len(ys)))
        cy, cx = int(ys[k]), int(xs[k])
    else:
        cy, cx = int(rng.integers(H)), int(rng.integers(W))
    y0 = min(max(cy - size // 2, 0), H - size)
    x0 = min(max(cx - size // 2, 0), W - size)
    return [m[:, y0:y0 + size, x0:x0 + size] for m in maps]
