"""`neurender bench render`: mesh and point rendering workloads on our backends and the raw peers, one process.

Every runner renders the same scene (an icosphere with vertex colors, or a uniform point sphere with
colors) from the same cameras and, for forward+backward, back-propagates the image mean to vertex/point
positions and colors. Our backends go through `render3d.backends`; peers (pytorch3d, pyrender, nvdiffrast)
are called directly, so the ratios show both our speed and our adapters' overhead.
"""

from __future__ import annotations

import json
import math
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import typer
from rich.console import Console
from rich.table import Table

from render3d.cameras import Cameras, intrinsics_from_fov, orbit
from render3d.io import atomic_write
from render3d.structures import Meshes, Pointclouds
from tools import bench_peers


@dataclass(frozen=True)
class Workload:
    """One timed cell: `count` faces or points rendered at `size`² for `batch` views.

    `soft` meshes use a 1.5 px blur radius and 16 faces per pixel (SoftRas aggregation); points list 8 per pixel.
    """

    kind: str  # "mesh" or "points"
    count: int
    size: int
    batch: int
    soft: bool
    backward: bool

    @property
    def name(self) -> str:
        what = f"{self.count // 1000}k faces" if self.kind == "mesh" else f"{_si(self.count)} points"
        mode = ("soft " if self.soft else "") + ("fwd+bwd" if self.backward else "fwd")
        return f"{self.kind} {what} {self.size}² b{self.batch} {mode}"


