"""A batch over input files (scene files, point clouds): one task per input, one run directory each,
and the batch's index `OUT/batch.json`.

`batch.json` holds the format, the settings every input was rendered with (a rerun must use the same
ones), each input's source and folder, and the inputs that failed in the last run with the reason.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from scenes.jobs.driver import JobReport, Runner, run_job
from scenes.jobs.folders import Failure, FolderJob
from scenes.outputs import write_json
from tools.batch.inputs import output_names
from tools.errors import ToolError
from tools.rundir import check_out_dir

INDEX = "batch.json"


class InputBatchJob(FolderJob):
    """Task i turns `sources[i]` into the run directory `out/<name i>`; subclasses give `write` and `settings`."""

    format: ClassVar[str]
    command: ClassVar[str]
    """The progress bar's label (the command's name)."""
    noun: ClassVar[str]

    def __init__(self, sources: list[Path], out: Path) -> None:
        self.sources = [Path(s) for s in sources]
        self.names = output_names(self.sources)
        self.out = Path(out)

    def __len__(self) -> int:
        return len(self.sources)

    def folder(self, i: int) -> Path:
        return self.out / self.names[i]

    def describe(self, i: int) -> str:
        return f"{self.noun} {self.sources[i]}"

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """What every input is rendered with (JSON values); recorded and checked on a rerun."""

    def finish(self, failed: list[Failure]) -> None:
        inputs = [{"name": n, "source": str(s), "dir": n, "done": (self.out / n).is_dir()}
                  for n, s in zip(self.names, self.sources, strict=True)]
        write_json(self.out / INDEX, {"format": self.format, "settings": self.settings(), "inputs": inputs,
                                      "failed": [{"name": self.names[f.index], "source": str(self.sources[f.index]),
                                                  "error": f.error} for f in failed]})


def _check_previous(job: InputBatchJob) -> None:
    path = job.out / INDEX
    if not path.is_file():
        return
    try:
        old = json.loads(path.read_text()).get("settings")
    except (OSError, ValueError, AttributeError) as e:
        raise ToolError(f"{path}: unreadable batch index ({e}); use another --out") from None
    if old != job.settings():
        raise ToolError(f"{job.out} holds a batch made with {old}, not {job.settings()}; rerun with the same "
                        "settings or use another --out (or remove its folders to redo them)")


def run_batch(job: InputBatchJob, runner: Runner, *, retries: int = 1, chunk: int = 1,
              progress: bool = True) -> JobReport:
    """Run the inputs whose folder is missing.

    Raises:
        ToolError: `job.out` unusable or holding a batch of other settings, or inputs failed (each
            named in `batch.json`; a rerun retries them).
        JobError: the output cannot be written, the first inputs all failed, Ray cannot be reached.
    """
    check_out_dir(job.out)
    _check_previous(job)
    job.out.mkdir(parents=True, exist_ok=True)
    desc = job.command + (" (ray)" if runner.name == "ray" else "")
    report = run_job(job, runner, retries=retries, chunk=chunk, progress=progress, unit=job.noun, desc=desc)
    if report.failed:
        raise ToolError(f"{len(report.failed)} of {report.written + len(report.failed)} {job.noun}s failed "
                        f"(listed in {job.out / INDEX}, retried by a rerun); first: {report.failed[0].error}")
    return report


def report_line(report: JobReport, out: Path, noun: str) -> str:
    """The command's last line: what was done, how fast, where the index is."""
    retried = f", {report.retried} retried" if report.retried else ""
    return (f"{out}: {report.written} {noun}s rendered, {report.skipped} already done{retried}, "
            f"{report.seconds:.1f} s ({report.per_second:.2f} {noun}s/s); index {out / INDEX}")
