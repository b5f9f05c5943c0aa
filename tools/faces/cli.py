"""`neurender faces`: pose-controlled multi-view faces from seeds or a photo.

Only typer and the standard library load at import; the command imports torch when it runs, so
`--help` and usage errors stay fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from tools.errors import ToolError
from tools.invgraphics.cli import Renderer
from tools.rundir import check_out_dir


class Method(StrEnum):
    """How the view is set: along calibrated W directions, by mixing a camera code's view layers, or by the pose
    label of a pose-conditioned generator (`train faces --pose-conditioned`)."""

    auto = "auto"
    direction = "direction"
    mixing = "mixing"
    condition = "condition"


class Estimator(StrEnum):
    """What measures the pose: the bundled head analyzer, or face-mesh landmarks + PnP (real faces)."""

    analyzer = "analyzer"
    landmarks = "landmarks"


def register(app: typer.Typer) -> None:
    """Add `faces` to the top-level app."""

    @app.command("faces")
    def faces_cmd(
        out: Path = typer.Option(..., "--out", help="run folder (a previous run there is replaced)"),
        seeds: str = typer.Option("0-7", help="identity seeds, e.g. 0-7 or 1,5,9"),
        yaw: str = typer.Option("-40:40:9", "--yaw", help="yaw degrees: FROM:TO:COUNT (COUNT values, ends "
                                                          "included) or one number"),
        pitch: str = typer.Option("0", "--pitch", help="pitch degrees: FROM:TO:COUNT or one number"),
        size: int = typer.Option(64, help="side of the written images in pixels"),
        method: Method = typer.Option(Method.auto, help="condition (pose label of a pose-conditioned generator), "
                                                         "direction (W-space edit) or mixing (view code); auto: "
                                                         "condition for the embedded or a pose-conditioned "
                                                         "generator, direction for others and --from-photo"),
        truncation: float = typer.Option(0.7, help="truncation psi of the identities (0..1.5)"),
        weights: Path | None = typer.Option(None, "--weights", help="generator checkpoint (.safetensors, .pkl, "
                                                                     ".pt); default: the embedded one"),
        from_photo: Path | None = typer.Option(None, "--from-photo", help="rotate the face in this photo "
                                                                           "instead of seeds"),
        estimator: Estimator = typer.Option(Estimator.analyzer, help="pose estimator"),
        iterations: int = typer.Option(3, help="closed-loop corrections per view (0..10)"),
        renderer: Renderer | None = typer.Option(None, "--renderer", help="with --from-photo: show the inverse-"
                                                 "graphics reconstruction of the photo over --yaw rendered by the "
                                                 "mesh, the GAN (neural renderer) or both (sheet.png: mesh row, GAN "
                                                 "row), as `neurender invgraphics PHOTO --renderer` does"),
    ) -> None:
        """Render identities at requested yaw/pitch: images, poses.json, labelled grids, metrics.json."""
        from tools.faces.job import FacesJob, parse_values
        from tools.gan.cli import parse_int_list

        if not 0 <= iterations <= 10:
            raise ToolError(f"--iterations must be within 0..10, got {iterations}")
        if renderer is not None:
            _run_renderer(out, from_photo, renderer, yaw, size)
            return
        method = _resolve_method(method, weights)
        if method == Method.condition:
            metrics, warnings = _run_condition(out, seeds, yaw, pitch, size, truncation, weights, from_photo,
                                               estimator, iterations)
            _report(out, metrics, warnings)
            return
        job = FacesJob(seeds=tuple(parse_int_list(seeds, "--seeds")) if from_photo is None else (),
                       yaws=tuple(parse_values(yaw, "--yaw", 180.0)),
                       pitches=tuple(parse_values(pitch, "--pitch", 89.0)),
                       size=size, method=method.value, truncation=truncation, iterations=iterations,
                       weights=None if weights is None else str(weights),
                       photo=None if from_photo is None else str(from_photo))
        check_out_dir(out, replace=True)
        from tools.faces.run import run_command

        metrics, warnings = run_command(job, estimator.value, out, lambda msg: typer.echo(msg, err=True))
        _report(out, metrics, warnings)


def _run_renderer(out: Path, photo: Path | None, renderer: Renderer, yaw: str, size: int) -> None:
    """`--from-photo --renderer`: the invgraphics job's yaw sweep of the photo's reconstruction (its run folder)."""
    from tools.faces.job import parse_values

    if photo is None:
        raise ToolError("--renderer needs --from-photo (it renders a photo's inverse-graphics reconstruction)")
    if not 16 <= size <= 1024:
        raise ToolError(f"--size must be within 16..1024 pixels, got {size}")
    yaws = parse_values(yaw, "--yaw", 180.0)
    check_out_dir(out, replace=True)
    from tools.invgraphics.run import run_invgraphics

    result = run_invgraphics(photo, out, renderer=renderer.value, yaws=yaws, size=size)
    for note in result["notes"]:
        typer.echo(f"note: {note}", err=True)
    shown = "sheet.png" if renderer == Renderer.both else f"sweep_{renderer.value}.png"
    typer.echo(f"{out}: {len(yaws)} yaws by {renderer.value}; {out / shown}")


def _resolve_method(method: Method, weights: Path | None) -> Method:
    """`auto` → condition for the embedded generator or a pose-conditioned `--weights`, else direction. Other
    files' errors are left to the loaders."""
    if method != Method.auto:
        return method
    if weights is None:
        return Method.condition
    if weights.suffix != ".safetensors" or not weights.is_file():
        return Method.direction
    from gan2d.errors import Gan2DError
    from tools.faces.condition import is_pose_conditioned
    from tools.gan.networks import load_gan_network

    try:
        return Method.condition if is_pose_conditioned(load_gan_network(weights)[0]) else Method.direction
    except (Gan2DError, ToolError):
        return Method.direction  # the direction path reports what is wrong with the file


