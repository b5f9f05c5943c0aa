"""The folder-job driver on this machine: resume, retries, failures named, chunks, a killed local worker."""

import os
import signal
from pathlib import Path

import pytest

from scenes.errors import JobError, TaskError
from scenes.jobs.driver import run_job
from scenes.jobs.folders import FolderJob, execute, temp_folder
from scenes.jobs.local import InlineRunner, PoolRunner


class Squares(FolderJob):
    """Task i writes i² into `root/<i>`; every attempt is logged in `log` (attempt files survive the
    process that made them, so a retried task's attempts can be counted across workers)."""

    def __init__(self, root: Path, n: int, fail: dict[int, str] | None = None) -> None:
        self.root, self.n, self.fail = root, n, fail or {}
        self.log = root.parent / f"{root.name}-attempts"
        self.log.mkdir(parents=True, exist_ok=True)

    def __len__(self) -> int:
        return self.n

    def folder(self, i: int) -> Path:
        return self.root / f"{i:03d}"

    def describe(self, i: int) -> str:
        return f"square {i}"

    def attempts(self, i: int) -> int:
        return len(list(self.log.glob(f"{i}-*")))

    def write(self, i: int, tmp: Path) -> None:
        n = self.attempts(i)
        (self.log / f"{i}-{n}").touch()
        tmp.mkdir()
        (tmp / "half.txt").write_text("a temp folder exists while the task runs")
        mode = self.fail.get(i)
        if mode == "always" or (mode == "once" and n == 0):
            raise ValueError("no square today")
        if mode == "kill" and n == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        (tmp / "value.txt").write_text(str(i * i))
        (tmp / "half.txt").unlink()


def _values(root: Path) -> dict[str, str]:
    return {p.name: (p / "value.txt").read_text() for p in sorted(root.iterdir())}


def test_execute_is_atomic_and_names_the_input(tmp_path: Path) -> None:
    job = Squares(tmp_path / "out", 3, {1: "always"})
    assert execute(job, 0) and not execute(job, 0)  # written, then present
    with pytest.raises(TaskError, match=r"^square 1: no square today$"):
        execute(job, 1)
    assert sorted(p.name for p in job.root.iterdir()) == ["000"]  # nothing of the failed task is left
    assert temp_folder(job.folder(1)).name.startswith(".tmp-001-")


def test_retries_then_reports_and_a_rerun_does_nothing(tmp_path: Path) -> None:
    job = Squares(tmp_path / "out", 6, {1: "once", 4: "always"})
    report = run_job(job, InlineRunner(), retries=2, progress=False)
    assert (report.written, report.skipped, report.retried) == (5, 0, 1 + 2)
    assert [(f.index, f.error) for f in report.failed] == [(4, "square 4: no square today")]
    assert job.attempts(1) == 2 and job.attempts(4) == 3 and job.attempts(0) == 1
    assert _values(job.root) == {f"{i:03d}": str(i * i) for i in (0, 1, 2, 3, 5)}
    job.fail = {}
    again = run_job(job, InlineRunner(), progress=False)
    assert (again.written, again.skipped, again.failed) == (1, 5, [])  # only the failed task ran
    assert job.attempts(4) == 4 and job.attempts(0) == 1
    done = run_job(job, InlineRunner(), progress=False)
    assert (done.written, done.skipped) == (0, 6) and sum(job.attempts(i) for i in range(6)) == 10


def test_chunks_and_stale_temp_folders(tmp_path: Path) -> None:
    job = Squares(tmp_path / "out", 5)
    stale = temp_folder(job.folder(2)).with_name(".tmp-002-otherhost-1234")
    stale.mkdir(parents=True)
    (stale / "value.txt").write_text("garbage")  # a killed run's half-written folder: never taken for a task
    report = run_job(job, InlineRunner(), chunk=2, progress=False)
    assert report.written == 5 and _values(job.root)["002"] == "4" and not stale.exists()


def test_a_systematic_failure_stops_the_run(tmp_path: Path) -> None:
    job = Squares(tmp_path / "out", 30, dict.fromkeys(range(30), "always"))
    with pytest.raises(JobError, match=r"first 10 tasks all failed.*square 0"):
        run_job(job, InlineRunner(), retries=0, progress=False)


def test_a_killed_local_worker_is_retried_on_a_fresh_pool(tmp_path: Path) -> None:
    job = Squares(tmp_path / "out", 4, {2: "kill"})
    report = run_job(job, PoolRunner(2), retries=1, progress=False)
    assert report.failed == [] and report.written == 4 and report.retried >= 1
    assert job.attempts(2) == 2
    assert _values(job.root) == {f"{i:03d}": str(i * i) for i in range(4)}
    assert not list(job.root.glob(".tmp-*"))  # the killed attempt's temp folder was swept
