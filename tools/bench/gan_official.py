"""Our StyleGAN2 vs the official StyleGAN2-ADA code, timed side by side in one process.

The official networks are imported from a source tree the user names (`--official-src`, e.g. a checkout
of NVlabs/stylegan2-ada-pytorch); nothing of it is part of this project. Both sides get the same weights
(the parameter layouts are identical), the same inputs and the same thread count, and their runs are
interleaved (ours, official, ours, …) so load changes hit both alike; process CPU time is recorded beside
wall time, since on a shared machine it is the steadier of the two. Workloads as in `bench gan`: G
forward (eval, const noise), G training step (train mode, random noise, backward of a loss on the images,
Adam step), D training step (logistic loss on reals, backward, Adam step). Configs: StyleGAN2-ADA "auto"
at 64² batch 4 (channel_base 16384, 2 mapping layers) and the embedded faces generator's at batch 8.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from gan2d.nets.stylegan2 import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig
from tools.errors import ToolError

CONFIGS = {"auto-64": dict(res=64, batch=4, channel_base=16384, channel_max=512, z_dim=512),
           "faces-64": dict(res=64, batch=8, channel_base=1024, channel_max=256, z_dim=128)}


def _official(src: Path) -> Any:
    if not (src / "training" / "networks.py").is_file():
        raise ToolError(f"--official-src {src}: no training/networks.py (expected a stylegan2-ada-pytorch tree)")
    sys.path.insert(0, str(src))
    try:
        import training.networks as networks
    except Exception as e:
        raise ToolError(f"cannot import the official networks from {src}: {type(e).__name__}: {e}") from e
    finally:
        sys.path.remove(str(src))
    return networks


def _pair(networks: Any, cfg: dict[str, Any]) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    r, cb, cm, z = cfg["res"], cfg["channel_base"], cfg["channel_max"], cfg["z_dim"]
    og = networks.Generator(z_dim=z, c_dim=0, w_dim=z, img_resolution=r, img_channels=3,
                            mapping_kwargs={"num_layers": 2},
                            synthesis_kwargs={"channel_base": cb, "channel_max": cm, "num_fp16_res": 0,
                                              "conv_clamp": None})
    od = networks.Discriminator(c_dim=0, img_resolution=r, img_channels=3, channel_base=cb, channel_max=cm,
                                num_fp16_res=0, conv_clamp=None, epilogue_kwargs={"mbstd_group_size": 4})
    g = Generator(GeneratorConfig(img_resolution=r, z_dim=z, w_dim=z, mapping_layers=2, channel_base=cb,
                                  channel_max=cm))
    d = Discriminator(DiscriminatorConfig(img_resolution=r, channel_base=cb, channel_max=cm))
    g.load_state_dict(og.state_dict())
    d.load_state_dict(od.state_dict())
    return (g, d), (og, od)


def _workloads(G: Any, D: Any, z: torch.Tensor, real: torch.Tensor, official: bool) -> dict[str, Callable[[], None]]:
    g_opt = torch.optim.Adam(G.parameters(), lr=1e-9, betas=(0.0, 0.99))
    d_opt = torch.optim.Adam(D.parameters(), lr=1e-9, betas=(0.0, 0.99))
    c = torch.zeros(len(z), 0)

    def g_forward() -> None:
        G.eval()
        with torch.no_grad():
            G(z, c, noise_mode="const")

    def g_step() -> None:
        G.train()
        g_opt.zero_grad(set_to_none=True)
        G(z, c, noise_mode="random").square().mean().backward()
        g_opt.step()

    def d_step() -> None:
        d_opt.zero_grad(set_to_none=True)
        F.softplus(-(D(real, c) if official else D(real))).mean().backward()
        d_opt.step()

    return {"G forward": g_forward, "G train step": g_step, "D train step": d_step}


def compare(src: Path, repeats: int = 7, configs: tuple[str, ...] = tuple(CONFIGS)) -> list[dict[str, Any]]:
    """Median seconds of each workload, ours and official, interleaved; one record per (config, workload)."""
    networks = _official(src)
    records = []
    for name in configs:
        cfg = CONFIGS[name]
        torch.manual_seed(0)
        (g, d), (og, od) = _pair(networks, cfg)
        z = torch.randn(cfg["batch"], cfg["z_dim"])
        real = torch.randn(cfg["batch"], 3, cfg["res"], cfg["res"]).clamp(-1, 1)
        ours, theirs = _workloads(g, d, z, real, False), _workloads(og, od, z, real, True)
        for work in ours:
            ours[work](), theirs[work]()  # warm-up
            t_ours, t_off, ratios, cpu_ratios = [], [], [], []
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                ours[work]()
                t1, c1 = time.perf_counter(), time.process_time()
                theirs[work]()
                t2, c2 = time.perf_counter(), time.process_time()
                t_ours.append(t1 - t0)
                t_off.append(t2 - t1)
                ratios.append((t1 - t0) / (t2 - t1))
                cpu_ratios.append((c1 - c0) / max(c2 - c1, 1e-9))
            records.append({"config": name, "workload": work, "batch": cfg["batch"],
                            "ours_s": statistics.median(t_ours),
                            "official_s": statistics.median(t_off), "ratio": statistics.median(ratios),
                            "cpu_ratio": statistics.median(cpu_ratios),
                            "load1": os.getloadavg()[0], "threads": torch.get_num_threads()})
    return records


def markdown(records: list[dict[str, Any]]) -> str:
    """Table of `compare` records (ratios = ours / official, medians over interleaved pairs; wall and CPU)."""
    from tools.bench.harness import markdown_table

    rows = [[r["config"], r["workload"], str(r["batch"]), f"{1000 * r['ours_s']:.1f}", f"{1000 * r['official_s']:.1f}",
             f"{r['ratio']:.3f}", f"{r['cpu_ratio']:.3f}", f"{r['load1']:.2f}"] for r in records]
    return markdown_table(["config", "workload", "batch", "ours ms", "official ms", "wall ours/official",
                           "CPU ours/official", "load1"], rows)
