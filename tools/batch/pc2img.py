"""Batch pc2img: many point clouds (files, COLMAP model folders, fitted scenes) through `neurender pc2img`
as one job, locally or on Ray.

Cloud i renders into `OUT/<name i>` (`tools.batch.inputs.output_names`), the run directory a single
`neurender pc2img CLOUD --out OUT/<name i>` writes (images, splats, visibility, coarse, sheet,
cameras, config), written atomically by whichever worker rendered it (`scenes.jobs`); a rerun renders
only the clouds whose folder is missing. Every cloud gets the same camera settings (`--cameras`, or
its COLMAP images, or the orbit). `OUT/batch.json` indexes the job (`tools.batch.job`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from render3d.io import POINT_SUFFIXES
from scenes.jobs.driver import JobReport, Runner
from tools.batch.inputs import expand_inputs
from tools.batch.job import InputBatchJob, report_line, run_batch
from tools.batch.options import check_batch_options, make_runner
from tools.pc2img.render import Pc2ImgJob, run_pc2img

SOURCE_SUFFIXES = (*POINT_SUFFIXES, "")  # "": a COLMAP model or fitted scene folder


class Pc2ImgBatchJob(InputBatchJob):
    """Task i renders `sources[i]` with the settings of `template` (its `source` replaced) into `out/<name i>`."""

    format = "neurender-pc2img-batch/1"
    command = "pc2img"
    noun = "cloud"
    preload = ("tools.batch.pc2img",)

    def __init__(self, sources: list[Path], out: Path, template: Pc2ImgJob) -> None:
        super().__init__(sources, out)
        self.template = template

    def settings(self) -> dict[str, Any]:
        return {k: v for k, v in json.loads(json.dumps(asdict(self.template))).items() if k != "source"}

    def write(self, i: int, tmp: Path) -> None:
        # run_pc2img stages its run directory itself (beside `tmp`, swept like it) and renames it to `tmp`.
        run_pc2img(replace(self.template, source=str(self.sources[i])), tmp)


def run_pc2img_batch(source_list: str | Path, out: Path, template: Pc2ImgJob, runner: Runner, *,
                     retries: int = 1, chunk: int = 1, progress: bool = True) -> JobReport:
    """Render every cloud of a list file or glob into `out/<name>/` (the missing ones).

    Args:
        source_list: a `.txt` list or a glob of clouds / COLMAP folders / fitted scenes.
        out: the batch folder.
        template: the settings of every cloud's run (its `source` is ignored).
        runner: where clouds render (`tools.batch.options.make_runner`).

    Raises:
        ToolError: a bad list / glob, `out` unusable or holding a batch of other settings, or clouds
            failed (each named in `out/batch.json`; a rerun retries them).
        JobError: the output cannot be written, the first clouds all failed, Ray cannot be reached.

    Example:
        >>> from scenes.jobs.local import local_runner
        >>> run_pc2img_batch("clouds/*.ply", Path("runs/p"), Pc2ImgJob(""), local_runner(2))  # doctest: +SKIP
    """
    job = Pc2ImgBatchJob(expand_inputs(source_list, SOURCE_SUFFIXES, "point cloud or model folder"), out, template)
    return run_batch(job, runner, retries=retries, chunk=chunk, progress=progress)


def pc2img_batch_command(source_list: Path, out: Path, template: Pc2ImgJob, *, ray: str | None,
                         workers: int | None, retries: int, chunk: int) -> None:
    """The `neurender pc2img CLOUD_LIST` command body (for a list file or glob of inputs)."""
    import typer

    check_batch_options(workers, retries, chunk)
    report = run_pc2img_batch(source_list, out, template, make_runner(ray, workers), retries=retries, chunk=chunk)
    typer.echo(report_line(report, out, "cloud"))
