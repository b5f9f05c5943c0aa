"""The `neurender render` command line. Only typer and light tools modules load at import; the command
imports the renderer (`tools.render`, torch, the backends) when it runs, so `--help` and usage errors
cost no torch start-up."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer

from tools.batch.inputs import is_batch_input
from tools.batch.options import BatchCommand, chunk_option, ray_option, retries_option, workers_option
from tools.errors import ToolError
from tools.rundir import staged_dir

SCENE_SUFFIXES = (".yaml", ".yml", ".json", ".py")


def _render_scene(asset: Path, out: Path, size: int | None, backend: str | None,
                  orbit_only: dict[str, object]) -> None:
    from scenes.render import render_scene_file

    given = [k for k, v in orbit_only.items() if v is not None]
    if given:
        raise ToolError(f"{', '.join(given)} apply to asset files; a scene file sets its cameras and outputs")
    with staged_dir(out) as stage:  # all or nothing: no half-written or stale outputs in --out
        render_scene_file(asset, stage, width=size, height=size, backend=backend)
    typer.echo(f"rendered {asset} to {out}")


def _render_asset(asset: Path, out: Path, given: dict[str, object], outputs: str | None) -> None:
    from render3d.backends import backend_info
    from render3d.render_settings import SHADINGS
    from tools.render import OUTPUTS, OrbitRenderJob, producible_outputs, render_asset

    if outputs is not None:
        given["outputs"] = tuple(o.strip() for o in outputs.split(",") if o.strip())
    job = OrbitRenderJob(**{k: v for k, v in given.items() if v is not None})
    can = producible_outputs(job.backend, job.outputs)
    if can != job.outputs:
        lacking = ", ".join(o for o in job.outputs if o not in can)
        if outputs is not None:
            produces = ", ".join(producible_outputs(job.backend, OUTPUTS))
            raise ToolError(f"backend {job.backend!r} cannot produce {lacking} (it produces {produces}); "
                            "drop it from --outputs or choose another --backend")
        typer.echo(f"backend {job.backend!r} does not produce {lacking}; writing {', '.join(can)}")
        job = replace(job, outputs=can)
    drawn = SHADINGS if job.backend == "auto" else backend_info(job.backend).capabilities.shadings
    if job.shading not in drawn:  # e.g. an unlit-only renderer: its best model, said in one line
        shading = next(s for s in ("lambert", "unlit") if s in drawn)
        typer.echo(f"backend {job.backend!r} does not draw {job.shading} shading; rendering {shading}")
        job = replace(job, shading=shading)
    with staged_dir(out) as stage:
        written = render_asset(asset, stage, job)
    typer.echo(f"wrote {len(written)} files to {out} (contact sheet: {out / 'sheet.png'})")


def register(app: typer.Typer) -> None:
    """Add the `render` command to the CLI."""

    @app.command("render", cls=BatchCommand)
    def render_cmd(
        asset: Path = typer.Argument(..., help="scene file (.yaml .json .py), mesh (.obj .ply .glb .stl .off), "
                                               "point cloud (.ply .pcd .xyz .npy), or a list (.txt) or quoted "
                                               "glob of scene files rendered as one job into OUT/<name>/"),
        out: Path = typer.Option(..., "--out", help="output directory (a previous run there is replaced)"),
        size: int | None = typer.Option(None, help="image side in pixels [asset default: 256; scene: its own]"),
        views: int | None = typer.Option(None, help="number of orbit views [default: 8] (asset files)"),
        elevation: float | None = typer.Option(None, help="camera elevation in degrees [default: 20] (asset files)"),
        distance: float | None = typer.Option(None, help="camera distance [default: fit the object] (asset files)"),
        fov: float | None = typer.Option(None, help="vertical field of view in degrees [default: 40] (asset files)"),
        backend: str | None = typer.Option(None, help="any backend `neurender backends` lists, or auto "
                                                      "[default: torch]"),
        outputs: str | None = typer.Option(None, help="subset of rgb,depth,normal,mask [default: all the backend "
                                                      "produces] (asset files)"),
        ray: str | None = ray_option(),
        workers: int | None = workers_option(),
        retries: int = retries_option(),
        chunk: int = chunk_option(),
    ) -> None:
        """Render a scene file, or a mesh / point cloud from N views on an orbit around its bounding-box center."""
        orbit_only = {"--views": views, "--elevation": elevation, "--distance": distance, "--fov": fov,
                      "--outputs": outputs}
        if is_batch_input(asset):  # a scene list: one job of many scenes (tools.batch.render), resumable
            from tools.batch.render import render_batch_command

            return render_batch_command(asset, out, size=size, backend=backend, ray=ray, workers=workers,
                                        retries=retries, chunk=chunk, orbit_flags=orbit_only)
        if ray is not None or workers is not None:
            raise ToolError("--ray and --workers apply to a scene list (a .txt file or a quoted glob)")
        if asset.suffix.lower() in SCENE_SUFFIXES:
            return _render_scene(asset, out, size, backend, orbit_only)
        given = dict(size=size, views=views, elevation=elevation, distance=distance, fov=fov, backend=backend)
        _render_asset(asset, out, given, outputs)
