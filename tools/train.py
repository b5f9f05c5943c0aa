"""`neurender train stylegan2|refiner`: train a GAN from an image folder into a run directory.

A run directory holds `config.json` (the fully resolved run: data, networks, losses, loop), the
loop's `train_config.json`, `stats.jsonl`, `samples/step-*.png` and `checkpoints/snapshot-*/`
(network weights in the project's safetensors format, e.g. `G_ema.safetensors`, loadable by
`neurender gan generate`). `--resume` continues the run from its latest snapshot using the saved
`config.json` (only `--kimg` may change). Multi-process: launch the same command with
`torchrun --nproc_per_node N -m tools.cli train ...`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import typer

from gan2d.data.images import open_image_dataset
from gan2d.data.paired import PairedFolderDataset
from gan2d.losses.perceptual import PerceptualLoss
from gan2d.nets.patchgan import MultiScalePatchGAN, PatchGANConfig
from gan2d.nets.pix2pixhd import Pix2PixHDConfig, Pix2PixHDGenerator
from gan2d.nets.spade_generator import SPADEGenerator, SPADEGeneratorConfig
from gan2d.nets.stylegan2 import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig
from gan2d.nets.unet import UNet, UNetConfig
from gan2d.nets.vgg import VGGConfig, VGGFeatures
from gan2d.train.config import TrainConfig
from gan2d.train.distributed import DistInfo, init_distributed, shutdown_distributed
from gan2d.train.loop import RunResult, train
from gan2d.train.refiner_task import RefinerLossConfig, RefinerTask
from gan2d.train.stylegan2_task import StyleGAN2LossConfig, StyleGAN2Task
from tools.errors import ToolError

PERCEPTUAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")  # pix2pixHD's VGG19 taps
_REFINERS: dict[str, tuple[type, type]] = {
    "spade": (SPADEGenerator, SPADEGeneratorConfig),
    "pix2pixhd": (Pix2PixHDGenerator, Pix2PixHDConfig),
    "unet": (UNet, UNetConfig),
}


@dataclass(frozen=True)
class StyleGAN2Run:
    """Everything a StyleGAN2 run needs; `to_dict()` is what `config.json` holds."""

    data: str
    mirror: bool
    G: GeneratorConfig
    D: DiscriminatorConfig
    loss: StyleGAN2LossConfig
    train: TrainConfig

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "task": "stylegan2",
            "data": self.data,
            "mirror": self.mirror,
            "G": self.G.to_dict(),
            "D": self.D.to_dict(),
            "loss": dataclasses.asdict(self.loss),
            "train": self.train.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StyleGAN2Run:
        """Inverse of `to_dict`."""
        return cls(
            d["data"],
            d["mirror"],
            GeneratorConfig.from_dict(d["G"]),
            DiscriminatorConfig.from_dict(d["D"]),
            StyleGAN2LossConfig(**d["loss"]),
            TrainConfig.from_dict(d["train"]),
        )


@dataclass(frozen=True)
class RefinerRun:
    """Everything a refiner run needs; `G` is the config of the `arch` generator."""

    data: str
    mirror: bool
    resolution: int
    arch: str
    G: SPADEGeneratorConfig | Pix2PixHDConfig | UNetConfig
    D: PatchGANConfig
    loss: RefinerLossConfig
    train: TrainConfig
    vgg: str | None = None
    vgg_depth: int = 19

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "task": "refiner",
            "data": self.data,
            "mirror": self.mirror,
            "resolution": self.resolution,
            "arch": self.arch,
            "G": self.G.to_dict(),
            "D": self.D.to_dict(),
            "loss": dataclasses.asdict(self.loss),
            "train": self.train.to_dict(),
            "vgg": self.vgg,
            "vgg_depth": self.vgg_depth,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RefinerRun:
        """Inverse of `to_dict`."""
        g_cls = _REFINERS[d["arch"]][1]
        return cls(
            d["data"],
            d["mirror"],
            d["resolution"],
            d["arch"],
            g_cls(**d["G"]),
            PatchGANConfig(**d["D"]),
            RefinerLossConfig(**d["loss"]),
            TrainConfig.from_dict(d["train"]),
            d["vgg"],
            d["vgg_depth"],
        )


def _prepare_out(out: Path, run_dict: dict[str, Any], info: DistInfo) -> None:
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(run_dict, indent=2))


def load_run_config(out: Path, kimg: float | None) -> StyleGAN2Run | RefinerRun:
    """The saved run of `out/config.json`, with `total_kimg` replaced by `kimg` when given.

    Raises:
        ToolError: no readable config.json in `out`.
    """
    path = out / "config.json"
    if not path.is_file():
        raise ToolError(f"cannot resume: {path} does not exist")
    try:
        d = json.loads(path.read_text())
        run = (StyleGAN2Run if d["task"] == "stylegan2" else RefinerRun).from_dict(d)
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ToolError(f"cannot resume: {path} is not a valid run config ({e})") from e
    if kimg is not None:
        run = dataclasses.replace(run, train=dataclasses.replace(run.train, total_kimg=kimg))
    return run


def run_stylegan2(run: StyleGAN2Run, out: Path, resume: bool = False, device: str | None = None) -> RunResult:
    """Train StyleGAN2 on `run.data` (folder or zip) at `run.G.img_resolution`; see the module docstring."""
    info = init_distributed(device)
    try:
        dataset = open_image_dataset(run.data, run.G.img_resolution, run.G.img_channels, xflip=run.mirror)
        if dataset.c_dim != run.G.c_dim:
            raise ToolError(f"{run.data} has {dataset.c_dim} classes but the generator expects c_dim={run.G.c_dim}")
        torch.manual_seed(run.train.seed)
        task = StyleGAN2Task(Generator(run.G), Discriminator(run.D), run.train, run.loss)
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
        g_cls = _REFINERS[run.arch][0]
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


def _report(result: RunResult) -> None:
    if result.rank == 0:
        typer.echo(f"trained {result.nimg / 1000:g} kimg in {result.steps} steps; snapshot {result.last_snapshot}")


def _parse_diffaug(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def register(train_app: typer.Typer) -> None:
    """Add `stylegan2` and `refiner` to the `train` command group."""

    @train_app.command("stylegan2")
    def stylegan2_cmd(
        out: Path = typer.Option(..., "--out", help="run directory"),
        data: Path | None = typer.Option(None, "--data", help="image folder or .zip (PNG/JPEG)"),
        resolution: int = typer.Option(64, help="training resolution (power of two)"),
        kimg: float | None = typer.Option(None, help="length in thousands of real images (default: 100)"),
        batch: int = typer.Option(16, help="global batch size"),
        resume: bool = typer.Option(False, "--resume", help="continue RUN from its latest snapshot"),
        cond: bool = typer.Option(False, "--cond", help="class-conditional (labels from dataset.json)"),
        mirror: bool = typer.Option(False, "--mirror", help="add horizontally flipped images"),
        diffaug: str = typer.Option("", help="DiffAugment policy, e.g. color,translation,cutout"),
        gamma: float = typer.Option(1.0, help="R1 weight"),
        pl_weight: float = typer.Option(2.0, "--pl-weight", help="path-length weight (0 disables)"),
        lr_g: float = typer.Option(0.0025, "--lr-g"),
        lr_d: float = typer.Option(0.0025, "--lr-d"),
        ema_kimg: float | None = typer.Option(None, "--ema-kimg", help="EMA half-life (default: batch * 10 / 32)"),
        z_dim: int = typer.Option(512, "--z-dim"),
        w_dim: int = typer.Option(512, "--w-dim"),
        mapping_layers: int = typer.Option(2, "--mapping-layers"),
        channel_base: int = typer.Option(16384, "--channel-base"),
        channel_max: int = typer.Option(512, "--channel-max"),
        sample_kimg: float = typer.Option(4.0, "--sample-kimg", help="kimg between sample grids"),
        snap_kimg: float = typer.Option(10.0, "--snap-kimg", help="kimg between snapshots"),
        seed: int = typer.Option(0),
        workers: int = typer.Option(2, help="DataLoader worker processes"),
        device: str | None = typer.Option(None, help="cpu or cuda (default: cuda when available)"),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
    ) -> None:
        """Train a StyleGAN2 generator on an image folder."""
        if resume:
            run = load_run_config(out, kimg)
            if not isinstance(run, StyleGAN2Run):
                raise ToolError(f"{out} holds a refiner run; use `neurender train refiner --resume`")
        else:
            if data is None:
                raise ToolError("--data is required (unless --resume)")
            c_dim = open_image_dataset(data, resolution).c_dim if cond else 0
            arch = dict(img_resolution=resolution, channel_base=channel_base, channel_max=channel_max)
            run = StyleGAN2Run(
                data=str(data),
                mirror=mirror,
                G=GeneratorConfig(**arch, z_dim=z_dim, w_dim=w_dim, c_dim=c_dim, mapping_layers=mapping_layers),
                D=DiscriminatorConfig(**arch, c_dim=c_dim),
                loss=StyleGAN2LossConfig(r1_gamma=gamma, pl_weight=pl_weight, diffaug=_parse_diffaug(diffaug)),
                train=TrainConfig(
                    total_kimg=kimg or 100.0,
                    batch_size=batch,
                    lr_g=lr_g,
                    lr_d=lr_d,
                    ema_kimg=batch * 10 / 32 if ema_kimg is None else ema_kimg,
                    seed=seed,
                    num_workers=workers,
                    sample_every_kimg=sample_kimg,
                    checkpoint_every_kimg=snap_kimg,
                    progress=progress,
                ),
            )
        result = run_stylegan2(run, out, resume=resume, device=device)
        _report(result)

    @train_app.command("refiner")
    def refiner_cmd(
        out: Path = typer.Option(..., "--out", help="run directory"),
        data: Path | None = typer.Option(None, "--data", help="folder with input/ and target/ subfolders"),
        resolution: int = typer.Option(256, help="training resolution"),
        arch: str = typer.Option("spade", help="generator: spade, pix2pixhd or unet"),
        kimg: float | None = typer.Option(None, help="length in thousands of pairs (default: 100)"),
        batch: int = typer.Option(8, help="global batch size"),
        resume: bool = typer.Option(False, "--resume", help="continue RUN from its latest snapshot"),
        mirror: bool = typer.Option(False, "--mirror", help="add horizontally flipped pairs"),
        base_channels: int = typer.Option(64, "--base-channels", help="generator width"),
        d_channels: int = typer.Option(64, "--d-channels", help="discriminator width"),
        num_scales: int = typer.Option(2, "--num-scales", help="PatchGAN scales"),
        d_norm: str = typer.Option("spectral", "--d-norm", help="spectral, instance or none"),
        vae: bool = typer.Option(False, "--vae", help="SPADE only: style encoder + KL"),
        adv: str = typer.Option("hinge", help="hinge, lsgan or logistic"),
        fm_weight: float = typer.Option(10.0, "--fm-weight"),
        l1_weight: float = typer.Option(10.0, "--l1-weight"),
        vgg: Path | None = typer.Option(None, "--vgg", help="local torchvision VGG state dict for a perceptual loss"),
        vgg_depth: int = typer.Option(19, "--vgg-depth", help="16 or 19"),
        perceptual_weight: float = typer.Option(10.0, "--perceptual-weight", help="used when --vgg is given"),
        lr_g: float = typer.Option(0.0001, "--lr-g"),
        lr_d: float = typer.Option(0.0004, "--lr-d"),
        sample_kimg: float = typer.Option(1.0, "--sample-kimg"),
        snap_kimg: float = typer.Option(5.0, "--snap-kimg"),
        seed: int = typer.Option(0),
        workers: int = typer.Option(2),
        device: str | None = typer.Option(None, help="cpu or cuda (default: cuda when available)"),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
    ) -> None:
        """Train an image-to-image refiner (SPADE / pix2pixHD / U-Net) with a multi-scale PatchGAN."""
        if resume:
            run = load_run_config(out, kimg)
            if not isinstance(run, RefinerRun):
                raise ToolError(f"{out} holds a StyleGAN2 run; use `neurender train stylegan2 --resume`")
        else:
            if data is None:
                raise ToolError("--data is required (unless --resume)")
            if arch not in _REFINERS:
                raise ToolError(f"--arch must be one of {sorted(_REFINERS)}, got {arch!r}")
            in_ch = PairedFolderDataset(data, resolution).input_channels
            depth = max(1, min(4, resolution.bit_length() - 3))  # keep the bottleneck at >= 4x4 pixels
            g_config = {
                "spade": lambda: SPADEGeneratorConfig(
                    in_ch,
                    resolution=resolution,
                    base_channels=base_channels,
                    num_upsampling=min(5, resolution.bit_length() - 3),
                    use_vae=vae,
                ),
                "pix2pixhd": lambda: Pix2PixHDConfig(in_ch, base_channels=base_channels, num_downsampling=depth),
                "unet": lambda: UNetConfig(in_ch, base_channels=base_channels, depth=depth),
            }[arch]()
            run = RefinerRun(
                data=str(data),
                mirror=mirror,
                resolution=resolution,
                arch=arch,
                G=g_config,
                D=PatchGANConfig(in_ch + 3, d_channels, num_scales=num_scales, norm=d_norm),
                loss=RefinerLossConfig(adv, fm_weight, l1_weight, perceptual_weight if vgg else 0.0),
                train=TrainConfig(
                    total_kimg=kimg or 100.0,
                    batch_size=batch,
                    lr_g=lr_g,
                    lr_d=lr_d,
                    betas_g=(0.0, 0.9),
                    betas_d=(0.0, 0.9),
                    ema_kimg=1.0,
                    seed=seed,
                    num_workers=workers,
                    sample_every_kimg=sample_kimg,
                    checkpoint_every_kimg=snap_kimg,
                    progress=progress,
                ),
                vgg=str(vgg) if vgg else None,
                vgg_depth=vgg_depth,
            )
        result = run_refiner(run, out, resume=resume, device=device)
        _report(result)
