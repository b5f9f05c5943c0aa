"""Per-scene mode (NPBG-style): optimize per-point descriptors and fine-tune the stages on a scene's photos.

Starting from the feed-forward model, every point gets learnable features: its color (initialized
from the cloud) and `descriptors` extra channels (initialized to 0) that enter each stage as new
input channels whose weights start at 0, so step 0 renders exactly like the feed-forward model.
Descriptors and all three stages are optimized through the differentiable splat
(`render3d.points.multichannel.shade_multichannel`; the disks' fragments are rasterized once per
view and reused) with L1 + SSIM to the photos, within a time budget.

A fitted scene is a folder: `scene.safetensors` (kind `pc2img.scene`: the model, the points, their
features, normals and radii), `scene.json`, `fit.json` (settings, steps, time, loss curve and, for
held-out views, PSNR of the feed-forward and the fitted model) and `sheet.png`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gan2d.checkpoint import load_checkpoint, save_checkpoint
from gan2d.errors import CheckpointError
from gan2d.losses.reconstruction import psnr, ssim_loss
from render3d.io import contact_sheet, save_png
from render3d.points.multichannel import rasterize_multichannel, shade_multichannel
from tools.errors import ToolError
from tools.pc2img.model import Pc2ImgConfig, Pc2ImgModel, composite
from tools.pc2img.pipeline import PreparedCloud, net_input, render_views
from tools.pc2img.views import PhotoViews

SCENE_KIND = "pc2img.scene"


@dataclass(frozen=True)
class FitConfig:
    """Per-scene optimization settings.

    Attributes:
        descriptors: learned feature channels per point beyond the color.
        seconds: wall-clock budget of the optimization.
        max_steps: step cap.
        lr_features: Adam learning rate of the per-point features.
        lr_nets: Adam learning rate of the stages.
        ssim_weight: weight of `1 - SSIM` beside L1.
        crop: each step trains on a random `crop`² window of one view (the splat is shaded whole), so
            steps are cheap; None uses whole views.
        seed: seeds the view order and crops.
    """

    descriptors: int = 6
    seconds: float = 600.0
    max_steps: int = 100_000
    lr_features: float = 0.01
    lr_nets: float = 2e-4
    ssim_weight: float = 0.2
    crop: int | None = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if self.descriptors < 0 or self.seconds <= 0 or self.max_steps < 1 or self.lr_features <= 0 \
                or self.lr_nets < 0 or self.ssim_weight < 0 or (self.crop is not None and self.crop < 16):
            raise ToolError(f"bad fit settings: {self}")


def expand_model(model: Pc2ImgModel, descriptors: int) -> Pc2ImgModel:
    """A copy of `model` whose stages also read `descriptors` trailing feature channels (zero weights).

    The descriptor maps sit after the splat channels (`net_input`), before the stage-specific inputs
    (visibility, coarse image), so every input-channel group past the splat shifts by `descriptors`.
    """
    old = model.config
    new = Pc2ImgModel(dataclasses.replace(old, feature_channels=old.feature_channels + descriptors))
    n_old, f2 = old.splat_channels, old.factor**2
    state = model.state_dict()
    out: dict[str, torch.Tensor] = {}
    for name, target in new.state_dict().items():
        src = state[name]
        if src.shape == target.shape:
            out[name] = src
            continue
        # a conv reading (unshuffled) splat channels: map old channel groups into the wider input
        groups = torch.arange(src.shape[1]) // f2
        cols = torch.arange(src.shape[1]) + torch.where(groups >= n_old, descriptors * f2, 0)
        w = torch.zeros_like(target)
        w[:, cols] = src
        out[name] = w
    new.load_state_dict(out)
    return new


def fit_scene(model: Pc2ImgModel, cloud: PreparedCloud, views: PhotoViews, config: FitConfig,
              holdout: list[int] | None = None, progress: bool = True) -> tuple[Pc2ImgModel, PreparedCloud, dict]:
    """Optimize per-point features and the stages on `views` (except `holdout`).

    Returns:
        The fitted model, the cloud with its learned features, and a report dict.

    Raises:
        ToolError: no training views, or a view that sees no point.
    """
    from tqdm import tqdm

    holdout = sorted(set(holdout or []))
    train = [i for i in range(len(views)) if i not in holdout]
    if not train:
        raise ToolError("every view is held out: nothing to fit on")
    torch.manual_seed(config.seed)
    fitted = expand_model(model, config.descriptors).train()
    feats = torch.cat([cloud.features, torch.zeros(cloud.num_points, config.descriptors)], 1)
    feats = nn.Parameter(feats.clone())
    settings = model.config.splat
    with torch.no_grad():
        frags = [rasterize_multichannel(cloud.points, views.cameras[i], cloud.radius, settings) for i in train]
    for i, f in zip(train, frags, strict=True):
        if not bool(f.valid[0].any()):
            raise ToolError(f"view {i} sees none of the {cloud.num_points} points")
    opt = torch.optim.Adam([{"params": [feats], "lr": config.lr_features},
                            {"params": fitted.parameters(), "lr": config.lr_nets}])
    rng = np.random.default_rng(config.seed)
    curve, t0, step = [], time.perf_counter(), 0
    bar = tqdm(total=config.max_steps, unit="step", desc="pc2img fit", disable=not progress)
    while step < config.max_steps and time.perf_counter() - t0 < config.seconds:
        k = int(rng.integers(len(train)))
        v = train[k]
        buffers = shade_multichannel(frags[k], feats, cloud.normals, settings)
        x, target = _window(net_input(buffers), views.images[v], config.crop, rng)
        stages = fitted(x)
        image = composite(stages.rgb, stages.alpha, views.background[v])
        loss = (image - target).abs().mean() + config.ssim_weight * ssim_loss(image * 2 - 1, target * 2 - 1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():  # colors stay colors: the feed-forward stages read them as such
            feats[:, :3].clamp_(0, 1)
        if step % 25 == 0:
            curve.append([step, round(time.perf_counter() - t0, 2), round(float(loss.detach()), 5)])
        step += 1
        bar.update(1)
    bar.close()
    fitted.eval().requires_grad_(False)
    learned = cloud.with_features(feats.detach())
    report: dict[str, Any] = {"settings": dataclasses.asdict(config), "steps": step,
                              "seconds": round(time.perf_counter() - t0, 2), "train_views": train,
                              "holdout_views": holdout, "loss_curve": curve}
    if holdout:
        report["holdout"] = evaluate_holdout(model, cloud, fitted, learned, views, holdout)
    return fitted, learned, report


def _window(x: torch.Tensor, target: torch.Tensor, crop: int | None,
            rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random `crop`² window of the net input and the photo (both `[1, C, H, W]`)."""
    H, W = x.shape[2:]
    if crop is None or (crop >= H and crop >= W):
        return x, target
    h, w = min(crop, H), min(crop, W)
    y0, x0 = int(rng.integers(H - h + 1)), int(rng.integers(W - w + 1))
    return x[:, :, y0:y0 + h, x0:x0 + w], target[:, :, y0:y0 + h, x0:x0 + w]


