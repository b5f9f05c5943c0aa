"""The `neurender train` commands. Only typer and the standard library load at import; each command
imports torch and gan2d when it runs, so `--help` and usage errors cost no torch start-up."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tools.errors import ToolError
from tools.rundir import check_out_dir

if TYPE_CHECKING:
    from gan2d.train.loop import RunResult
    from tools.train.runs import LoopOptions, RefinerRun, StyleGAN2Run


class Arch(StrEnum):
    """Refiner generators (`tools.train.runs.REFINERS`)."""

    spade = "spade"
    pix2pixhd = "pix2pixhd"
    unet = "unet"


class DNorm(StrEnum):
    """PatchGAN normalization (`gan2d.nets.patchgan.PatchGANConfig.norm`)."""

    spectral = "spectral"
    instance = "instance"
    none = "none"


class Adv(StrEnum):
    """Adversarial losses (`gan2d.train.refiner_task.AdversarialKind`)."""

    hinge = "hinge"
    lsgan = "lsgan"
    logistic = "logistic"


class Device(StrEnum):
    """Where to train."""

    cpu = "cpu"
    cuda = "cuda"


# Options both commands share (defaults differ per command, so they sit in the signatures).
Out = Annotated[Path, typer.Option("--out", help="run directory")]
Kimg = Annotated[float | None, typer.Option(help="length in thousands of training images [default: 100]")]
Batch = Annotated[int, typer.Option(help="global batch size")]
MicroBatch = Annotated[int | None, typer.Option("--micro-batch", help="images per pass; each process accumulates "
                                                "batch / (processes x micro-batch) of them, so the global batch and "
                                                "the weights do not depend on the process count [default: batch / "
                                                "processes]")]
Resume = Annotated[bool, typer.Option("--resume", help="continue --out from its latest snapshot")]
LrG = Annotated[float, typer.Option("--lr-g", help="generator learning rate")]
LrD = Annotated[float, typer.Option("--lr-d", help="discriminator learning rate")]
SampleKimg = Annotated[float, typer.Option("--sample-kimg", help="kimg between sample grids")]
SnapKimg = Annotated[float, typer.Option("--snap-kimg", help="kimg between snapshots")]
Seed = Annotated[int, typer.Option(help="seeds data order and every random draw")]
Workers = Annotated[int, typer.Option(help="DataLoader worker processes")]
DeviceOpt = Annotated[Device | None, typer.Option(help="[default: cuda when available]")]
Progress = Annotated[bool, typer.Option("--progress/--no-progress")]


def _resumed_run(out: Path, resume: bool, kimg: float | None) -> StyleGAN2Run | RefinerRun | None:
    """The saved run when resuming, None for a fresh run; checks `--out` either way and writes nothing."""
    from gan2d.train.elastic import is_elastic_restart
    from tools.train.runs import load_run_config

    check_out_dir(out)
    if resume or (is_elastic_restart(out) and (out / "checkpoints" / "latest").is_file()):  # torchrun restart
        return load_run_config(out, kimg)
    if (out / "checkpoints" / "latest").is_file():
        raise ToolError(f"{out} already holds a training run; pass --resume or choose a new --out")
    return None


def _required(data: Path | None) -> Path:
    if data is None:
        raise ToolError("--data is required (unless --resume)")
    return data


def _loop(kimg: float | None, batch: int, lr_g: float, lr_d: float, seed: int, workers: int, sample_kimg: float,
          snap_kimg: float, progress: bool, micro_batch: int | None = None) -> LoopOptions:
    from tools.train.runs import LoopOptions

    # Only an absent --kimg takes the default: an explicit 0 stays 0 and is refused as not positive.
    return LoopOptions(100.0 if kimg is None else kimg, batch, micro_batch, lr_g, lr_d, seed, workers, sample_kimg,
                       snap_kimg, progress)


def _report(result: RunResult) -> None:
    if result.rank == 0:
        typer.echo(f"trained {result.nimg / 1000:g} kimg in {result.steps} steps; snapshot {result.last_snapshot}")


def register(train_app: typer.Typer) -> None:
    """Add `stylegan2` and `refiner` to the `train` command group."""

    @train_app.command("stylegan2")
    def stylegan2_cmd(
        out: Out,
        data: Path | None = typer.Option(None, "--data", help="image folder or .zip (PNG/JPEG)"),
        resolution: int = typer.Option(64, help="training resolution (power of two)"),
        kimg: Kimg = None,
        batch: Batch = 16,
        micro_batch: MicroBatch = None,
        resume: Resume = False,
        cond: bool = typer.Option(False, "--cond", help="class-conditional (labels from dataset.json)"),
        mirror: bool = typer.Option(False, "--mirror", help="add horizontally flipped images"),
        diffaug: str = typer.Option("", help="DiffAugment policy, e.g. color,translation,cutout"),
        gamma: float = typer.Option(1.0, help="R1 weight"),
        pl_weight: float = typer.Option(2.0, "--pl-weight", help="path-length weight (0 disables)"),
        lr_g: LrG = 0.0025,
        lr_d: LrD = 0.0025,
        ema_kimg: float | None = typer.Option(None, "--ema-kimg", help="EMA half-life [default: batch * 10 / 32]"),
        z_dim: int = typer.Option(512, "--z-dim"),
        w_dim: int = typer.Option(512, "--w-dim"),
        mapping_layers: int = typer.Option(2, "--mapping-layers"),
        channel_base: int = typer.Option(16384, "--channel-base"),
        channel_max: int = typer.Option(512, "--channel-max"),
        sample_kimg: SampleKimg = 4.0,
        snap_kimg: SnapKimg = 10.0,
        seed: Seed = 0,
        workers: Workers = 2,
        device: DeviceOpt = None,
        progress: Progress = True,
    ) -> None:
        """Train a StyleGAN2 generator on an image folder."""
        from tools.train.run import run_stylegan2
        from tools.train.runs import StyleGAN2Options, StyleGAN2Run, stylegan2_run

        run = _resumed_run(out, resume, kimg)
        if run is None:
            opts = StyleGAN2Options(resolution, cond, mirror, tuple(p.strip() for p in diffaug.split(",") if p.strip()),
                                    gamma, pl_weight, ema_kimg, z_dim, w_dim, mapping_layers, channel_base,
                                    channel_max)
            loop = _loop(kimg, batch, lr_g, lr_d, seed, workers, sample_kimg, snap_kimg, progress, micro_batch)
            run = stylegan2_run(_required(data), opts, loop)
        elif not isinstance(run, StyleGAN2Run):
            raise ToolError(f"{out} holds a refiner run; use `neurender train refiner --resume`")
        _report(run_stylegan2(run, out, resume=resume, device=device and device.value))

    @train_app.command("refiner")
    def refiner_cmd(
        out: Out,
        data: Path | None = typer.Option(None, "--data", help="folder with input/ and target/ subfolders"),
        resolution: int = typer.Option(256, help="training resolution"),
        arch: Arch = typer.Option(Arch.spade, help="generator"),
        kimg: Kimg = None,
        batch: Batch = 8,
        micro_batch: MicroBatch = None,
        resume: Resume = False,
        mirror: bool = typer.Option(False, "--mirror", help="add horizontally flipped pairs"),
        base_channels: int = typer.Option(64, "--base-channels", help="generator width"),
        d_channels: int = typer.Option(64, "--d-channels", help="discriminator width"),
        num_scales: int = typer.Option(2, "--num-scales", help="PatchGAN scales"),
        d_norm: DNorm = typer.Option(DNorm.spectral, "--d-norm", help="discriminator normalization"),
        vae: bool = typer.Option(False, "--vae", help="SPADE only: style encoder + KL"),
        adv: Adv = typer.Option(Adv.hinge, help="adversarial loss"),
        fm_weight: float = typer.Option(10.0, "--fm-weight"),
        l1_weight: float = typer.Option(10.0, "--l1-weight"),
        vgg: Path | None = typer.Option(None, "--vgg", help="local torchvision VGG state dict for a perceptual loss"),
        vgg_depth: int = typer.Option(19, "--vgg-depth", help="16 or 19"),
        perceptual_weight: float = typer.Option(10.0, "--perceptual-weight", help="used when --vgg is given"),
        lr_g: LrG = 0.0001,
        lr_d: LrD = 0.0004,
        sample_kimg: SampleKimg = 1.0,
        snap_kimg: SnapKimg = 5.0,
        seed: Seed = 0,
        workers: Workers = 2,
        device: DeviceOpt = None,
        progress: Progress = True,
    ) -> None:
        """Train an image-to-image refiner (SPADE / pix2pixHD / U-Net) with a multi-scale PatchGAN."""
        from tools.train.run import run_refiner
        from tools.train.runs import RefinerOptions, RefinerRun, refiner_run

        run = _resumed_run(out, resume, kimg)
        if run is None:
            opts = RefinerOptions(resolution, arch.value, mirror, base_channels, d_channels, num_scales, d_norm.value,
                                  vae, adv.value, fm_weight, l1_weight, vgg, vgg_depth, perceptual_weight)
            loop = _loop(kimg, batch, lr_g, lr_d, seed, workers, sample_kimg, snap_kimg, progress, micro_batch)
            run = refiner_run(_required(data), opts, loop)
        elif not isinstance(run, RefinerRun):
            raise ToolError(f"{out} holds a StyleGAN2 run; use `neurender train stylegan2 --resume`")
        _report(run_refiner(run, out, resume=resume, device=device and device.value))
