"""The driver of a folder job: what is left to do, who runs it, retries, progress, the end of the run.

One loop for every runner (`scenes.jobs.local.InlineRunner` / `PoolRunner`,
`scenes.jobs.ray_runner.RayRunner`): it skips the folders that exist, removes stale temp folders,
keeps at most the runner's capacity of chunks in flight, resubmits a task that raised or whose worker
died (up to `retries` times, before any new work, so a failure is known early), shows tasks done /
failed / retried, and whatever happens (failures, Ctrl-C, a runner error) closes the runner, removes
the temp folders of unfinished tasks and calls the job's `finish`.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from scenes.errors import JobError
from scenes.jobs.folders import Failure, FolderJob, sweep_temp

# A run whose first tasks all fail has a systematic problem (not one unlucky input): stop there.
ABORT_AFTER_FAILURES = 10


@dataclass(frozen=True)
class Outcome:
    """One attempt of one task: `error` is None on success; `crashed` when its worker died."""

    index: int
    error: str | None = None
    crashed: bool = False


class Runner(Protocol):
    """Runs chunks of task indices of one job somewhere; the driver owns the bookkeeping."""

    name: str

    def start(self, job: FolderJob) -> int:
        """Get ready to run `job`'s tasks; returns how many chunks may be in flight at once."""
        ...

    def submit(self, chunk: Sequence[int]) -> None:
        """Start running the tasks of `chunk` (in order, in one worker)."""
        ...

    def wait(self) -> list[Outcome]:
        """Block until one submitted chunk has ended; its tasks' outcomes."""
        ...

    def close(self) -> None:
        """Stop whatever still runs (after an error or Ctrl-C) and release the workers."""
        ...


@dataclass(frozen=True)
class JobReport:
    """What a run did: tasks written now, already there, failed (retries spent), retried, wall time."""

    written: int
    skipped: int
    failed: list[Failure] = field(default_factory=list)
    retried: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0


def _chunks(indices: list[int], size: int) -> deque[list[int]]:
    return deque(indices[k:k + size] for k in range(0, len(indices), size))


def run_job(job: FolderJob, runner: Runner, *, retries: int = 1, chunk: int = 1, progress: bool = True,
            desc: str = "job", unit: str = "task") -> JobReport:
    """Run every task of `job` whose folder does not exist yet.

    Args:
        job: the tasks.
        runner: where they run.
        retries: extra attempts of a task that raised or whose worker died.
        chunk: tasks per submission (one worker runs them one after the other): fewer, longer
            submissions when a task is much shorter than a runner's per-submission overhead.
        progress: show a progress bar (done / failed / retried).
        desc, unit: the bar's label and unit.

    Returns:
        A `JobReport`; failed tasks are listed in it (the caller decides whether that is an error).

    Raises:
        JobError: the first `ABORT_AFTER_FAILURES` tasks all failed, the output cannot be written, or
            the runner cannot start.
        KeyboardInterrupt: after closing the runner and removing the temp folders.

    Example:
        >>> from scenes.jobs.local import InlineRunner
        >>> run_job(job, InlineRunner(), progress=False).written  # doctest: +SKIP
        3
    """
    from tqdm import tqdm

    if retries < 0 or chunk < 1:
        raise JobError(f"retries must be >= 0 and chunk >= 1, got {retries}, {chunk}")
    n = len(job)
    folders = [job.folder(i) for i in range(n)]
    parents = sorted({f.parent for f in folders})
    sweep_temp(parents)  # a killed run's temp folders are never finished work
    todo = [i for i in range(n) if not folders[i].is_dir()]
    queue = _chunks(todo, chunk)
    attempts: Counter[int] = Counter()
    failed: list[Failure] = []
    written = retried = in_flight = 0
    start = time.perf_counter()
    bar = tqdm(total=n, initial=n - len(todo), unit=unit, desc=desc, disable=not progress, dynamic_ncols=True)
    try:
        capacity = max(1, runner.start(job))
        while queue or in_flight:
            while queue and in_flight < capacity:
                runner.submit(queue.popleft())
                in_flight += 1
            outcomes = runner.wait()
            in_flight -= 1
            for o in outcomes:
                if o.error is None:
                    written += 1
                    bar.update(1)
                    continue
                attempts[o.index] += 1
                if attempts[o.index] <= retries:
                    retried += 1
                    queue.appendleft([o.index])
                    bar.write(f"{desc}: retrying ({attempts[o.index]}/{retries}) {o.error}")
                    continue
                failed.append(Failure(o.index, o.error))
                bar.update(1)
                bar.write(f"{desc}: failed: {o.error}")
                if written == 0 and len(failed) >= ABORT_AFTER_FAILURES:
                    raise JobError(f"the first {len(failed)} {unit}s all failed; stopping. First: {failed[0].error}")
            bar.set_postfix(done=written, failed=len(failed), retried=retried, refresh=False)
    finally:
        try:
            runner.close()
        finally:
            bar.close()
            sweep_temp(parents)  # no worker is left: whatever is still a temp folder will never finish
            job.finish(sorted(failed, key=lambda f: f.index))
    return JobReport(written=written, skipped=n - len(todo), failed=sorted(failed, key=lambda f: f.index),
                     retried=retried, seconds=time.perf_counter() - start)
