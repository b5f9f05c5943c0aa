"""Folder jobs: N tasks, task i writes one folder that exists complete or not at all.

This is the whole resume mechanism of the data engine and of batch renders, whatever runs the tasks
(this process, a local process pool, or Ray workers on many machines): a task writes into a temp
folder beside its final one (`.tmp-<name>-<host>-<pid>`) and renames it into place, so a folder that
exists is finished and is skipped by the next run, and a temp folder is never finished (the next
run's driver removes it before starting). The rename is atomic on one file system, which is what a
cluster's shared storage must provide for the output folder.
"""

from __future__ import annotations

import os
import shutil
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scenes.errors import JobError, TaskError

TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class TaskResources:
    """What one task needs from the machine that runs it (Ray schedules by it; local pools run
    `cpus`-threaded tasks).

    Attributes:
        cpus: CPU cores (torch threads) per task.
        gpus: GPUs per task (a backend that renders on CUDA needs 1).
        memory: bytes of RAM per task, or None (Ray then does not reserve any).
    """

    cpus: int = 1
    gpus: float = 0.0
    memory: int | None = None


class FolderJob(ABC):
    """N independent tasks; task i writes the folder `folder(i)`.

    A job is sent to worker processes (pickled), so it holds only settings and paths. Subclasses
    give `__len__`, `folder`, `write` and `describe`; `finish` runs in the driver when the run ends
    (normally, on failures or on Ctrl-C), e.g. to write an index of the finished folders.

    Example:
        >>> class Squares(FolderJob):
        ...     def __init__(self, root): self.root = Path(root)
        ...     def __len__(self): return 3
        ...     def folder(self, i): return self.root / str(i)
        ...     def describe(self, i): return f"square {i}"
        ...     def write(self, i, tmp):
        ...         tmp.mkdir(); (tmp / "value.txt").write_text(str(i * i))
        >>> import tempfile; job = Squares(tempfile.mkdtemp())
        >>> execute(job, 2), (job.folder(2) / "value.txt").read_text(), execute(job, 2)
        (True, '4', False)
    """

    resources: TaskResources = TaskResources()
    preload: tuple[str, ...] = ("scenes.jobs.local",)
    """Modules a local pool's fork server imports once, before it forks the workers (add the job's own)."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def folder(self, i: int) -> Path:
        """The final folder of task i."""

    @abstractmethod
    def write(self, i: int, tmp: Path) -> None:
        """Create the folder `tmp` (its parent exists) and write task i's files into it."""

    def describe(self, i: int) -> str:
        """Task i as an error message names it (its input: sample index and seed, scene file, …)."""
        return f"task {i}"

    def finish(self, failed: list[Failure]) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Called by the driver once the run has ended, with the tasks that failed (retries spent)."""


@dataclass(frozen=True)
class Failure:
    """A task that raised on every attempt: its index and the last error (which names its input)."""

    index: int
    error: str


def temp_folder(final: Path) -> Path:
    """Where the attempt running in this process writes `final` (unique per machine and process)."""
    return final.parent / f"{TMP_PREFIX}{final.name}-{socket.gethostname()}-{os.getpid()}"


def execute(job: FolderJob, i: int) -> bool:
    """Run task i where this is called: write its folder atomically, or skip it if it exists.

    Returns:
        True if the folder was written now, False if it was already there.

    Raises:
        TaskError: the task raised (the message names its input); nothing of it is left.
        JobError: the output cannot be written (disk full, permissions) or memory ran out: no
            other task would fare better, so the run stops.
    """
    final = job.folder(i)
    if final.is_dir():
        return False
    tmp = temp_folder(final)
    shutil.rmtree(tmp, ignore_errors=True)
    where = job.describe(i)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        job.write(i, tmp)
        _publish(tmp, final)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError | MemoryError):
            raise JobError(f"{where}: {type(e).__name__}: {e}") from e
        if isinstance(e, Exception):
            raise TaskError(f"{where}: {e}") from e
        raise
    return True


def _publish(tmp: Path, final: Path) -> None:
    try:
        os.replace(tmp, final)
    except OSError:
        # Another attempt of the same task finished first (a retry that overlapped a slow original on
        # another machine): its folder is as good as ours, the files depend on the task alone.
        if not final.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def sweep_temp(parents: Iterable[Path]) -> None:
    """Remove the temp folders under `parents`: left by a killed run, never finished, never resumed.

    Also removes `..tmp-*` folders: a task that writes through a staging helper of its own (e.g.
    `tools.rundir.staged_dir`) stages beside its temp folder under the temp folder's name with a dot.
    """
    for parent in parents:
        if not parent.is_dir():
            continue
        for stale in [*parent.glob(f"{TMP_PREFIX}*"), *parent.glob(f".{TMP_PREFIX}*")]:
            shutil.rmtree(stale, ignore_errors=True)