def _si(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def workloads(full: bool) -> list[Workload]:
    """The issue's grid (`full`) or a quick subset that still covers every target."""
    out: list[Workload] = []
    faces = (1_000, 10_000, 100_000)
    mesh_sizes = (128, 256, 512)
    batches = (1, 8) if full else (1,)
    for f in faces:
        for s in mesh_sizes:
            for b in batches:
                if not full and (f, s) not in {(1_000, 128), (10_000, 256), (100_000, 512)}:
                    continue
                out += [Workload("mesh", f, s, b, False, False), Workload("mesh", f, s, b, False, True)]
    out += [Workload("mesh", 10_000, 256, 1, True, False), Workload("mesh", 10_000, 256, 1, True, True)]
    for n in (10_000, 100_000, 1_000_000):
        for s in (256, 512):
            if full or (n, s) in {(10_000, 256), (100_000, 256), (100_000, 512), (1_000_000, 512)}:
                out.append(Workload("points", n, s, 1, False, False))
    return out


def scene(w: Workload, device: torch.device) -> tuple[Meshes | Pointclouds, Cameras]:
    """Deterministic geometry of about `w.count` primitives and `w.batch` cameras around it."""
    import trimesh

    gen = torch.Generator().manual_seed(0)
    azim = torch.linspace(0, 360, w.batch + 1)[:-1]
    R, t = orbit((0, 0, 0), 3.0, azim, 15.0)
    K = intrinsics_from_fov(45.0, w.size, w.size).expand(w.batch, 3, 3)
    cams = Cameras(K.contiguous(), R, t, w.size, w.size).to(device)
    if w.kind == "mesh":
        sub = max(0, round(math.log(w.count / 20, 4)))  # an icosphere has 20·4^s faces
        ico = trimesh.creation.icosphere(subdivisions=sub)
        v = torch.tensor(ico.vertices, dtype=torch.float32)
        f = torch.tensor(ico.faces)
        mesh = Meshes([v], [f], vert_colors=[torch.rand(len(v), 3, generator=gen)])
        return mesh.extend(w.batch).to(device), cams
    pts = torch.nn.functional.normalize(torch.randn(w.count, 3, generator=gen), dim=1)
    radius = 2.0 / math.sqrt(w.count)  # closes the gaps of a uniform sampling of the unit sphere
    cloud = Pointclouds([pts], features=[torch.rand(w.count, 3, generator=gen)], radius=radius)
    return cloud.extend(w.batch).to(device), cams


Runner = Callable[[Workload, Meshes | Pointclouds, Cameras], Callable[[], torch.Tensor] | str]


def time_call(fn: Callable[[], torch.Tensor], backward: bool, repeats: int, budget_s: float,
              sync: Callable[[], None]) -> tuple[float, int]:
    """Median wall time of `fn()` (+ backward of its mean); a first run longer than `budget_s` is not repeated."""
    times: list[float] = []
    for i in range(repeats + 1):  # the first run warms caches/allocators and is kept only if it is the only one
        sync()
        t0 = time.perf_counter()
        out = fn()
        if backward:
            out.float().mean().backward()
        sync()
        dt = time.perf_counter() - t0
        times.append(dt)
        if i == 0 and dt > budget_s:
            return dt, 1
    return statistics.median(times[1:]), repeats


def run(selected: list[Workload], runners: dict[str, Runner], device: torch.device, repeats: int,
        budget_s: float, console: Console) -> list[dict]:
    """Time every runner on every workload; returns one record per (workload, runner)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    records = []
    for w in selected:
        geom, cams = scene(w, device)
        for name, runner in runners.items():
            prepared = runner(w, geom, cams)
            rec = dict(workload=w.name, **asdict(w), runner=name)
            if isinstance(prepared, str):
                rec.update(seconds=None, skipped=prepared)
            else:
                try:
                    seconds, n = time_call(prepared, w.backward, repeats, budget_s, sync)
                    rec.update(seconds=seconds, repeats=n)
                except Exception as e:  # a peer failing (out of memory, driver error) is a result, not a crash
                    rec.update(seconds=None, skipped=f"{type(e).__name__}: {str(e).splitlines()[0][:80]}")
            if device.type == "cuda":
                rec["peak_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
                torch.cuda.reset_peak_memory_stats()
            records.append(rec)
            shown = f"{rec['seconds']:.3f} s" if rec.get("seconds") is not None else f"skipped ({rec['skipped']})"
            console.log(f"{w.name:38s} {name:18s} {shown}")
    return records


def cells(records: list[dict], runners: list[str], baselines: tuple[str, ...]) -> list[list[str]]:
    """Rows `[workload, cell per runner]`: median seconds, and for our runners the speed-up over each baseline.

    A speed-up `12.0×` in column `ours:torch` for baseline `raw:pytorch3d` means pytorch3d took 12 times as long.
    """
    present = [b for b in baselines if b in runners]
    by = {(r["workload"], r["runner"]): r.get("seconds") for r in records}
    rows = []
    for wname in dict.fromkeys(r["workload"] for r in records):
        row = [wname]
        for r in runners:
            s = by.get((wname, r))
            if s is None:
                row.append("—")
                continue
            ups = [f"{by[(wname, b)] / s:.1f}×" for b in present
                   if r.startswith("ours:") and by.get((wname, b)) is not None]
            row.append(f"{s:.3f}" + (f" ({' / '.join(ups)})" if ups else ""))
        rows.append(row)
    return rows


def table(rows: list[list[str]], runners: list[str], title: str) -> Table:
    """The rows as a rich table."""
    t = Table(title=title)
    for name in ["workload", *runners]:
        t.add_column(name, justify="left" if name == "workload" else "right")
    for row in rows:
        t.add_row(*row)
    return t


def markdown(rows: list[list[str]], runners: list[str]) -> str:
    """The rows as a Markdown table (for BENCHMARKS.md)."""
    lines = ["| workload | " + " | ".join(runners) + " |", "|---" * (len(runners) + 1) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def machine() -> dict:
    """What the numbers were measured on."""
    info = dict(platform=platform.platform(), python=platform.python_version(), torch=torch.__version__,
                cpu_threads=torch.get_num_threads(), processor=platform.processor() or platform.machine())
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("render")
    def bench_render_cmd(
        full: bool = typer.Option(False, "--full", help="the whole grid (batch 1 and 8, every size)"),
        only: str = typer.Option("", help="run workloads whose name contains this text"),
        peers: str = typer.Option("pytorch3d,pyrender,nvdiffrast", help="raw libraries to time beside ours"),
        device: str = typer.Option("cuda" if torch.cuda.is_available() else "cpu", help="cpu or cuda"),
        repeats: int = typer.Option(3, min=1, help="timed runs per cell (after one warm-up)"),
        budget: float = typer.Option(20.0, help="seconds: a first run slower than this is not repeated"),
        json_out: Path = typer.Option(Path("bench_render.json"), "--json", help="where to write all records"),
        threads: int = typer.Option(0, help="torch CPU threads (0: torch's default)"),
        skip: str = typer.Option("", help="comma-separated runners to leave out, e.g. ours:open3d"),
    ) -> None:
        """Time mesh and point rendering on every available backend and the installed peers."""
        if threads > 0:
            torch.set_num_threads(threads)
        console = Console(width=200)
        dev = torch.device(device)
        selected = [w for w in workloads(full) if only in w.name]
        runners = bench_peers.runners(dev, [p.strip() for p in peers.split(",") if p.strip()], console)
        for name in (n.strip() for n in skip.split(",") if n.strip()):
            runners.pop(name, None)
        records = run(selected, runners, dev, repeats, budget, console)
        baselines = ("raw:pytorch3d", "raw:pyrender")
        rows = cells(records, list(runners), baselines)
        console.print(table(rows, list(runners), "neurender bench render — median seconds (speed-up over "
                            + " / ".join(b for b in baselines if b in runners) + ")"))
        payload = dict(machine=machine(), records=records)
        atomic_write(json_out, lambda p: p.write_text(json.dumps(payload, indent=2)))
        md = json_out.with_suffix(".md")
        atomic_write(md, lambda p: p.write_text(markdown(rows, list(runners))))
        console.print(f"records written to {json_out}, table to {md}")
