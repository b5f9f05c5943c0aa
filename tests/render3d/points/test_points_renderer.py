"""Point renderer: buffers, background, against pytorch3d, and a golden image."""

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from render3d import Cameras, Pointclouds, ShapeError, intrinsics_from_fov, look_at
from render3d.points import PointsRasterizer, PointsRasterSettings, PointsRenderer, alpha_composite

GOLDEN = Path(__file__).parents[2] / "data" / "golden" / "points_64.png"


def _fibonacci_cloud(n: int) -> Pointclouds:
    """A deterministic colored unit sphere (no RNG), colored by position, with normals."""
    i = torch.arange(n, dtype=torch.float64) + 0.5
    y = 1 - 2 * i / n
    rho = (1 - y * y).sqrt()
    phi = i * math.pi * (3 - math.sqrt(5))
    p = torch.stack([rho * phi.cos(), y, rho * phi.sin()], -1).float()
    colors = (p * 0.5 + 0.5).clamp(0, 1)
    return Pointclouds(p[None], features=colors[None], normals=p[None], radius=0.06)


def _cams(H: int, W: int, eye=(1.2, 1.5, 3.0)) -> Cameras:
    R, t = look_at(torch.tensor([eye]), torch.zeros(1, 3))
    return Cameras(intrinsics_from_fov(45, W, H)[None], R, t, W, H)


def test_renderer_buffers_and_background():
    cams = _cams(48, 40)
    clouds = _fibonacci_cloud(800)
    out = PointsRenderer(PointsRasterizer(), "alpha", background=(0.0, 0.0, 1.0))(clouds, cams)
    mask = out.fragments.mask[0]
    assert 0.2 < mask.float().mean() < 0.8
    bg = ~mask
    assert torch.equal(out.rgb[0][bg], torch.tensor([0.0, 0.0, 1.0]).expand(int(bg.sum()), 3))
    assert (out.alpha[0][bg] == 0).all() and (out.depth[0][bg] == 0).all()
    torch.testing.assert_close(out.depth[0][mask], out.fragments.zbuf[0, ..., 0][mask])
    # the sphere's front surface is ~ |eye| - 1 away
    assert abs(out.depth[0][mask].min().item() - (math.dist((1.2, 1.5, 3.0), (0, 0, 0)) - 1)) < 0.1
    n = out.normals[0][mask]
    torch.testing.assert_close(n.norm(dim=-1), torch.ones(n.shape[0]))
    assert (out.normals[0][bg] == 0).all()
    # the nearest point of a pixel is on the front half, facing the camera (bar a few at the rim)
    eye = torch.tensor([1.2, 1.5, 3.0])
    front = clouds.normals_packed()[out.fragments.idx[0, ..., 0][mask]]
    facing = (front * (eye - clouds.points_packed()[out.fragments.idx[0, ..., 0][mask]])).sum(-1)
    assert (facing > 0).float().mean() > 0.85  # a back-to-front sort would give < 0.5
    assert (n @ torch.nn.functional.normalize(eye, dim=0)).mean() > 0.3
    white = PointsRenderer(PointsRasterizer(), "norm_weighted")(Pointclouds(clouds.points_list()), cams)
    assert white.normals is None
    torch.testing.assert_close(white.rgb[0][mask], white.alpha[0][mask, None].expand(-1, 3))


def test_renderer_feature_channels_and_broadcast():
    cloud = _fibonacci_cloud(400)
    pts = cloud.points_list()
    cams = _cams(32, 32)
    both = Cameras(cams.K.repeat(2, 1, 1), cams.R.repeat(2, 1, 1), cams.t.repeat(2, 1), 32, 32)
    gray = PointsRenderer(PointsRasterizer(), "alpha")(Pointclouds(pts, features=[torch.full((400, 1), 0.5)]), both)
    torch.testing.assert_close(gray.rgb[0], gray.rgb[1])
    torch.testing.assert_close(gray.rgb[0], 0.5 * gray.alpha[0, ..., None].expand(-1, -1, 3))
    with pytest.raises(ShapeError, match="channels"):
        PointsRenderer(PointsRasterizer(), "alpha")(Pointclouds(pts, features=[torch.rand(400, 2)]), cams)


def test_renderer_rejects_bad_configuration():
    with pytest.raises(ShapeError, match="compositing"):
        PointsRenderer(PointsRasterizer(), "additive")
    with pytest.raises(ShapeError, match="background"):
        PointsRenderer(PointsRasterizer(), "alpha", background=(0.0, 2.0, 0.0))


def test_matches_pytorch3d_rasterizer_and_alpha_compositor():
    p3d = pytest.importorskip("pytorch3d.renderer", reason="pytorch3d is not installed")
    from pytorch3d.structures import Pointclouds as P3DClouds
    from pytorch3d.utils import cameras_from_opencv_projection

    H, W, K = 40, 48, 4
    g = torch.Generator().manual_seed(0)
    pts = torch.randn(500, 3, generator=g) * 0.5
    rad = torch.rand(500, generator=g) * 0.05 + 0.03
    colors = torch.rand(500, 3, generator=g)
    cams = _cams(H, W, eye=(0.5, 1.0, 3.0))
    ours = PointsRasterizer(PointsRasterSettings(points_per_pixel=K))(
        Pointclouds(pts[None], radius=rad[None]), cams)
    # pytorch3d radii are per point in NDC units (the shorter image side spans 2) and not depth-scaled
    z = cams.project(pts[None])[0, :, 2]
    r_ndc = cams.K[0, 0, 0] * rad / z * 2 / min(H, W)
    p3cams = cameras_from_opencv_projection(cams.R, cams.t, cams.K, torch.tensor([[H, W]]))
    settings = p3d.PointsRasterizationSettings(image_size=(H, W), radius=r_ndc, points_per_pixel=K, bin_size=0)
    ref = p3d.PointsRasterizer(cameras=p3cams, raster_settings=settings)(P3DClouds([pts]))
    assert ours.mask.float().mean() > 0.3
    assert (ref.idx == ours.idx).all(-1).float().mean() >= 0.999
    hit = ours.idx >= 0
    torch.testing.assert_close(ours.zbuf[hit], ref.zbuf[hit])
    torch.testing.assert_close(ours.dists[hit], ref.dists[hit] / r_ndc[ref.idx[hit]] ** 2, atol=1e-4, rtol=1e-4)
    weights = (1 - ref.dists / r_ndc[ref.idx.clamp(min=0)] ** 2).permute(0, 3, 1, 2)
    ref_img = p3d.AlphaCompositor()(ref.idx.long().permute(0, 3, 1, 2), weights, colors.T).permute(0, 2, 3, 1)
    ours_img = alpha_composite(ours, colors)[..., :3]
    torch.testing.assert_close(ours_img, ref_img, atol=1e-4, rtol=1e-4)


def test_golden_image():
    out = PointsRenderer(PointsRasterizer(), "alpha", background=(0.1, 0.1, 0.1))(_fibonacci_cloud(1500), _cams(64, 64))
    img = (out.rgb[0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    if os.environ.get("NEURENDER_REGEN_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(GOLDEN)
    golden = np.asarray(Image.open(GOLDEN).convert("RGB"))
    assert np.abs(img.astype(int) - golden.astype(int)).max() <= 2
