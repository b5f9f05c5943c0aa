"""`neurender render SCENE_LIST --out DIR [--ray [ADDRESS]]`: many scene files rendered as one job.

Scene i renders into `DIR/<name i>` (`tools.batch.inputs.output_names`), the run directory a single
`neurender render scene.yaml --out DIR/<name i>` writes, written atomically by whichever worker
rendered it (`scenes.jobs`): a rerun renders only the scenes whose folder is missing, locally or on
Ray. `DIR/batch.json` indexes the job (`tools.batch.job`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenes.jobs.driver import JobReport, Runner
from scenes.jobs.folders import TaskResources
from scenes.render import render_scene_file
from tools.batch.inputs import expand_inputs
from tools.batch.job import InputBatchJob, report_line, run_batch
from tools.batch.options import check_batch_options, make_runner
from tools.errors import ToolError
from tools.rundir import MARKER

SCENE_SUFFIXES = (".yaml", ".yml", ".json", ".py")


def _resources(backend: str | None) -> TaskResources:
    """One CPU per scene; one GPU as well where the backend runs on CUDA only (e.g. nvdiffrast)."""
    if backend in (None, "auto"):
        return TaskResources()
    from render3d.backends import backend_info

    devices = backend_info(backend).capabilities.devices
    return TaskResources(gpus=0.0 if "cpu" in devices else 1.0)


class SceneBatchJob(InputBatchJob):
    """Task i renders scene file `sources[i]` into `out/<name i>` (with the size / backend overrides)."""

    format = "neurender-render-batch/1"
    command = "render"
    noun = "scene"
    preload = ("tools.batch.render",)

    def __init__(self, scenes: list[Path], out: Path, size: int | None = None, backend: str | None = None) -> None:
        super().__init__(scenes, out)
        self.size, self.backend = size, backend
        self.resources = _resources(backend)

    def settings(self) -> dict[str, Any]:
        return {"size": self.size, "backend": self.backend}

    def write(self, i: int, tmp: Path) -> None:
        render_scene_file(self.sources[i], tmp, width=self.size, height=self.size, backend=self.backend)
        # The folder is a run directory like a single render's: a later `render --out` there replaces it.
        (tmp / MARKER).write_text("written by neurender render (batch)\n")


def run_render_batch(scene_list: str | Path, out: Path, runner: Runner, *, size: int | None = None,
                     backend: str | None = None, retries: int = 1, chunk: int = 1,
                     progress: bool = True) -> JobReport:
    """Render every scene of a list file or glob into `out/<name>/` (the missing ones).

    Raises:
        ToolError: a bad list / glob, `out` unusable or holding a batch of other settings, or scenes
            failed (each named in `out/batch.json`; a rerun retries them).
        JobError: the output cannot be written, the first scenes all failed, Ray cannot be reached.

    Example:
        >>> from scenes.jobs.local import local_runner
        >>> run_render_batch("scenes/examples/*.yaml", Path("runs/all"), local_runner(2))  # doctest: +SKIP
    """
    job = SceneBatchJob(expand_inputs(scene_list, SCENE_SUFFIXES, "scene file"), out, size, backend)
    return run_batch(job, runner, retries=retries, chunk=chunk, progress=progress)


def render_batch_command(scene_list: Path, out: Path, *, size: int | None, backend: str | None,
                         orbit_flags: dict[str, Any], ray: str | None, workers: int | None, retries: int,
                         chunk: int) -> None:
    """The `neurender render SCENE_LIST` command body (called by `tools.render_cli` for a list or glob).

    Raises:
        ToolError: orbit-only flags given (scene files set their own cameras), bad batch options.
    """
    import typer

    given = [k for k, v in orbit_flags.items() if v is not None]
    if given:
        raise ToolError(f"{', '.join(given)} apply to asset files; scene files set their cameras and outputs")
    check_batch_options(workers, retries, chunk)
    report = run_render_batch(scene_list, out, make_runner(ray, workers), size=size, backend=backend,
                              retries=retries, chunk=chunk)
    typer.echo(report_line(report, out, "scene"))