def _run_condition(out: Path, seeds: str, yaw: str, pitch: str, size: int, truncation: float, weights: Path | None,
                   photo: Path | None, estimator: Estimator, iterations: int) -> tuple[dict, list[str]]:
    import math

    from tools.faces.condition_job import ConditionJob, run_condition
    from tools.faces.job import parse_values
    from tools.gan.cli import parse_int_list

    if weights is None:
        from tools.faces.bundle import CONDITIONED, WEIGHTS_DIR

        weights = WEIGHTS_DIR / CONDITIONED
    if not (math.isfinite(truncation) and 0.0 <= truncation <= 1.5):
        raise ToolError(f"--truncation must be within 0..1.5, got {truncation}")
    if not 16 <= size <= 1024:
        raise ToolError(f"--size must be within 16..1024 pixels, got {size}")
    job = ConditionJob(seeds=tuple(parse_int_list(seeds, "--seeds")) if photo is None else (),
                       yaws=tuple(parse_values(yaw, "--yaw", 180.0)),
                       pitches=tuple(parse_values(pitch, "--pitch", 89.0)),
                       weights=str(weights), size=size, truncation=truncation, iterations=iterations,
                       photo=None if photo is None else str(photo))
    if max(1, len(job.seeds)) * len(job.yaws) * len(job.pitches) > 20_000:
        raise ToolError("more than 20,000 views requested; split the run")
    check_out_dir(out, replace=True)
    return run_condition(job, estimator.value, out, lambda msg: typer.echo(msg, err=True))


def _report(out: Path, metrics: dict, warnings: list[str]) -> None:
    """Print the warnings and the one-line summary of a faces run."""
    for line in warnings:
        typer.echo(f"warning: {line}", err=True)
    pose = metrics["pose_error"]
    floor = metrics.get("estimator_noise_floor") or {}
    floor_yaw, floor_pitch = floor.get("yaw_median_abs", float("nan")), floor.get("pitch_median_abs", float("nan"))
    drift = (metrics.get("identity_drift") or {}).get("vs_generator_identities") or {}
    typer.echo(f"{out}: {metrics['views']} views; median pose error yaw {pose['yaw_median_abs']:.2f}° "
               f"pitch {pose['pitch_median_abs']:.2f}° (estimator floor "
               f"{floor_yaw:.2f}°/{floor_pitch:.2f}°)"
               + (f", identity drift {100 * drift['drift']:.1f}%" if drift else "")
               + f"; {out / 'poses.json'}")

