"""`neurender render` of point clouds: hole-free at every density, visible when tiny or uncolored."""

import math

import pytest
import torch

from render3d.io import save_pointcloud
from render3d.structures import Pointclouds
from tools.render import OrbitRenderJob, load_asset, render_orbit


def _sphere(n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=1)


def _render(tmp_path, points: torch.Tensor, colors: torch.Tensor | None = None, size: int = 128):
    path = tmp_path / "cloud.ply"
    save_pointcloud(path, Pointclouds([points], features=None if colors is None else [colors]))
    return render_orbit(load_asset(path), OrbitRenderJob(size=size, views=2, outputs=("rgb", "mask")))


def _analytic_disks(cams) -> torch.Tensor:
    """`[B, H, W]` pixel centers inside the image of the unit sphere (each camera looks at its center)."""
    out = []
    for i in range(len(cams)):
        K, d = cams.K[i], float(cams.t[i].norm())
        r = float(K[0, 0]) * math.tan(math.asin(1 / d))
        u = torch.arange(cams.width) + 0.5 - float(K[0, 2])
        v = torch.arange(cams.height) + 0.5 - float(K[1, 2])
        out.append(u[None] ** 2 + v[:, None] ** 2 <= r * r)
    return torch.stack(out)


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize("n", [10_000, 100_000, pytest.param(1_000_000, marks=pytest.mark.slow)])
def test_random_sphere_samplings_cover_the_analytic_disk(tmp_path, n):
    # a uniform random sampling (no normals, no colors in the file); was IoU 0.82 at 300k points
    out, cams = _render(tmp_path, _sphere(n))
    disk = _analytic_disks(cams)
    for i in range(len(cams)):
        assert _iou(out.alpha[i] > 0.5, disk[i]) >= 0.97


@pytest.mark.parametrize("n", [1, 1000])
def test_a_single_point_or_copies_of_one_render_visibly(tmp_path, n):
    out, _ = _render(tmp_path, torch.full((n, 3), 0.25), torch.tensor([[0.9, 0.1, 0.1]]).expand(n, 3))
    for i in range(2):
        opaque = out.alpha[i] > 0.9  # the disk fades to its rim
        assert opaque.sum() >= 4  # at least the splat's own pixels, whatever the framing
        torch.testing.assert_close(out.rgb[i][opaque].mean(0), torch.tensor([0.9, 0.1, 0.1]), atol=0.05, rtol=0)


def test_uncolored_clouds_are_shaded_gray_not_white_on_white(tmp_path):
    out, _ = _render(tmp_path, _sphere(20_000))
    shown = out.rgb[0][out.alpha[0] > 0.5]
    background = out.rgb[0][out.alpha[0] == 0]
    assert torch.equal(background, torch.ones_like(background))
    gray = shown.mean(1)
    # clearly darker than the white background, and shaded (lit and unlit sides), not flat
    assert gray.mean() < 0.75 and gray.std() > 0.1 and (shown.max(1).values - shown.min(1).values).max() < 1e-6
