"""`neurender bench gan`: StyleGAN2 generator and discriminator throughput (images/second).

Workloads per resolution: G forward (eval, fused modulated conv, const noise), G training step (train
mode, non-fused modulated conv, random noise, backward of a loss on the images, Adam step), D forward,
D training step (backward of a logistic loss, Adam step). Networks use the StyleGAN2-ADA "auto"
configuration for <=256 px (channel_base 16384, channel_max 512, 2 mapping layers). Medians of timed
runs after one warm-up (`tools.bench.harness`). torch and gan2d load where the work runs,
so `neurender bench gan --help` and its usage errors cost no torch start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from tools.bench.harness import markdown_table, set_threads, time_call, write_report

if TYPE_CHECKING:
    import torch


def workloads(res: int, batch: int, device: torch.device, channel_base: int) -> dict[str, Callable[[], object]]:
    """Closures for the four timed workloads at one resolution."""
    import torch
    import torch.nn.functional as F

    from gan2d.nets.stylegan2 import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig

    g_cfg = GeneratorConfig(img_resolution=res, mapping_layers=2, channel_base=channel_base, channel_max=512)
    d_cfg = DiscriminatorConfig(img_resolution=res, channel_base=channel_base, channel_max=512)
    G, D = Generator(g_cfg).to(device), Discriminator(d_cfg).to(device)
    g_opt = torch.optim.Adam(G.parameters(), lr=0.0025, betas=(0.0, 0.99))
    d_opt = torch.optim.Adam(D.parameters(), lr=0.0025, betas=(0.0, 0.99))
    z = torch.randn(batch, g_cfg.z_dim, device=device)
    real = torch.randn(batch, 3, res, res, device=device).clamp(-1, 1)

    @torch.no_grad()
    def g_forward() -> object:
        G.eval()
        return G(z, noise_mode="const")

    def g_step() -> None:
        G.train()
        g_opt.zero_grad(set_to_none=True)
        G(z, noise_mode="random").square().mean().backward()
        g_opt.step()

    @torch.no_grad()
    def d_forward() -> object:
        return D(real)

    def d_step() -> None:
        d_opt.zero_grad(set_to_none=True)
        F.softplus(-D(real)).mean().backward()
        d_opt.step()

    return {"G forward": g_forward, "G train step": g_step, "D forward": d_forward, "D train step": d_step}


def run(resolutions: list[int], batch: int, device: torch.device, repeats: int, channel_base: int,
        console: Console) -> list[dict[str, object]]:
    """Time every workload; returns one record per (resolution, workload)."""
    import torch

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    records: list[dict[str, object]] = []
    for res in resolutions:
        for name, fn in workloads(res, batch, device, channel_base).items():
            t = time_call(fn, repeats=repeats, warmup=1, sync=sync)
            seconds = t.wall_s
            records.append({"resolution": res, "workload": name, "batch": batch, "seconds": seconds,
                            "cpu_seconds": t.cpu_s, "load1": t.load1, "images_per_second": batch / seconds,
                            "device": str(device)})
            console.log(f"{res}² {name}: {batch / seconds:.2f} img/s")
    return records


_COLUMNS = ["resolution", "workload", "batch", "ms / batch", "images / s"]


def rows(records: list[dict[str, object]]) -> list[list[str]]:
    """One table row per record (see `_COLUMNS`)."""
    return [[f"{r['resolution']}²", str(r["workload"]), str(r["batch"]), f"{1000 * float(r['seconds']):.1f}",
             f"{float(r['images_per_second']):.2f}"] for r in records]


def table(records: list[dict[str, object]]) -> Table:
    """Rich table of the records."""
    t = Table(title="StyleGAN2 throughput")
    for col in _COLUMNS:
        t.add_column(col, justify="right")
    for row in rows(records):
        t.add_row(*row)
    return t


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("gan")
    def bench_gan_cmd(
        resolutions: str = typer.Option("64,256", help="comma-separated resolutions"),
        batch: int = typer.Option(4, min=1, help="images per timed call"),
        repeats: int = typer.Option(3, min=1, help="timed runs per workload (after one warm-up)"),
        channel_base: int = typer.Option(16384, help="channel_base of both networks (channel_max 512)"),
        device: str = typer.Option("auto", help="cpu, cuda, or auto (cuda when available)"),
        threads: int = typer.Option(0, help="torch CPU threads (0: torch's default)"),
        json_out: Path = typer.Option(Path("bench_gan.json"), "--json", help="where to write the records"),
    ) -> None:
        """Time StyleGAN2 generator and discriminator forward passes and training steps."""
        import torch

        set_threads(threads)
        console = Console()
        dev = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device)
        res_list = [int(r) for r in resolutions.split(",") if r.strip()]
        records = run(res_list, batch, dev, repeats, channel_base, console)
        console.print(table(records))
        md = write_report(json_out, records, markdown_table(_COLUMNS, rows(records)))
        console.print(f"records written to {json_out}, table to {md}")
