"""Runners on this machine: in this process, or on a pool of worker processes.

Both run a task through `scenes.jobs.folders.execute` with the job's torch thread count, so the files
are the same whichever runs them. The pool's workers ignore SIGINT (Ctrl-C reaches every process of
the terminal's group; only the driver handles it, so a worker never dies half-way through a write
it would leave behind), and a worker that dies (killed, out of memory) is reported as a crashed
attempt of the tasks it held; the pool is then started afresh for the retries.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool

from scenes.errors import TaskError
from scenes.jobs.driver import Outcome
from scenes.jobs.folders import FolderJob, execute


def run_chunk(job: FolderJob, chunk: Sequence[int]) -> list[Outcome]:
    """Execute the tasks of `chunk` in order here; a task that raises `TaskError` is an outcome, not
    an exception (anything else, e.g. `JobError`, stops the run)."""
    outcomes = []
    for i in chunk:
        try:
            execute(job, i)
            outcomes.append(Outcome(i))
        except TaskError as e:
            outcomes.append(Outcome(i, str(e)))
    return outcomes


class InlineRunner:
    """Runs every task in this process, one after the other (with the job's torch thread count)."""

    name = "inline"

    def __init__(self) -> None:
        self._queue: deque[Sequence[int]] = deque()
        self._job: FolderJob | None = None
        self._threads: int | None = None

    def start(self, job: FolderJob) -> int:
        self._job = job
        torch = sys.modules.get("torch")  # a job that never loaded torch has no threads to set
        if torch is not None:
            self._threads = torch.get_num_threads()
            torch.set_num_threads(job.resources.cpus)
        return 1

    def submit(self, chunk: Sequence[int]) -> None:
        self._queue.append(chunk)

    def wait(self) -> list[Outcome]:
        assert self._job is not None
        return run_chunk(self._job, self._queue.popleft())

    def close(self) -> None:
        if self._threads is not None:
            sys.modules["torch"].set_num_threads(self._threads)
            self._threads = None
        self._queue.clear()


def _init_worker(threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch = sys.modules.get("torch")  # preloaded by the fork server, or read at its first import
    if torch is not None:
        torch.set_num_threads(threads)
    else:
        os.environ["OMP_NUM_THREADS"] = str(threads)


class PoolRunner:
    """Runs tasks on `workers` local processes (each with the job's torch thread count).

    Workers come from a fork server that has imported the job's `preload` modules but never run a
    torch op: they start in milliseconds and do not inherit a started OpenMP pool (a plain fork after
    torch ran can deadlock).
    """

    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._job: FolderJob | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[Future, tuple[Sequence[int], ProcessPoolExecutor]] = {}

    def _context(self) -> mp.context.BaseContext:
        if "forkserver" in mp.get_all_start_methods():
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(list(self._job.preload) if self._job else [])
            return ctx
        return mp.get_context("spawn")

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            assert self._job is not None
            self._pool = ProcessPoolExecutor(self.workers, mp_context=self._context(), initializer=_init_worker,
                                             initargs=(self._job.resources.cpus,))
        return self._pool

    def start(self, job: FolderJob) -> int:
        self._job = job
        # Two chunks per worker: the next one is queued when a worker finishes, so none idles.
        return 2 * self.workers

    def submit(self, chunk: Sequence[int]) -> None:
        try:
            pool = self._ensure_pool()
            future = pool.submit(run_chunk, self._job, list(chunk))
        except BrokenProcessPool:  # a worker died since the last wait: start afresh
            self._discard(pool)
            pool = self._ensure_pool()
            future = pool.submit(run_chunk, self._job, list(chunk))
        self._futures[future] = (chunk, pool)

    def wait(self) -> list[Outcome]:
        assert self._job is not None
        done, _ = wait_futures(list(self._futures), return_when=FIRST_COMPLETED)
        future = next(iter(done))
        chunk, pool = self._futures.pop(future)
        try:
            return future.result()
        except BrokenProcessPool:
            # Every chunk the pool held fails with it (which one killed it is unknown); the driver
            # retries each on a new pool.
            self._discard(pool)
            return [Outcome(i, f"{self._job.describe(i)}: a worker process died (killed or out of memory)",
                            crashed=True) for i in chunk]

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        if pool is self._pool:
            self._terminate(pool)
            self._pool = None

    @staticmethod
    def _terminate(pool: ProcessPoolExecutor) -> None:
        # Workers ignore SIGINT and a running task cannot be cancelled: stop them outright (their temp
        # folders are swept by the driver). Python 3.14 has terminate_workers(); 3.11 keeps them here.
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join()

    def close(self) -> None:
        if self._pool is not None:
            if any(not f.done() for f in self._futures):
                self._terminate(self._pool)
            else:
                self._pool.shutdown(wait=True)
        self._pool = None
        self._futures.clear()


def local_runner(workers: int) -> InlineRunner | PoolRunner:
    """This process for one worker, else a pool of `workers` processes (the same files either way)."""
    return InlineRunner() if workers == 1 else PoolRunner(workers)
