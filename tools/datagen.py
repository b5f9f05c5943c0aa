"""`neurender datagen`: multi-view datasets of procedural heads, shapes or scenes (see `scenes.datagen`)."""

from __future__ import annotations

from pathlib import Path

import typer

from scenes.datagen import DatagenConfig, DatagenReport, generate
from scenes.samples import KINDS
from tools.errors import ToolError


def run_datagen(cfg: DatagenConfig, out: Path, progress: bool = True) -> DatagenReport:
    """Generate (or resume) a dataset; the library entry point behind the command.

    Example:
        >>> cfg = DatagenConfig("shapes", count=2, views=2, size=32, workers=1)
        >>> run_datagen(cfg, Path("/tmp/ds"))  # doctest: +SKIP
    """
    if out.exists() and not out.is_dir():
        raise ToolError(f"--out {out} exists and is not a directory")
    return generate(cfg, out, progress=progress)


def register(app: typer.Typer) -> None:
    @app.command("datagen")
    def datagen_cmd(
        kind: str = typer.Option("heads", help=f"what to render: {'|'.join(KINDS)}"),
        count: int = typer.Option(100, help="number of samples"),
        views: int = typer.Option(4, help="views per sample"),
        size: int = typer.Option(128, help="square image side in pixels"),
        out: Path = typer.Option(..., "--out", help="dataset folder (an existing one is resumed)"),
        seed: int = typer.Option(0, help="dataset seed"),
        workers: int = typer.Option(2, help="parallel processes (one torch thread each)"),
        supersample: int = typer.Option(2, help="anti-aliasing factor (1..4)"),
        progress: bool = typer.Option(True, help="show a progress bar"),
    ) -> None:
        """Render a multi-view dataset: images, masks, depth, normals, cameras, params, meshes, an index."""
        cfg = DatagenConfig(kind=kind, count=count, views=views, size=size, seed=seed, workers=workers,
                            supersample=supersample)
        report = run_datagen(cfg, out, progress)
        typer.echo(f"{out}: {report.rendered} rendered, {report.skipped} already done, "
                   f"{report.seconds:.1f} s ({report.samples_per_second:.2f} samples/s); "
                   f"index {out / 'dataset.json'}, gan2d images {out / 'images'}")