@torch.no_grad()
def evaluate_holdout(model: Pc2ImgModel, cloud: PreparedCloud, fitted: Pc2ImgModel, learned: PreparedCloud,
                     views: PhotoViews, holdout: list[int]) -> dict[str, Any]:
    """PSNR (dB, images in [0, 1]) of the feed-forward and the fitted model on the held-out views."""
    ff, fit = [], []
    for v in holdout:
        target = views.images[v].permute(0, 2, 3, 1)
        bg = views.background[v]
        ff.append(float(psnr(render_views(model, cloud, views.cameras[v], bg).image, target, data_range=1.0)))
        fit.append(float(psnr(render_views(fitted, learned, views.cameras[v], bg).image, target, data_range=1.0)))
    return {"feed_forward_psnr": ff, "fitted_psnr": fit, "feed_forward_mean": float(np.mean(ff)),
            "fitted_mean": float(np.mean(fit)), "gain_db": float(np.mean(fit) - np.mean(ff))}


def save_scene(folder: Path, model: Pc2ImgModel, cloud: PreparedCloud, report: dict) -> None:
    """Write a fitted scene into `folder` (which the caller stages)."""
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    state.update(points=cloud.points, features=cloud.features, radius=cloud.radius)
    if cloud.normals is not None:
        state["normals"] = cloud.normals
    config = {"model": model.config.to_dict()}
    save_checkpoint(folder / "scene.safetensors", SCENE_KIND, config, state, {"steps": report["steps"]})
    (folder / "scene.json").write_text(json.dumps({"kind": SCENE_KIND, **config}, indent=2) + "\n")
    (folder / "fit.json").write_text(json.dumps(report, indent=2) + "\n")


def is_scene(path: str | os.PathLike) -> bool:
    """Whether `path` is a fitted-scene folder."""
    return (Path(path) / "scene.safetensors").is_file()


def load_scene(path: str | os.PathLike) -> tuple[Pc2ImgModel, PreparedCloud]:
    """A fitted scene's model (eval mode) and cloud.

    Raises:
        ToolError: missing, corrupt or foreign file.
    """
    file = Path(path) / "scene.safetensors"
    try:
        kind, config, state, _ = load_checkpoint(file)
    except CheckpointError as e:
        raise ToolError(f"cannot load fitted scene: {e}") from e
    if kind != SCENE_KIND:
        raise ToolError(f"{file}: holds a {kind!r} checkpoint, not a fitted pc2img scene")
    try:
        model = Pc2ImgModel(Pc2ImgConfig.from_dict(config["model"]))
        model.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")})
        cloud = PreparedCloud(state["points"], state["features"], state.get("normals"), state["radius"])
    except (KeyError, RuntimeError) as e:
        raise ToolError(f"{file}: not a valid fitted scene ({str(e).splitlines()[0]})") from e
    if cloud.features.shape[1] != model.config.feature_channels:
        raise ToolError(f"{file}: features have {cloud.features.shape[1]} channels, the model reads "
                        f"{model.config.feature_channels}")
    return model.eval().requires_grad_(False), cloud


def write_fit_sheet(path: Path, model: Pc2ImgModel, cloud: PreparedCloud, views: PhotoViews,
                    which: list[int]) -> None:
    """One row per view (at most 8): photo, fitted render."""
    tiles = []
    with torch.no_grad():
        for v in which[:8]:
            out = render_views(model, cloud, views.cameras[v], views.background[v])
            tiles += [views.images[v][0].permute(1, 2, 0), out.image[0]]
    save_png(path, contact_sheet(tiles, cols=2))

