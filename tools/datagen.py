"""`neurender datagen`: multi-view datasets of procedural heads, shapes or scenes (see `scenes.datagen`).

The library imports live inside the command, so `neurender datagen --help` and its usage errors
never load torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tools.batch.options import (
    BatchCommand,
    check_batch_options,
    chunk_option,
    make_runner,
    ray_option,
    retries_option,
    workers_option,
)
from tools.errors import ToolError
from tools.rundir import check_out_dir

if TYPE_CHECKING:
    from scenes.datagen import DatagenConfig
    from scenes.jobs.driver import JobReport, Runner

KIND_NAMES = "heads|shapes|scenes"


def parse_range(text: str | None, option: str) -> tuple[float, float] | None:
    """`"-45:45"` → (-45.0, 45.0); a single number `"30"` is the range (30, 30); None stays None.

    Raises:
        ToolError: not `LOW:HIGH` numbers.

    Example:
        >>> parse_range("-45:45", "--yaw")
        (-45.0, 45.0)
    """
    if text is None:
        return None
    parts = text.split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise ToolError(f"{option} takes LOW:HIGH in degrees (e.g. -45:45), got {text!r}")
    return values[0], values[-1]


def run_datagen(cfg: DatagenConfig, out: Path, progress: bool = True, runner: Runner | None = None,
                retries: int = 1, chunk: int = 1) -> JobReport:
    """Generate (or resume) a dataset; the library entry point behind the command.

    Args:
        runner: where samples render (None: `cfg.workers` local processes); see `tools.batch.options.make_runner`.

    Example:
        >>> import tempfile
        >>> from scenes.datagen import DatagenConfig
        >>> cfg = DatagenConfig("shapes", count=1, views=1, size=16, workers=1, supersample=1)
        >>> out = Path(tempfile.mkdtemp()) / "ds"
        >>> report = run_datagen(cfg, out, progress=False)
        >>> report.written, report.skipped, report.failed
        (1, 0, [])
        >>> run_datagen(cfg, out, progress=False).skipped  # a second run resumes: nothing left to do
        1
    """
    from scenes.datagen import generate

    check_out_dir(out)
    return generate(cfg, out, progress=progress, runner=runner, retries=retries, chunk=chunk)


def register(app: typer.Typer) -> None:
    @app.command("datagen", cls=BatchCommand)
    def datagen_cmd(
        kind: str = typer.Option("heads", help=f"what to render: {KIND_NAMES}"),
        count: int = typer.Option(100, help="number of samples"),
        views: int = typer.Option(4, help="views per sample"),
        size: int = typer.Option(128, help="square image side in pixels"),
        out: Path = typer.Option(..., "--out", help="dataset folder (an existing one is resumed)"),
        seed: int = typer.Option(0, help="dataset seed"),
        workers: int | None = workers_option(),
        supersample: int = typer.Option(2, help="anti-aliasing factor (1..4)"),
        yaw: str | None = typer.Option(None, help="camera yaw range LOW:HIGH in degrees [heads -60:60, "
                                                    "shapes/scenes -180:180]"),
        pitch: str | None = typer.Option(None, help="camera pitch (elevation) range LOW:HIGH in degrees "
                                                      "[heads -20:25, shapes -15:60, scenes 15:55]"),
        roll: str | None = typer.Option(None, help="camera roll range LOW:HIGH in degrees [heads -6:6, else 0]"),
        progress: bool = typer.Option(True, help="show a progress bar"),
        from_gan: bool = typer.Option(False, "--from-gan", help="views of generated faces instead of renders "
                                                                "(tools/faces; pose-controlled StyleGAN2)"),
        weights: Path | None = typer.Option(None, "--weights", help="with --from-gan: generator checkpoint "
                                                                     "[default: the embedded faces generator]"),
        identities: int = typer.Option(100, help="with --from-gan: number of generated identities"),
        ray: str | None = ray_option(),
        retries: int = retries_option(),
        chunk: int = chunk_option(),
    ) -> None:
        """Render a multi-view dataset: images, masks, depth, normals, cameras, poses, codes, meshes, an index.

        The folder is `neurender-multiview/1` (scenes/DATASET.md); read it back with
        `scenes.multiview.MultiviewDataset`. The same seed gives the same files with any --workers,
        with or without --ray.
        """
        check_batch_options(workers, retries, chunk)
        ranges = {"yaw": parse_range(yaw, "--yaw"), "pitch": parse_range(pitch, "--pitch"),
                  "roll": parse_range(roll, "--roll")}
        if from_gan:
            if ray is not None:
                raise ToolError("--ray applies to rendered datasets, not --from-gan")
            from tools.faces.gan_datagen import GanDatagenConfig, run_gan_datagen

            cfg = GanDatagenConfig(identities, views, size, seed, ranges["yaw"] or (-40.0, 40.0),
                                   ranges["pitch"] or (-15.0, 15.0), generator=str(weights or "embedded"))
            index = run_gan_datagen(weights, cfg, out, progress)
            typer.echo(f"{out}: {len(index['samples'])} identities x {views} views; index {out / 'dataset.json'}")
            return
        from scenes.datagen import DatagenConfig

        cfg = DatagenConfig(kind=kind, count=count, views=views, size=size, seed=seed, workers=workers or 2,
                            supersample=supersample, **ranges)
        report = run_datagen(cfg, out, progress, make_runner(ray, workers), retries, chunk)
        retried = f", {report.retried} retried" if report.retried else ""
        typer.echo(f"{out}: {report.written} rendered, {report.skipped} already done{retried}, "
                   f"{report.seconds:.1f} s ({report.per_second:.2f} samples/s); "
                   f"index {out / 'dataset.json'}, gan2d images {out / 'images'}")
