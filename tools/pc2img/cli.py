"""`neurender pc2img`: point clouds / COLMAP models → photo-like images, and the per-scene fit.

    neurender pc2img CLOUD|COLMAP_DIR|SCENE_DIR [--cameras cameras.json | --views N --elevation E]
                     [--size S] [--weights W] [--background 1,1,1] --out DIR
    neurender pc2img fit CLOUD --views DIR --out SCENE_DIR [--seconds 600] [--size 128] [--holdout 0,5]

The first form is the `render` subcommand (named or not). Only typer and the standard library load at
import; each command imports torch when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from tools.batch.inputs import is_batch_input
from tools.batch.options import BatchCommand, chunk_option, ray_option, retries_option, workers_option
from tools.errors import ToolError
from tools.rundir import check_out_dir


class _DefaultRender(TyperGroup):
    """`pc2img ARGS` means `pc2img render ARGS` unless ARGS starts with a subcommand or a help flag."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["render", *args]
        return super().parse_args(ctx, args)


def _holdout(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ToolError(f"--holdout must be view indices like 0,5, got {text!r}") from None


def register(app: typer.Typer) -> None:
    group = typer.Typer(cls=_DefaultRender, no_args_is_help=True,
                        help="Render point clouds / COLMAP models to photo-like images; fit per-scene models.")
    app.add_typer(group, name="pc2img")

    @group.command("render", cls=BatchCommand)
    def render_cmd(
        source: Path = typer.Argument(..., help="point cloud (.ply/.pcd/.xyz/.npy), COLMAP sparse model folder, "
                                                "or a fitted scene folder; a list (.txt) or quoted glob of them "
                                                "renders each into OUT/<name>/ as one resumable job"),
        out: Path = typer.Option(..., "--out", help="run directory (replaced whole)"),
        cameras: Path | None = typer.Option(None, "--cameras", help="cameras.json as `neurender render` writes it"),
        views: int = typer.Option(4, "--views", help="orbit views (without --cameras / COLMAP images)"),
        elevation: float = typer.Option(20.0, "--elevation", help="orbit elevation in degrees"),
        size: int | None = typer.Option(None, "--size", help="orbit image side; with cameras, their longer "
                                                             "side [default: 256 for orbits, cameras as given]"),
        weights: Path | None = typer.Option(None, "--weights", help="pc2img weights [default: shipped]"),
        background: str = typer.Option("1,1,1", "--background", help="R,G,B in [0, 1]"),
        ray: str | None = ray_option(),
        workers: int | None = workers_option(),
        retries: int = retries_option(),
        chunk: int = chunk_option(),
    ) -> None:
        """Splat → learned visibility → coarse → refined images for each camera."""
        from tools.pc2img.render import Pc2ImgJob, parse_background, run_pc2img

        job = Pc2ImgJob(str(source), str(cameras) if cameras else None, views, elevation, size,
                        str(weights) if weights else None, parse_background(background))
        if is_batch_input(source):  # many clouds as one job (tools.batch.pc2img), locally or on Ray
            from tools.batch.pc2img import pc2img_batch_command

            return pc2img_batch_command(source, out, job, ray=ray, workers=workers, retries=retries, chunk=chunk)
        if ray is not None or workers is not None:
            raise ToolError("--ray and --workers apply to a list (.txt) or quoted glob of clouds")
        check_out_dir(out, replace=True)
        files = run_pc2img(job, out)
        typer.echo(f"{out}: {sum(1 for f in files if f.name.startswith('image_'))} views, sheet {out / 'sheet.png'}")

    @group.command("fit")
    def fit_cmd(
        cloud: Path = typer.Argument(..., help="point cloud file or COLMAP model folder"),
        views_dir: Path = typer.Option(..., "--views", help="folder with cameras.json and one photo per view"),
        out: Path = typer.Option(..., "--out", help="fitted scene folder (replaced whole)"),
        seconds: float = typer.Option(600.0, "--seconds", help="optimization time budget"),
        size: int | None = typer.Option(128, "--size", help="fit resolution (photos' longer side)"),
        descriptors: int = typer.Option(6, "--descriptors", help="learned feature channels per point"),
        holdout: str = typer.Option("", "--holdout", help="view indices kept out of the fit and scored"),
        weights: Path | None = typer.Option(None, "--weights", help="feed-forward weights to start from"),
        seed: int = typer.Option(0, help="seeds the view order"),
    ) -> None:
        """Per-scene (NPBG-style) fit: per-point descriptors + fine-tuned stages through the differentiable splat."""
        from tools.pc2img.fit import FitConfig, fit_scene, save_scene, write_fit_sheet
        from tools.pc2img.inputs import load_input
        from tools.pc2img.pipeline import prepare_cloud
        from tools.pc2img.views import load_views
        from tools.pc2img.weights import load_weights
        from tools.rundir import staged_dir

        check_out_dir(out, replace=True)
        config = FitConfig(descriptors=descriptors, seconds=seconds, seed=seed)
        held = _holdout(holdout)
        model, _ = load_weights(weights)
        scene = load_input(cloud)
        views = load_views(views_dir, size)
        if any(not 0 <= v < len(views) for v in held):
            raise ToolError(f"--holdout {holdout}: views are numbered 0..{len(views) - 1}")
        prepared = prepare_cloud(scene.points, scene.colors, scene.normals, model.config.splat, model.config.spacing_k)
        fitted, learned, report = fit_scene(model, prepared, views, config, held)
        report["source"], report["views"] = str(cloud), str(views_dir)
        with staged_dir(out) as stage:
            save_scene(stage, fitted, learned, report)
            write_fit_sheet(stage / "sheet.png", fitted, learned, views, held or list(range(len(views))))
        line = f"{out}: {report['steps']} steps in {report['seconds']:.0f} s"
        if "holdout" in report:
            h = report["holdout"]
            line += (f"; held-out PSNR {h['fitted_mean']:.2f} dB (feed-forward {h['feed_forward_mean']:.2f} dB, "
                     f"{h['gain_db']:+.2f})")
        typer.echo(line)
