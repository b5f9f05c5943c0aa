"""A timing workload for the reference rasterizer (used by `neurender bench`; no assertions here)."""

from __future__ import annotations

import math
import statistics
import time

import torch

from render3d.cameras import Cameras, intrinsics_from_fov, look_at
from render3d.raster.rasterize import rasterize_meshes
from render3d.raster.settings import RasterSettings
from render3d.structures import Meshes


def uv_sphere(num_faces: int, device: torch.device | str = "cpu") -> Meshes:
    """A unit latitude/longitude sphere with about `num_faces` faces (counter-clockwise from outside)."""
    n = max(2, round(math.sqrt(num_faces / 4)))
    m = 2 * n
    theta = torch.linspace(0, math.pi, n + 1, device=device)
    phi = torch.arange(m, device=device) * (2 * math.pi / m)
    th, ph = torch.meshgrid(theta, phi, indexing="ij")
    verts = torch.stack([th.sin() * ph.cos(), th.cos(), -th.sin() * ph.sin()], -1).reshape(-1, 3)
    i, j = torch.meshgrid(torch.arange(n, device=device), torch.arange(m, device=device), indexing="ij")
    a, b = i * m + j, i * m + (j + 1) % m
    c, d = a + m, b + m
    faces = torch.cat([torch.stack([a, c, b], -1), torch.stack([b, c, d], -1)]).reshape(-1, 3)
    return Meshes([verts], [faces])


def bench_rasterize(num_faces: int, size: int, batch: int, soft: bool, backward: bool,
                    device: str | torch.device = "cpu", repeats: int = 5) -> dict:
    """Median wall time of rasterizing a sphere of `num_faces` faces filling ~40% of `size²` images.

    Soft mode lists faces within 2.5 px (about 20 faces per covered pixel at 10k faces and 256²)
    with K = 25; hard mode is K = 1 without blur. The backward pass (when asked) reaches the vertices
    through barycentrics, depth and distances.

    Args:
        num_faces: approximate face count of the sphere.
        size: image side in pixels.
        batch: number of views (one mesh broadcast to all cameras).
        soft: soft listing (blur, K = 25) instead of hard (K = 1).
        backward: include the backward pass.
        device: where to run.
        repeats: timed runs after one warm-up.

    Returns:
        dict with `median_s` (wall clock), `times_s`, `cpu_median_s` (process CPU time, all threads;
        steadier than wall clock on a shared machine), `faces`, `listed_per_pixel` (mean filled
        slots over covered pixels) and the workload parameters.

    Example:
        >>> bench_rasterize(256, 32, 1, soft=False, backward=True, repeats=1)["faces"]
        256
    """
    mesh = uv_sphere(num_faces, device)
    faces = int(mesh.faces_packed().shape[0])
    angles = torch.linspace(0, 2 * math.pi, batch + 1)[:-1]
    eye = torch.stack([3 * angles.sin(), 0.5 * torch.ones(batch), 3 * angles.cos()], -1)
    R, t = look_at(eye, torch.zeros(batch, 3))
    K = intrinsics_from_fov(50, size, size)[None].repeat(batch, 1, 1)
    cams = Cameras(K, R, t, size, size).to(device)
    settings = RasterSettings(faces_per_pixel=25, blur_radius=2.5) if soft else RasterSettings()
    verts = mesh.verts_packed().clone().requires_grad_(backward)

    def run() -> torch.Tensor:
        frags = rasterize_meshes(mesh.update_packed(verts), cams, settings)
        if backward:
            loss = frags.bary[..., 0].sum() + frags.zbuf.sum() + frags.dists.sum()
            loss.backward()
        if str(device).startswith("cuda"):
            torch.cuda.synchronize()
        return frags.pix_to_face

    run()
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        p2f = run()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    covered = p2f[..., 0] >= 0
    listed = float((p2f >= 0).sum(-1)[covered].float().mean()) if covered.any() else 0.0
    return {"num_faces": num_faces, "faces": faces, "size": size, "batch": batch, "soft": soft,
            "backward": backward, "device": str(device), "median_s": statistics.median(times),
            "times_s": times, "cpu_median_s": statistics.median(cpu), "listed_per_pixel": listed}
