"""`neurender train pc2img`: generate the data-engine clouds (once) and train the three pc2img stages.

The shipped weights come from the command in `tools/pc2img/weights/MODEL_CARD.md` (the defaults, with the
length the run reached), e.g.

    neurender train pc2img --out runs/pc2img --export tools/pc2img/weights/pc2img.safetensors

`--resume --export W` on a finished (or stopped) run only exports its latest snapshot.

Only typer and the standard library load at import; the command imports torch when it runs.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from tools.errors import ToolError
from tools.rundir import check_out_dir


class RefinerChoice(StrEnum):
    """Refiner architectures (`tools.pc2img.model.RefinerArch`)."""

    unet = "unet"
    spade = "spade"


def _counts(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in text.split(","):
        kind, _, n = part.partition("=")
        try:
            out[kind.strip()] = int(n)
        except ValueError:
            raise ToolError(f"--counts must look like shapes=500,heads=150,scenes=150, got {text!r}") from None
    return out


def register(app: typer.Typer) -> None:
    @app.command("pc2img")
    def train_pc2img(
        out: Path = typer.Option(..., "--out", help="run directory"),
        data: Path | None = typer.Option(None, "--data", help="training-data folder (generated when missing) "
                                                             "[default: OUT/data]"),
        kimg: float | None = typer.Option(None, help="length in thousands of training crops [default: 16]"),
        batch: int = typer.Option(12, help="batch size"),
        crop: int = typer.Option(64, help="training crop side in pixels (0: whole views)"),
        resume: bool = typer.Option(False, "--resume", help="continue --out from its latest snapshot"),
        counts: str = typer.Option("shapes=160,heads=50,scenes=50", help="data-engine samples per kind"),
        views: int = typer.Option(6, help="ground-truth views per sample"),
        size: int = typer.Option(128, help="ground-truth view side in pixels"),
        refiner: RefinerChoice = typer.Option(RefinerChoice.unet, help="refiner architecture"),
        vgg: Path | None = typer.Option(None, "--vgg", help="local torchvision VGG19 state dict: adds a "
                                                           "perceptual loss"),
        perceptual_weight: float = typer.Option(2.0, "--perceptual-weight", help="used with --vgg"),
        lr_g: float = typer.Option(4e-4, "--lr-g"),
        lr_d: float = typer.Option(4e-4, "--lr-d"),
        sample_kimg: float = typer.Option(1.0, "--sample-kimg", help="kimg between sample grids"),
        snap_kimg: float = typer.Option(1.0, "--snap-kimg", help="kimg between snapshots"),
        seed: int = typer.Option(0, help="seeds data, order and every random draw"),
        workers: int = typer.Option(0, help="DataLoader worker processes (they splat the clouds; 0: in this "
                                            "process)"),
        export: Path | None = typer.Option(None, "--export", help="write the final EMA model here as weights "
                                                                 "(.safetensors + .json + MODEL_CARD.md with "
                                                                 "held-out scores)"),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
    ) -> None:
        """Train the pc2img stages on data-engine clouds (reproduces the shipped weights)."""
        from gan2d.train.config import TrainConfig
        from tools.pc2img.model import Pc2ImgConfig
        from tools.pc2img.task import Pc2ImgLossConfig
        from tools.pc2img.train import Pc2ImgRun, TrainData, export_weights, load_run, run_training

        check_out_dir(out)
        if resume:
            run = load_run(out, kimg)
        else:
            if (out / "config.json").is_file():
                raise ToolError(f"{out} already holds a pc2img run; pass --resume or choose a new --out")
            run = Pc2ImgRun(
                data=str(data if data is not None else out / "data"),
                model=Pc2ImgConfig(refiner_arch=refiner.value),
                loss=Pc2ImgLossConfig(perceptual_weight=perceptual_weight if vgg else 0.0),
                train=TrainConfig(total_kimg=kimg or 16.0, batch_size=batch, lr_g=lr_g, lr_d=lr_d,
                                  betas_g=(0.5, 0.99), betas_d=(0.0, 0.99), ema_kimg=0.5, seed=seed,
                                  num_workers=workers, log_every=10, sample_every_kimg=sample_kimg,
                                  checkpoint_every_kimg=snap_kimg, progress=progress),
                trainset=TrainData(_counts(counts), views, size, seed),
                crop=crop or None,
                vgg=str(vgg) if vgg else None,
            )
        result = run_training(run, out, resume=resume, progress=progress)
        typer.echo(f"trained {result.nimg / 1000:g} kimg in {result.steps} steps; snapshot {result.last_snapshot}")
        if export is not None:
            typer.echo(f"weights: {export_weights(out, export, progress=progress)}")
