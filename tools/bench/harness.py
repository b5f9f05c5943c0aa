"""The one timing harness of `neurender bench`: medians after warm-up, wall and process CPU time, the machine.

Every bench job times its workloads with `time_call` (or `Stopwatch` for a single long run), describes the
machine with `machine()` and writes its records with `write_report` (JSON + a Markdown table beside it).
Process CPU time counts every thread of this process, so `cpu_s / wall_s` shows how many cores a workload
really used and a rising `cpu_s` at equal work shows threads spinning rather than working. torch and
render3d load only in the functions that use them, so a bench command's `--help` can import this module.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

# Environment variables that decide how torch's CPU thread pools behave; recorded beside every result.
THREAD_ENV = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OMP_PROC_BIND", "GOMP_SPINCOUNT", "KMP_BLOCKTIME",
              "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Timing:
    """Medians of the timed runs of one workload.

    Attributes:
        wall_s: median wall-clock seconds.
        cpu_s: median process CPU seconds (all threads).
        runs: timed runs the medians are taken over (1 when the warm-up alone exceeded the budget).
        walls: every timed run's wall seconds.
        load1: the 1-minute load average when the runs ended.
    """

    wall_s: float
    cpu_s: float
    runs: int
    walls: tuple[float, ...]
    load1: float

    def as_dict(self) -> dict:
        return asdict(self)


class Stopwatch:
    """Wall and process CPU seconds of a `with` block.

    Example:
        >>> with Stopwatch() as sw:
        ...     _ = sum(range(1000))
        >>> sw.wall_s >= 0 and sw.cpu_s >= 0
        True
    """

    wall_s: float = math.nan
    cpu_s: float = math.nan

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.cpu_s = time.process_time() - self._cpu


def _no_sync() -> None:
    return None


def time_call(fn: Callable[[], object], repeats: int = 3, warmup: int = 1, budget_s: float = math.inf,
              sync: Callable[[], None] = _no_sync) -> Timing:
    """Run `fn` `warmup` times untimed, then `repeats` times timed; return the medians.

    The first warm-up run is timed too: when it alone takes longer than `budget_s`, it is the only run and
    its time is reported (slow peers are not repeated). `sync` waits for queued device work (CUDA).

    Example:
        >>> time_call(lambda: sum(range(100)), repeats=3).runs
        3
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats}, {warmup}")
    for i in range(warmup):
        sync()
        with Stopwatch() as sw:
            fn()
            sync()
        if i == 0 and sw.wall_s > budget_s:
            return Timing(sw.wall_s, sw.cpu_s, 1, (sw.wall_s,), os.getloadavg()[0])
    walls, cpus = [], []
    for _ in range(repeats):
        sync()
        with Stopwatch() as sw:
            fn()
            sync()
        walls.append(sw.wall_s)
        cpus.append(sw.cpu_s)
    return Timing(statistics.median(walls), statistics.median(cpus), repeats, tuple(walls), os.getloadavg()[0])


def set_threads(threads: int) -> None:
    """Use `threads` torch CPU threads (0 keeps torch's default)."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """What the numbers were measured on: CPU, cores, torch threads, load, threading environment, GPU."""
    import torch

    info = dict(platform=platform.platform(), python=platform.python_version(), torch=torch.__version__,
                cpu=_cpu_model(), cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
                loadavg=list(os.getloadavg()), thread_env={k: os.environ[k] for k in THREAD_ENV if k in os.environ})
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def machine_line(info: dict) -> str:
    """One Markdown line naming the machine and its load, for the top of a results table."""
    load = ", ".join(f"{x:.2f}" for x in info["loadavg"])
    env = " ".join(f"{k}={v}" for k, v in info["thread_env"].items()) or "no threading env"
    return (f"Machine: {info['cpu']}, {info['cpu_count']} logical CPUs, torch {info['torch']} with "
            f"{info['torch_threads']} threads, load average {load}, {env}" + (f", GPU {info['gpu']}" if "gpu" in info
                                                                               else "") + ".")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table.

    Example:
        >>> print(markdown_table(["a", "b"], [["1", "2"]]), end="")
        | a | b |
        |---|---|
        | 1 | 2 |
    """
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


def write_report(json_path: Path, records: list[dict], markdown: str, **extra: object) -> Path:
    """Write `{"machine", "records", **extra}` to `json_path` and the machine line + `markdown` beside it (.md).

    Both writes are atomic. Returns the Markdown path.
    """
    from render3d.io import atomic_write

    info = machine()
    payload = dict(machine=info, records=records, **extra)
    atomic_write(json_path, lambda p: p.write_text(json.dumps(payload, indent=2)))
    md = json_path.with_suffix(".md")
    atomic_write(md, lambda p: p.write_text(machine_line(info) + "\n\n" + markdown))
    return md
