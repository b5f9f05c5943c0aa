"""A runner on Ray: each chunk of tasks is one Ray task, scheduled by the resources the job declares.

Only this module imports Ray, and only `--ray` (or building a `RayRunner`) imports this module, so
a local run never loads Ray. With no address a local Ray instance starts (and stops with the run);
with one (`auto`, `HOST:6379`, `ray://HOST:10001`) the run joins that cluster. Every node must have
neurender installed and see the output folder at the same path (shared storage), because workers
write their folders there themselves: the driver receives only outcomes.

Ray's own retries are off: the driver retries a task that raised or whose worker or node died, so it
can count and name them. A task's worker holds one torch thread per declared CPU, as local workers do,
so the files are the same whichever ran them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import ray
import ray.exceptions

from scenes.errors import JobError
from scenes.jobs.driver import Outcome
from scenes.jobs.folders import FolderJob
from scenes.jobs.local import run_chunk

# The local instance's shared-memory object store: tasks return outcomes only, so little is needed,
# and Ray's default (30% of RAM) would be reserved in /dev/shm for nothing.
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20


def init_ray(address: str | None = None, workers: int | None = None) -> None:
    """Join the Ray cluster at `address`, or start a local instance with `workers` CPUs (None: all).

    Raises:
        JobError: the cluster cannot be reached or the instance cannot start (one line, why).
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report sent over the network
    # Its one-time notice that the (local, token-protected) instance is token-protected is not news on
    # a progress console; real warnings still come through.
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address is None:
        kwargs.update(num_cpus=workers or os.cpu_count(), object_store_memory=LOCAL_OBJECT_STORE_BYTES)
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as e:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise JobError(f"cannot start or reach {where}: {' '.join(str(e).split())[:300]}") from None


def _ray_chunk(job: FolderJob, chunk: list[int]) -> list[Outcome]:
    import torch

    torch.set_num_threads(job.resources.cpus)
    return run_chunk(job, chunk)


class RayRunner:
    """Runs chunks of a job as Ray tasks.

    Args:
        address: a Ray cluster to join (`auto`, `HOST:PORT`, `ray://HOST:PORT`); None starts a local
            instance with `workers` CPUs.
        workers: at most this many tasks at once (None: as many as the cluster has room for).

    Raises:
        JobError: (from `start`) the cluster cannot be reached, or no node can hold one task.

    Example:
        >>> report = run_job(job, RayRunner(workers=2))  # doctest: +SKIP
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise JobError(f"workers must be >= 1, got {workers}")
        self.address, self.workers = address, workers
        self._started = False
        self._refs: dict[Any, list[int]] = {}
        self._job: FolderJob | None = None

    def _connect(self) -> None:
        if ray.is_initialized():  # a caller's own Ray session (a test fixture, a notebook): use it, keep it
            return
        init_ray(self.address, self.workers)
        self._started = True

    def start(self, job: FolderJob) -> int:
        self._connect()
        self._job = job
        res = job.resources
        options: dict[str, Any] = {"num_cpus": res.cpus, "num_gpus": res.gpus, "max_retries": 0,
                                   "retry_exceptions": False}
        if res.memory:
            options["memory"] = res.memory
        self._remote = ray.remote(_ray_chunk).options(**options)
        self._job_ref = ray.put(job)
        cluster = ray.cluster_resources()
        slots = int(cluster.get("CPU", 0) // max(res.cpus, 1))
        if res.gpus:
            slots = min(slots, int(cluster.get("GPU", 0) // res.gpus))
        if slots < 1:
            have = f"{cluster.get('CPU', 0):g} CPU, {cluster.get('GPU', 0):g} GPU"
            raise JobError(f"the Ray cluster ({have}) has no room for one task ({res.cpus} CPU, {res.gpus:g} GPU)")
        return slots if self.workers is None else min(self.workers, slots)

    def submit(self, chunk: Sequence[int]) -> None:
        self._refs[self._remote.remote(self._job_ref, list(chunk))] = list(chunk)

    def wait(self) -> list[Outcome]:
        assert self._job is not None
        (ref,), _ = ray.wait(list(self._refs), num_returns=1)
        chunk = self._refs.pop(ref)
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as e:
            cause = e.cause
            if isinstance(cause, JobError):  # unwritable output, out of memory: no other task would fare better
                raise JobError(str(cause)) from None
            first = (str(cause).splitlines() or [""])[0]  # Ray appends the remote traceback
            return [Outcome(i, f"{self._job.describe(i)}: {type(cause).__name__}: {first}") for i in chunk]
        except ray.exceptions.RayError as e:  # the worker, its node or its result is gone: run it again
            reason = type(e).__name__
            return [Outcome(i, f"{self._job.describe(i)}: the Ray worker died ({reason})", crashed=True)
                    for i in chunk]

    def close(self) -> None:
        for ref in self._refs:
            ray.cancel(ref, force=True)
        self._refs.clear()
        if self._started:
            ray.shutdown()
            self._started = False
