"""`neurender bench gan`: StyleGAN2 generator and discriminator throughput (images/second).

Workloads per resolution: G forward (eval, fused modulated conv, const noise), G training step (train
mode, non-fused modulated conv, random noise, backward of a loss on the images, Adam step), D forward,
D training step (backward of a logistic loss, Adam step). Networks use the StyleGAN2-ADA "auto"
configuration for <=256 px (channel_base 16384, channel_max 512, 2 mapping layers). Medians of timed
runs after one warm-up.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
import typer
from rich.console import Console
from rich.table import Table

from gan2d.nets.stylegan2 import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_it(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median wall time in seconds of `fn` over `repeats` runs after one warm-up run."""
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def workloads(res: int, batch: int, device: torch.device, channel_base: int) -> dict[str, Callable[[], object]]:
    """Closures for the four timed workloads at one resolution."""
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
    records: list[dict[str, object]] = []
    for res in resolutions:
        for name, fn in workloads(res, batch, device, channel_base).items():
            seconds = time_it(fn, device, repeats)
            records.append({"resolution": res, "workload": name, "batch": batch, "seconds": seconds,
                            "images_per_second": batch / seconds, "device": str(device)})
            console.log(f"{res}² {name}: {batch / seconds:.2f} img/s")
    return records


def table(records: list[dict[str, object]]) -> Table:
    """Rich table of the records."""
    t = Table(title="StyleGAN2 throughput")
    for col in ("resolution", "workload", "batch", "ms / batch", "images / s"):
        t.add_column(col, justify="right")
    for r in records:
        t.add_row(f"{r['resolution']}²", str(r["workload"]), str(r["batch"]), f"{1000 * float(r['seconds']):.1f}",
                  f"{float(r['images_per_second']):.2f}")
    return t


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("gan")
    def bench_gan_cmd(
        resolutions: str = typer.Option("64,256", help="comma-separated resolutions"),
        batch: int = typer.Option(4, min=1, help="images per timed call"),
        repeats: int = typer.Option(3, min=1, help="timed runs per workload (after one warm-up)"),
        channel_base: int = typer.Option(16384, help="channel_base of both networks (channel_max 512)"),
        device: str = typer.Option("cuda" if torch.cuda.is_available() else "cpu", help="cpu or cuda"),
        json_out: Path = typer.Option(Path("bench_gan.json"), "--json", help="where to write the records"),
    ) -> None:
        """Time StyleGAN2 generator and discriminator forward passes and training steps."""
        console = Console()
        res_list = [int(r) for r in resolutions.split(",") if r.strip()]
        records = run(res_list, batch, torch.device(device), repeats, channel_base, console)
        console.print(table(records))
        machine = {"platform": platform.platform(), "processor": platform.processor(),
                   "torch": torch.__version__, "threads": torch.get_num_threads(), "loadavg": os.getloadavg(),
                   "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
        json_out.write_text(json.dumps({"machine": machine, "records": records}, indent=2))
        console.print(f"records written to {json_out}")
