"""Run configs of `neurender train`: what `config.json` holds, and the one builder per task that turns
command-line options into it (validating the data folder before anything is written)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan2d.data.images import open_image_dataset
from gan2d.data.paired import PairedFolderDataset
from gan2d.nets.patchgan import PatchGANConfig
from gan2d.nets.pix2pixhd import Pix2PixHDConfig, Pix2PixHDGenerator
from gan2d.nets.spade_generator import SPADEGenerator, SPADEGeneratorConfig
from gan2d.nets.stylegan2 import DiscriminatorConfig, GeneratorConfig
from gan2d.nets.unet import UNet, UNetConfig
from gan2d.train.config import TrainConfig
from gan2d.train.refiner_task import RefinerLossConfig
from gan2d.train.stylegan2_task import StyleGAN2LossConfig
from tools.errors import ToolError

REFINERS: dict[str, tuple[type, type]] = {
    "spade": (SPADEGenerator, SPADEGeneratorConfig),
    "pix2pixhd": (Pix2PixHDGenerator, Pix2PixHDConfig),
    "unet": (UNet, UNetConfig),
}


@dataclass(frozen=True)
class LoopOptions:
    """The options every `train` command shares; `train_config` turns them into the loop's `TrainConfig`."""

    kimg: float = 100.0
    batch: int = 16
    micro_batch: int | None = None
    lr_g: float = 0.0025
    lr_d: float = 0.0025
    seed: int = 0
    workers: int = 2
    sample_kimg: float = 4.0
    snap_kimg: float = 10.0
    progress: bool = True

    def train_config(self, ema_kimg: float, betas: tuple[float, float] = (0.0, 0.99)) -> TrainConfig:
        """The loop settings, with the task's EMA half-life and Adam betas (both networks)."""
        return TrainConfig(total_kimg=self.kimg, batch_size=self.batch, micro_batch=self.micro_batch,
                           lr_g=self.lr_g, lr_d=self.lr_d,
                           betas_g=betas, betas_d=betas, ema_kimg=ema_kimg, seed=self.seed,
                           num_workers=self.workers, sample_every_kimg=self.sample_kimg,
                           checkpoint_every_kimg=self.snap_kimg, progress=self.progress)


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
        return {"task": "stylegan2", "data": self.data, "mirror": self.mirror, "G": self.G.to_dict(),
                "D": self.D.to_dict(), "loss": dataclasses.asdict(self.loss), "train": self.train.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StyleGAN2Run:
        """Inverse of `to_dict`."""
        return cls(d["data"], d["mirror"], GeneratorConfig.from_dict(d["G"]), DiscriminatorConfig.from_dict(d["D"]),
                   StyleGAN2LossConfig(**d["loss"]), TrainConfig.from_dict(d["train"]))


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
        return {"task": "refiner", "data": self.data, "mirror": self.mirror, "resolution": self.resolution,
                "arch": self.arch, "G": self.G.to_dict(), "D": self.D.to_dict(),
                "loss": dataclasses.asdict(self.loss), "train": self.train.to_dict(), "vgg": self.vgg,
                "vgg_depth": self.vgg_depth}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RefinerRun:
        """Inverse of `to_dict`."""
        g_cls = REFINERS[d["arch"]][1]
        return cls(d["data"], d["mirror"], d["resolution"], d["arch"], g_cls(**d["G"]), PatchGANConfig(**d["D"]),
                   RefinerLossConfig(**d["loss"]), TrainConfig.from_dict(d["train"]), d["vgg"], d["vgg_depth"])


@dataclass(frozen=True)
class StyleGAN2Options:
    """`train stylegan2` options beyond the loop's."""

    resolution: int = 64
    cond: bool = False
    mirror: bool = False
    diffaug: tuple[str, ...] = ()
    gamma: float = 1.0
    pl_weight: float = 2.0
    ema_kimg: float | None = None
    z_dim: int = 512
    w_dim: int = 512
    mapping_layers: int = 2
    channel_base: int = 16384
    channel_max: int = 512


def stylegan2_run(data: Path, opts: StyleGAN2Options, loop: LoopOptions) -> StyleGAN2Run:
    """The run `train stylegan2` describes. Opens the data to check it (and read its classes).

    Raises:
        ToolError: `--cond` on a dataset without labels.
        ConfigError: unreadable data or out-of-range values.
    """
    dataset = open_image_dataset(data, opts.resolution)
    dataset.verify()
    if opts.cond and dataset.c_dim == 0:
        raise ToolError(f"--cond needs class labels, but {data} has none (a dataset.json with \"labels\")")
    c_dim = dataset.c_dim if opts.cond else 0
    arch = dict(img_resolution=opts.resolution, channel_base=opts.channel_base, channel_max=opts.channel_max)
    return StyleGAN2Run(
        data=str(data),
        mirror=opts.mirror,
        G=GeneratorConfig(**arch, z_dim=opts.z_dim, w_dim=opts.w_dim, c_dim=c_dim, mapping_layers=opts.mapping_layers),
        D=DiscriminatorConfig(**arch, c_dim=c_dim),
        loss=StyleGAN2LossConfig(r1_gamma=opts.gamma, pl_weight=opts.pl_weight, diffaug=opts.diffaug),
        train=loop.train_config(ema_kimg=loop.batch * 10 / 32 if opts.ema_kimg is None else opts.ema_kimg),
    )


@dataclass(frozen=True)
class RefinerOptions:
    """`train refiner` options beyond the loop's."""

    resolution: int = 256
    arch: str = "spade"
    mirror: bool = False
    base_channels: int = 64
    d_channels: int = 64
    num_scales: int = 2
    d_norm: str = "spectral"
    vae: bool = False
    adv: str = "hinge"
    fm_weight: float = 10.0
    l1_weight: float = 10.0
    vgg: Path | None = None
    vgg_depth: int = 19
    perceptual_weight: float = 10.0


def refiner_run(data: Path, opts: RefinerOptions, loop: LoopOptions) -> RefinerRun:
    """The run `train refiner` describes. Opens the paired data to check it and count input channels.

    Raises:
        ToolError: unknown architecture or a missing `--vgg` file.
        ConfigError: unreadable data or out-of-range values.
    """
    if opts.arch not in REFINERS:
        raise ToolError(f"--arch must be one of {sorted(REFINERS)}, got {opts.arch!r}")
    if opts.vgg is not None and not opts.vgg.is_file():
        raise ToolError(f"--vgg {opts.vgg}: file not found")
    dataset = PairedFolderDataset(data, opts.resolution)
    dataset.verify()
    in_ch, res = dataset.input_channels, opts.resolution
    depth = max(1, min(4, res.bit_length() - 3))  # keep the bottleneck at >= 4x4 pixels
    if opts.arch == "spade":
        g_config: Any = SPADEGeneratorConfig(in_ch, resolution=res, base_channels=opts.base_channels,
                                             num_upsampling=min(5, res.bit_length() - 3), use_vae=opts.vae)
    elif opts.arch == "pix2pixhd":
        g_config = Pix2PixHDConfig(in_ch, base_channels=opts.base_channels, num_downsampling=depth)
    else:
        g_config = UNetConfig(in_ch, base_channels=opts.base_channels, depth=depth)
    return RefinerRun(
        data=str(data),
        mirror=opts.mirror,
        resolution=res,
        arch=opts.arch,
        G=g_config,
        D=PatchGANConfig(in_ch + 3, opts.d_channels, num_scales=opts.num_scales, norm=opts.d_norm),
        loss=RefinerLossConfig(opts.adv, opts.fm_weight, opts.l1_weight, opts.perceptual_weight if opts.vgg else 0.0),
        train=loop.train_config(ema_kimg=1.0, betas=(0.0, 0.9)),
        vgg=str(opts.vgg) if opts.vgg else None,
        vgg_depth=opts.vgg_depth,
    )


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
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as e:
        raise ToolError(f"cannot resume: {path} is not a valid run config ({e})") from e
    if kimg is not None:
        run = dataclasses.replace(run, train=dataclasses.replace(run.train, total_kimg=kimg))
    return run
