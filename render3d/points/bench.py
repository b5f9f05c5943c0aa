"""One timing workload of the point renderer, for `neurender bench`."""

from __future__ import annotations

import math
import statistics
import time

import torch

from render3d.cameras import Cameras, intrinsics_from_fov, orbit
from render3d.points.renderer import PointsRasterizer, PointsRenderer
from render3d.points.settings import PointsRasterSettings
from render3d.structures import Pointclouds


def _sphere_cloud(num_points: int, device: torch.device) -> Pointclouds:
    """Points on the unit sphere (Fibonacci lattice), colored by position; radius = point spacing,
    so neighbouring disks overlap and the surface renders without holes."""
    i = torch.arange(num_points, dtype=torch.float64, device=device) + 0.5
    y = 1 - 2 * i / num_points
    rho = (1 - y * y).sqrt()
    phi = i * math.pi * (3 - math.sqrt(5))
    p = torch.stack([rho * phi.cos(), y, rho * phi.sin()], -1).float()
    return Pointclouds(p[None], features=(p * 0.5 + 0.5)[None], radius=math.sqrt(4 * math.pi / num_points))


def bench_points(num_points: int, size: int, batch: int = 1, backward: bool = False,
                 device: str = "cpu", repeats: int = 5) -> dict:
    """Median wall time of rendering a unit-sphere cloud of `num_points` at `size`² for `batch` views.

    Args:
        num_points: points in the cloud (one cloud seen by every view).
        size: image side in pixels.
        batch: number of cameras (on an orbit at distance 3, 60° field of view).
        backward: also time the backward pass of the mean rgb w.r.t. positions and colors.
        device: torch device.
        repeats: timed runs after one warm-up.

    Returns:
        dict with the workload, wall `median_s` and `min_s`, `cpu_median_s` (process CPU time, all
        threads: steadier than wall time on a shared machine), torch's thread count, the
        covered-pixel fraction and the fragment count.

    Example:
        >>> bench_points(10_000, 64)["median_s"] > 0
        True
    """
    dev = torch.device(device)
    cloud = _sphere_cloud(num_points, dev)
    R, t = orbit((0.0, 0.0, 0.0), 3.0, torch.linspace(0, 360, batch + 1)[:-1].tolist(), 20.0)
    K = intrinsics_from_fov(60, size, size)[None].expand(batch, -1, -1)
    cams = Cameras(K.to(dev), R.to(dev), t.to(dev), size, size)
    renderer = PointsRenderer(PointsRasterizer(PointsRasterSettings()), "alpha").to(dev)
    times, cpu, out = [], [], None
    for _ in range(repeats + 1):
        pts = cloud.points_packed().clone().requires_grad_(backward)
        feats = cloud.features_packed().clone().requires_grad_(backward)
        clouds = Pointclouds(pts[None], features=feats[None], radius=cloud.radius_packed()[None])
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        start, start_cpu = time.perf_counter(), time.process_time()
        out = renderer(clouds, cams)
        if backward:
            out.rgb.mean().backward()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    times, cpu = times[1:], cpu[1:]
    return {
        "workload": f"points {num_points} x {size}^2 x{batch}" + (" fwd+bwd" if backward else " fwd"),
        "num_points": num_points, "size": size, "batch": batch, "backward": backward, "device": str(dev),
        "median_s": statistics.median(times), "min_s": min(times), "cpu_median_s": statistics.median(cpu),
        "threads": torch.get_num_threads(),
        "covered": float(out.fragments.mask.float().mean()), "fragments": int((out.fragments.idx >= 0).sum()),
    }
