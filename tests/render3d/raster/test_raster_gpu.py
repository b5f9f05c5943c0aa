"""CUDA rasterization matches the CPU reference (skipped without a GPU)."""

from __future__ import annotations

import math

import pytest
import torch
from raster_scenes import uv_sphere

from render3d.cameras import Cameras, intrinsics_from_fov, orbit
from render3d.raster import RasterSettings, rasterize_meshes

pytestmark = pytest.mark.gpu


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("settings", [RasterSettings(), RasterSettings(faces_per_pixel=8, blur_radius=2.0)])
def test_cuda_matches_cpu(settings):
    mesh = uv_sphere(4000)
    R, t = orbit((0, 0, 0), 3.0, [0, 100], 20.0)
    cams = Cameras(intrinsics_from_fov(50, 96, 80)[None].repeat(2, 1, 1), R, t, 96, 80)
    results = []
    for device in ("cpu", "cuda"):
        verts = mesh.verts_packed().to(device).requires_grad_()
        frags = rasterize_meshes(mesh.to(device).update_packed(verts), cams.to(device), settings)
        valid = frags.pix_to_face >= 0
        (frags.bary[valid][:, 0].sum() + frags.zbuf[valid].sum() + frags.dists[valid].sum()).backward()
        results.append((frags, verts.grad))
    (cpu, g_cpu), (gpu, g_gpu) = results
    assert (cpu.pix_to_face == gpu.pix_to_face.cpu()).float().mean() >= 0.999
    same = (cpu.pix_to_face == gpu.pix_to_face.cpu()) & (cpu.pix_to_face >= 0)
    for a, b in ((cpu.bary, gpu.bary), (cpu.zbuf, gpu.zbuf), (cpu.dists, gpu.dists)):
        assert ((a - b.cpu()).abs()[same] < 1e-3).float().mean() >= 0.999
    assert math.isclose(float(g_cpu.norm()), float(g_gpu.norm()), rel_tol=1e-2)
