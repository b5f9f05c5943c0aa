"""Held-out scores of a pc2img model: quality vs density beside the classical baselines, and visibility.

On data-engine samples of a seed never used in training (`tools.pc2img.trainset`): for each density
(fraction of the full GT-mesh sampling kept, no noise) and view, PSNR/SSIM against the ground-truth
render of the learned pipeline, its coarse stage, naive z-buffered splatting (the same disks, nearest
wins) and splatting + depth-aware pull-push hole filling (`render3d.points.pullpush`); and the accuracy
of the learned visibility on covered pixels vs the ground-truth visibility of each pixel's nearest
point, beside the "everything splatted is visible" answer of the naive splat, and the share of the
hidden-point pixels it finds. Shared by the exporter's
model card and `neurender bench pc2img`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from gan2d.losses.reconstruction import psnr, ssim
from render3d.points.pullpush import auto_levels, pull_push
from tools.pc2img.dataset import Degradation, degrade, view_targets
from tools.pc2img.model import Pc2ImgModel
from tools.pc2img.pipeline import prepare_cloud, render_views
from tools.pc2img.trainset import Sample, load_sample, write_split

DENSITIES = (0.01, 0.05, 0.2, 1.0)
CLEAN = Degradation(position_noise=0.0, color_noise=0.0, drop_normals=0.0)
KINDS = ("shapes", "heads", "scenes")


def heldout_files(data: Path, per_kind: int, views: int, seed: int, progress: bool = True) -> list[Path]:
    """Held-out samples of every kind at 128² (generated into `data` when missing)."""
    files: list[Path] = []
    for kind in KINDS:
        files += write_split(data, kind, per_kind, views, 128, seed, progress)
    return files


def _score(img: torch.Tensor, gt: torch.Tensor) -> tuple[float, float]:
    """PSNR (dB) and SSIM of `[1, H, W, 3]` images in [0, 1]."""
    a, b = img.permute(0, 3, 1, 2).clamp(0, 1), gt.permute(0, 3, 1, 2)
    return float(psnr(a, b, data_range=1.0)), float(ssim(a, b, data_range=1.0))


def evaluate_view(model: Pc2ImgModel, sample: Sample, view: int, density: float, seed: int) -> dict:
    """Every method's scores on one view of one sample at one density."""
    rng = np.random.default_rng([seed, view, round(density * 1e6)])
    pts, cols, normals, keep = degrade(sample, view, rng, CLEAN, density=density)
    cloud = prepare_cloud(torch.from_numpy(pts), torch.from_numpy(cols), torch.from_numpy(normals),
                          model.config.splat, model.config.spacing_k)
    cam = sample.cameras([view])
    rgb, _, bg = view_targets(sample, view)
    gt = rgb.permute(1, 2, 0)[None]
    with torch.no_grad():
        out = render_views(model, cloud, cam, bg)
    buf = out.buffers
    filled, cov = pull_push(buf.features[..., :3], buf.mask.float(), buf.depth, auto_levels(buf.radius_px, buf.mask))
    pp = filled.clamp(0, 1) * cov[..., None] + bg * (1 - cov[..., None])
    mask = buf.mask[0]
    truth = torch.from_numpy(sample.visible_mask(view)[keep])[buf.nearest[0].clamp(min=0)][mask]
    pred = out.visibility[0][mask] > 0.5
    hidden = ~truth
    row = {"kind": sample.kind, "seed": sample.seed, "view": view, "density": density, "points": len(keep),
           "vis_acc": float((pred == truth).float().mean()), "vis_all_visible": float(truth.float().mean()),
           "vis_hidden_found": float((~pred[hidden]).float().mean()) if bool(hidden.any()) else math.nan,
           "vis_hidden_share": float(hidden.float().mean())}
    for name, img in (("naive", out.splat), ("pullpush", pp), ("coarse", out.coarse), ("learned", out.image)):
        row[f"{name}_psnr"], row[f"{name}_ssim"] = _score(img, gt)
    return row


def quality(model: Pc2ImgModel, files: list[Path], views: int, densities: tuple[float, ...], seed: int = 0,
            progress: bool = True) -> list[dict]:
    """Rows of `evaluate_view` over the first `views` views of every sample at every density."""
    from tqdm import tqdm

    jobs = [(f, v, d) for f in files for v in range(views) for d in densities]
    rows, cache = [], {}
    for f, v, d in tqdm(jobs, unit="view", desc="pc2img held-out quality", disable=not progress):
        if f not in cache:
            cache.clear()
            cache[f] = load_sample(f)
        rows.append(evaluate_view(model, cache[f], v, d, seed))
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """Per density: mean scores over all rows (views without hidden pixels left out of `vis_hidden_found`),
    and the learned gain over the best classical baseline."""
    out = []
    for d in sorted({r["density"] for r in rows}):
        sel = [r for r in rows if r["density"] == d]
        mean = {k: float(np.nanmean([r[k] for r in sel])) for k in sel[0] if k.endswith(("_psnr", "_ssim"))
                or k.startswith("vis_")}
        best = max(mean["naive_psnr"], mean["pullpush_psnr"])
        out.append({"density": d, "views": len(sel), **mean, "gain_db": mean["learned_psnr"] - best})
    return out
