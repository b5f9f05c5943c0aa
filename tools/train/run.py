"""Train a built run: open its data, build its networks, then (and only then) write the run directory."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from gan2d.data.images import open_image_dataset
from gan2d.data.paired import PairedFolderDataset
from gan2d.data.view_pairs import ViewPairDataset
from gan2d.losses.perceptual import PerceptualLoss
from gan2d.nets.patchgan import MultiScalePatchGAN
from gan2d.nets.stylegan2 import Discriminator, Generator
from gan2d.nets.vgg import VGGConfig, VGGFeatures
from gan2d.train.distributed import DistInfo, init_distributed, shutdown_distributed
from gan2d.train.loop import RunResult, train
from gan2d.train.refiner_task import RefinerTask
from gan2d.train.snapshot import latest_snapshot, load_networks
from gan2d.train.stylegan2_task import StyleGAN2Task
from gan2d.train.view_pair_task import ViewPairTask
from tools.errors import ToolError
from tools.train.runs import REFINERS, RefinerRun, StyleGAN2Run

PERCEPTUAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")  # pix2pixHD's VGG19 taps


def _prepare_out(out: Path, run_dict: dict[str, Any], info: DistInfo) -> None:
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / ".config.json.tmp"
        tmp.write_text(json.dumps(run_dict, indent=2))
        tmp.replace(out / "config.json")


def run_stylegan2(run: StyleGAN2Run, out: Path, resume: bool = False, device: str | None = None,
                  start_from: Path | None = None, identity: torch.nn.Module | None = None,
                  pose: torch.nn.Module | None = None) -> RunResult:
    """Train StyleGAN2 on `run.data` (folder or zip) at `run.G.img_resolution`; see the package docstring.

    `loss.view_pair_weight` > 0 trains with the view-pair discriminator on the data's groups. A new run
    (not a resumed one) with `start_from` (a snapshot folder) begins from that run's G, D and G_ema weights
    (from a generator file: G and G_ema only, the path-length mean measured on it; set `loss.d_warmup_kimg` so
    that the fresh discriminators learn before G moves).
    `identity` and `pose` are the frozen embedding of `loss.view_identity_weight` and estimator of
    `loss.view_pose_weight` (not part of the snapshots).
    """
    info = init_distributed(device)
    try:
        images = open_image_dataset(run.data, run.G.img_resolution, run.G.img_channels, xflip=run.mirror)
        if images.c_dim != run.G.c_dim:
            raise ToolError(f"{run.data} has {images.c_dim} classes but the generator expects c_dim={run.G.c_dim}")
        torch.manual_seed(run.train.seed)
        G, D = Generator(run.G), Discriminator(run.D)
        if run.loss.view_pair_weight > 0:
            dataset = ViewPairDataset(images)
            P = Discriminator(dataclasses.replace(run.D, img_channels=2 * run.D.img_channels, c_dim=2 * run.D.c_dim))
            task = ViewPairTask(G, D, P, run.train, run.loss, *(None if m is None else m.to(info.device)
                                                                for m in (identity, pose)))
        else:
            dataset, task = images, StyleGAN2Task(G, D, run.train, run.loss)
        if start_from is not None and not resume and latest_snapshot(out / "checkpoints") is None:
            load_networks(start_from, task.networks, task.aux)
            if start_from.is_file():  # a generator alone: its path-length mean is measured, not restored
                n = min(64, images.num_images)
                task.measure_path_length(torch.stack([images.label(i) for i in range(0, images.num_images,
                                                                                    images.num_images // n)][:n]))
        _prepare_out(out, run.to_dict(), info)
        return train(task, dataset, run.train, out, info, resume=resume)
    finally:
        shutdown_distributed()


def run_refiner(run: RefinerRun, out: Path, resume: bool = False, device: str | None = None) -> RunResult:
    """Train an image-to-image refiner on the paired folders `run.data/input`, `run.data/target`."""
    info = init_distributed(device)
    try:
        dataset = PairedFolderDataset(run.data, run.resolution, xflip=run.mirror)
        torch.manual_seed(run.train.seed)
        g_cls = REFINERS[run.arch][0]
        perceptual = None
        if run.vgg is not None:
            vgg = VGGFeatures.from_file(run.vgg, VGGConfig(run.vgg_depth, PERCEPTUAL_LAYERS))
            perceptual = PerceptualLoss(vgg).to(info.device)  # frozen, so not part of the snapshots
        n = min(run.loss.num_samples, dataset.num_pairs)
        samples = torch.utils.data.default_collate([dataset[i] for i in range(n)])
        task = RefinerTask(g_cls(run.G), MultiScalePatchGAN(run.D), run.train, run.loss, tuple(samples), perceptual)
        _prepare_out(out, run.to_dict(), info)
        return train(task, dataset, run.train, out, info, resume=resume)
    finally:
        shutdown_distributed()
