"""`neurender bench distributed`: batch jobs on each runner, and training on 1 vs 2 processes (the command
line is `tools.bench.distributed_cli`).

Workloads (every runner gets the same tasks, each run a fresh output folder):

- `datagen`: N data-engine samples (`--kind`, `--views`, `--size`).
- `render`: M scene files (data-engine scenes saved as YAML) as one `neurender render LIST` job.
- `empty`: T tasks that write a one-byte folder: the cost of the runner itself per task.
- `train`: `neurender train stylegan2` under torchrun with 1 and 2 processes (same global batch), and 1
  process accumulating the 2-process micro-batches; images/s between the first and last stats lines.

Runners: this process (`local 1`), 2 local processes (`local 2`), a local Ray instance running 1 or 2
tasks at once (`ray 1`, `ray 2`; the instance starts once, its start-up is reported on its own). Each
runner first runs a small job and is kept for the timed one (a local pool too, as Ray keeps its
workers), so the figures are steady-state throughput; the small job's time ("first job": worker start,
imports, first-render set-up) is reported beside them. One run per cell (seconds of work each), on a
machine whose load is recorded beside every figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from scenes.jobs.driver import Runner, run_job
from scenes.jobs.folders import FolderJob
from scenes.jobs.local import InlineRunner, PoolRunner
from tools.bench.harness import markdown_table, write_report
from tools.errors import ToolError

RUNNERS = (("local", 1), ("local", 2), ("ray", 1), ("ray", 2))


class EmptyJob(FolderJob):
    """T tasks that each write a folder holding one byte: all that is left is the runner's own cost.

    It runs first, and one fork server serves every local pool of a process (started by the first), so
    it preloads what every bench job imports; a CLI run is one job, whose fork server preloads its own.
    """

    preload = ("scenes.datagen", "tools.batch.render", "tools.bench.distributed")

    def __init__(self, root: Path, n: int) -> None:
        self.root, self.n = Path(root), n

    def __len__(self) -> int:
        return self.n

    def folder(self, i: int) -> Path:
        return self.root / f"{i:06d}"

    def write(self, i: int, tmp: Path) -> None:
        tmp.mkdir()
        (tmp / "x").write_bytes(b"x")


class _WarmPool(PoolRunner):
    """A local pool kept across the jobs of one bench cell (warm-up, then the timed job), as Ray keeps its
    workers: both are then timed warm. A CLI run starts its pool once per job; the warm-up job's time
    (`first_job_s`) shows that start."""

    def close(self) -> None:
        if any(not f.done() for f in self._futures):
            super().close()
        self._futures.clear()

    def shutdown(self) -> None:
        super().close()


def _runner(kind: str, workers: int) -> Runner:
    if kind == "local":
        return InlineRunner() if workers == 1 else _WarmPool(workers)
    from scenes.jobs.ray_runner import RayRunner

    return RayRunner(workers=workers)  # joins the instance the command started


def _datagen_job(kind: str, views: int, size: int) -> Callable[[Path, int], FolderJob]:
    from scenes.datagen import DatagenConfig, DatagenJob

    return lambda out, n: DatagenJob(DatagenConfig(kind, count=n, views=views, size=size, workers=1), out)


def _render_job(root: Path, views: int, size: int) -> Callable[[Path, int], FolderJob]:
    from scenes.datagen import sample_seed
    from scenes.fileio import save_scene
    from scenes.samples import make_sample
    from tools.batch.render import SceneBatchJob

    def make(out: Path, n: int) -> FolderJob:
        scenes = root / f"scenes-{n}"
        if not scenes.is_dir():
            scenes.mkdir(parents=True)
            for i in range(n):
                save_scene(make_sample("scenes", sample_seed(7, i), views, size).spec, scenes / f"s{i:04d}.yaml")
        return SceneBatchJob(sorted(scenes.glob("*.yaml")), out)

    return make


def time_jobs(workload: str, make: Callable[[Path, int], FolderJob], n: int, warmup: int, root: Path,
              console: Console, runners: tuple[tuple[str, int], ...] = RUNNERS) -> list[dict]:
    """Run `make(folder, n)` on every runner, warm (after a job of `warmup` tasks on it); one record each."""
    records = []
    for kind, workers in runners:
        runner = _runner(kind, workers)
        start = time.perf_counter()
        run_job(make(root / f"{workload}-{kind}{workers}-warmup", warmup), runner, progress=False)
        first = time.perf_counter() - start
        start = time.perf_counter()
        report = run_job(make(root / f"{workload}-{kind}{workers}", n), runner, progress=False)
        seconds = time.perf_counter() - start
        if isinstance(runner, _WarmPool):
            runner.shutdown()
        if report.failed or report.written != n:
            raise ToolError(f"{workload} on {kind} {workers}: {report.failed[:1]}")
        records.append({"workload": workload, "runner": f"{kind} {workers}", "tasks": n, "seconds": seconds,
                        "per_task_ms": 1000 * seconds / n, "tasks_per_s": n / seconds, "first_job_s": first,
                        "first_job_tasks": warmup, "load1": os.getloadavg()[0]})
        console.log(f"{workload} {kind} {workers}: {n / seconds:.2f} tasks/s ({1000 * seconds / n:.1f} ms/task, "
                    f"load {os.getloadavg()[0]:.1f})")
    return records


def _train_images_per_s(run: Path) -> float:
    lines = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    if len(lines) < 2:  # the first line's time includes start-up; the rate needs two
        raise ToolError(f"{run}: too short to time (one stats line every 10 steps); raise --train-kimg")
    first, last = lines[0], lines[-1]
    return (last["kimg"] - first["kimg"]) * 1000 / (last["sec"] - first["sec"])


def time_training(root: Path, kimg: float, batch: int, console: Console) -> list[dict]:
    """`neurender train stylegan2` (16², small widths) under torchrun: 1 process, 2 processes, 1 × micro-batches."""
    from gan2d.data.toy import write_disc_folder

    data = write_disc_folder(root / "discs", 64, 16)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    records = []
    for procs, micro in ((1, None), (2, None), (1, batch // 2)):
        out = root / f"train-{procs}-{micro}"
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1",
               f"--nproc-per-node={procs}", "-m", "tools.cli", "train", "stylegan2", "--data", str(data), "--out",
               str(out), "--resolution", "16", "--batch", str(batch), "--kimg", str(kimg), "--workers", "0",
               "--no-progress", "--channel-base", "2048", "--channel-max", "64", "--z-dim", "64", "--w-dim", "64",
               "--snap-kimg", str(kimg), "--sample-kimg", str(kimg)] + (["--micro-batch", str(micro)] if micro else [])
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode:
            raise ToolError(f"training with {procs} processes failed: {proc.stderr[-800:]}")
        ips = _train_images_per_s(out)
        name = f"{procs} process{'es' if procs > 1 else ''}" + (f", micro-batch {micro}" if micro else "")
        records.append({"workload": "train", "runner": name, "tasks": batch, "seconds": batch / ips,
                        "per_task_ms": 1000 / ips, "tasks_per_s": ips, "load1": os.getloadavg()[0]})
        console.log(f"train {name}: {ips:.1f} images/s (load {os.getloadavg()[0]:.1f})")
    return records


_COLUMNS = ["workload", "runner", "tasks", "s", "ms / task", "tasks / s", "first job (s, tasks)", "load (1 min)"]


def rows(records: list[dict]) -> list[list[str]]:
    """Markdown rows of the records."""
    return [[r["workload"], r["runner"], str(r["tasks"]), f"{r['seconds']:.2f}", f"{r['per_task_ms']:.1f}",
             f"{r['tasks_per_s']:.2f}",
             f"{r['first_job_s']:.2f}, {r['first_job_tasks']}" if "first_job_s" in r else "", f"{r['load1']:.1f}"]
            for r in records]


def bench_distributed(count: int, scenes: int, empty: int, kind: str, views: int, size: int, train_kimg: float,
                      train_batch: int, json_out: Path, console: Console) -> Path:
    """Run every workload on every runner (a local Ray instance of 2 CPUs is started here, and shut down
    before training), print the table and write the records to `json_out`; returns the Markdown path."""
    from scenes.jobs.ray_runner import init_ray

    start = time.perf_counter()
    init_ray(None, workers=2)
    ray_start = time.perf_counter() - start
    console.log(f"local Ray instance (2 CPUs) started in {ray_start:.1f} s")
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
        root = Path(tmp)
        records = time_jobs("empty", lambda out, n: EmptyJob(out, n), empty, 4, root, console)
        records += time_jobs("datagen", _datagen_job(kind, views, size), count, 2, root, console)
        records += time_jobs("render", _render_job(root, views, size), scenes, 2, root, console)
        import ray

        ray.shutdown()
        if train_kimg > 0:
            records += time_training(root, train_kimg, train_batch, console)
    table = markdown_table(_COLUMNS, rows(records))
    console.print(table)
    md = write_report(json_out, records, table, ray_start_s=ray_start,
                      settings={"kind": kind, "views": views, "size": size, "count": count, "scenes": scenes})
    console.print(f"local Ray start-up: {ray_start:.1f} s; records written to {json_out}, table to {md}")
    return md
