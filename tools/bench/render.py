"""`neurender bench render`: mesh and point rendering workloads on our backends and the raw peers, one process.

Every runner renders the same scene (an icosphere with vertex colors, or a uniform point sphere with
colors) from the same cameras and, for forward+backward, back-propagates the image mean to vertex/point
positions and colors (see `tools.bench.render_runners`). The quick grid covers the performance targets;
`--full` adds batch 8, every size, soft rasterization and point backward passes at every size.
`--contended` times every cell idle and again beside each busy competing process
(`tools.bench.contention`) and reports the slowdown ratios. torch and render3d load where the work runs, so
`neurender bench render --help` and its usage errors cost no torch start-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from tools.bench.contention import COMPETITORS, Competitor
from tools.bench.harness import Timing, markdown_table, set_threads, time_call, write_report
from tools.errors import ToolError

if TYPE_CHECKING:
    import torch

    from render3d.cameras import Cameras
    from render3d.structures import Meshes, Pointclouds

    Runner = Callable[["Workload", Meshes | Pointclouds, Cameras], Callable[[], object] | str]


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


_QUICK_MESH = {(1_000, 128), (10_000, 256), (100_000, 512)}
_QUICK_POINTS = {(10_000, 256), (100_000, 256), (100_000, 512), (1_000_000, 512)}


def workloads(full: bool) -> list[Workload]:
    """The whole grid (`full`) or a quick subset that still covers every target.

    The full grid: meshes of 1k/10k/100k faces × 128²/256²/512² × batch 1/8, hard and soft, forward and
    forward+backward; points 10k/100k/1M × 256²/512² × batch 1/8, forward and forward+backward.
    """
    out: list[Workload] = []
    batches = (1, 8) if full else (1,)
    for f in (1_000, 10_000, 100_000):
        for s in (128, 256, 512):
            for b in batches:
                if full or (f, s) in _QUICK_MESH:
                    out += [Workload("mesh", f, s, b, False, False), Workload("mesh", f, s, b, False, True)]
                if full:
                    out += [Workload("mesh", f, s, b, True, False), Workload("mesh", f, s, b, True, True)]
    if not full:
        out += [Workload("mesh", 10_000, 256, 1, True, False), Workload("mesh", 10_000, 256, 1, True, True)]
    for n in (10_000, 100_000, 1_000_000):
        for s in (256, 512):
            for b in batches:
                if full or (n, s) in _QUICK_POINTS:
                    out.append(Workload("points", n, s, b, False, False))
                if full:
                    out.append(Workload("points", n, s, b, False, True))
    return out


def scene(w: Workload, device: torch.device) -> tuple[Meshes | Pointclouds, Cameras]:
    """Deterministic geometry of about `w.count` primitives and `w.batch` cameras around it."""
    import torch
    import trimesh

    from render3d.cameras import Cameras, intrinsics_from_fov, orbit
    from render3d.structures import Meshes, Pointclouds

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



def _timed(step: Callable[[], object], repeats: int, budget_s: float, sync: Callable[[], None]) -> dict:
    try:
        t: Timing = time_call(step, repeats=repeats, warmup=1, budget_s=budget_s, sync=sync)
    except Exception as e:  # a peer failing (out of memory, driver error) is a result, not a crash
        return dict(seconds=None, skipped=f"{type(e).__name__}: {str(e).splitlines()[0][:80]}")
    return dict(seconds=t.wall_s, cpu_seconds=t.cpu_s, repeats=t.runs, walls=list(t.walls), load1=t.load1)


def run(selected: list[Workload], runners: dict[str, Runner], device: torch.device, repeats: int,
        budget_s: float, console: Console, competitors: tuple[str, ...] = ()) -> list[dict]:
    """Time every runner on every workload; returns one record per (workload, runner).

    With `competitors`, each cell is timed idle and then beside each competitor in turn (interleaved, so
    idle and contended runs see the same machine); `record["contended"][kind]` holds those timings and
    `ratio`, contended over idle wall time.
    """
    import torch

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    records = []
    with ExitStack() as stack:
        rivals = [stack.enter_context(Competitor(kind)) for kind in competitors]
        for w in selected:
            geom, cams = scene(w, device)
            for name, runner in runners.items():
                prepared = runner(w, geom, cams)
                rec = dict(workload=w.name, **asdict(w), runner=name)
                if isinstance(prepared, str):
                    rec.update(seconds=None, skipped=prepared)
                else:
                    rec.update(_timed(prepared, repeats, budget_s, sync))
                    # a cell over the budget ran once, cold: no contended comparison for it
                    if rivals and rec["seconds"] is not None and rec["repeats"] == repeats:
                        rec["contended"] = {}
                        for rival in rivals:
                            with rival.busy():
                                busy = _timed(prepared, repeats, budget_s, sync)
                            if busy["seconds"] is not None:
                                busy["ratio"] = busy["seconds"] / rec["seconds"]
                            rec["contended"][rival.kind] = busy
                if device.type == "cuda":
                    rec["peak_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
                    torch.cuda.reset_peak_memory_stats()
                records.append(rec)
                console.log(f"{w.name:38s} {name:18s} {_shown(rec)}")
    return records


def _shown(rec: dict) -> str:
    if rec.get("seconds") is None:
        return f"skipped ({rec['skipped']})"
    busy = "".join(f"  beside {k}: {_ratio(v)}" for k, v in rec.get("contended", {}).items())
    return f"{rec['seconds']:.3f} s{busy}"


def _ratio(busy: dict) -> str:
    return f"{busy['seconds']:.3f} s ({busy['ratio']:.2f}×)" if busy.get("seconds") is not None else "failed"


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


def contended_cells(records: list[dict], competitors: tuple[str, ...]) -> list[list[str]]:
    """Rows `[workload, runner, idle s, per competitor "s (ratio×)"]` of the cells that were timed."""
    rows = []
    for r in records:
        if r.get("seconds") is None:
            continue
        busy = r.get("contended", {})
        rows.append([r["workload"], r["runner"], f"{r['seconds']:.3f}",
                     *(_ratio(busy[k]) if k in busy else "—" for k in competitors)])
    return rows


def table(rows: list[list[str]], header: list[str], title: str) -> Table:
    """The rows as a rich table."""
    t = Table(title=title)
    for i, name in enumerate(header):
        t.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        t.add_row(*row)
    return t


def markdown(rows: list[list[str]], runners: list[str]) -> str:
    """The speed-up rows as a Markdown table (for BENCHMARKS.md)."""
    return markdown_table(["workload", *runners], rows)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("render")
    def bench_render_cmd(
        full: bool = typer.Option(False, "--full", help="the whole grid (batch 1 and 8, every size, soft, backward)"),
        only: str = typer.Option("", help="run workloads whose name contains this text"),
        peers: str = typer.Option("pytorch3d,pyrender,nvdiffrast", help="raw libraries to time beside ours"),
        device: str = typer.Option("auto", help="cpu, cuda, or auto (cuda when available)"),
        repeats: int = typer.Option(3, min=1, help="timed runs per cell (after one warm-up)"),
        budget: float = typer.Option(20.0, help="seconds: a first run slower than this is not repeated"),
        json_out: Path = typer.Option(Path("bench_render.json"), "--json", help="where to write all records"),
        threads: int = typer.Option(0, help="torch CPU threads (0: torch's default)"),
        skip: str = typer.Option("", help="comma-separated runners to leave out, e.g. ours:open3d"),
        contended: bool = typer.Option(False, "--contended",
                                       help="also time every cell beside each busy competing process"),
        competitors: str = typer.Option(",".join(COMPETITORS), help="competitors for --contended: "
                                        + ", ".join(COMPETITORS)),
    ) -> None:
        """Time mesh and point rendering on every available backend and the installed peers."""
        import torch

        from tools.bench import render_runners

        set_threads(threads)
        console = Console(width=200)
        dev = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device)
        rivals = tuple(_names(competitors)) if contended else ()
        unknown = [k for k in rivals if k not in COMPETITORS]
        if unknown:
            raise ToolError(f"unknown competitor(s) {', '.join(unknown)}; known: {', '.join(COMPETITORS)}")
        selected = [w for w in workloads(full) if only in w.name]
        runners = render_runners.runners(dev, _names(peers), console)
        for name in _names(skip):
            runners.pop(name, None)
        records = run(selected, runners, dev, repeats, budget, console, rivals)
        baselines = ("raw:pytorch3d", "raw:pyrender")
        rows = cells(records, list(runners), baselines)
        console.print(table(rows, ["workload", *runners], "neurender bench render — median seconds (speed-up over "
                            + " / ".join(b for b in baselines if b in runners) + ")"))
        md = markdown(rows, list(runners))
        if rivals:
            busy_rows = contended_cells(records, rivals)
            header = ["workload", "runner", "idle s", *(f"beside {k}" for k in rivals)]
            console.print(table(busy_rows, header, "contended: median seconds (contended / idle)"))
            md += "\n" + markdown_table(header, busy_rows)
        md_path = write_report(json_out, records, md, competitors=list(rivals))
        console.print(f"records written to {json_out}, tables to {md_path}")
