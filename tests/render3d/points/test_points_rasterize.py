"""Point rasterizer: analytic coverage, depth order, K truncation, orientation, gradients, errors."""

import pytest
import torch

from render3d import Cameras, InvalidMeshError, Pointclouds, ShapeError, intrinsics_from_fov, look_at
from render3d.points import PointsRasterSettings, rasterize_points


def _cams(size=(24, 32), eye=(0.0, 0.0, 3.0), dtype=torch.float64, orthographic=False, n=1):
    H, W = size
    R, t = look_at(torch.tensor([eye]), torch.zeros(1, 3))
    K = intrinsics_from_fov(60, W, H)[None]
    if orthographic:
        K = torch.tensor([[[10.0, 0, W / 2], [0, 10.0, H / 2], [0, 0, 1]]])
    return Cameras(K.to(dtype).repeat(n, 1, 1), R.to(dtype).repeat(n, 1, 1), t.to(dtype).repeat(n, 1),
                   W, H, orthographic=orthographic)


@pytest.mark.parametrize(("orthographic", "xyz", "r"), [
    (False, (0.13, -0.07, 0.21), 0.47),
    (True, (0.13, -0.07, 0.21), 0.47),
    (False, (1.45, 0.9, 0.3), 0.5),  # center off the image, disk partly on it
    (False, (0.2, 0.3, 2.8), 0.3),  # just before the camera: the disk covers the whole image
])
def test_single_point_covers_exactly_the_disk(orthographic, xyz, r):
    cams = _cams(orthographic=orthographic)
    p = torch.tensor([[xyz]], dtype=torch.float64)
    frags = rasterize_points(Pointclouds(p, radius=torch.full((1, 1), r, dtype=torch.float64)), cams)
    u, v, z = cams.project(p)[0, 0].tolist()
    r_px = cams.K[0, 0, 0].item() * r * (1 if orthographic else 1 / z)
    ys, xs = torch.meshgrid(torch.arange(24.0, dtype=torch.float64) + 0.5,
                            torch.arange(32.0, dtype=torch.float64) + 0.5, indexing="ij")
    d2 = ((xs - u) ** 2 + (ys - v) ** 2) / r_px**2
    inside = d2 < 1
    assert inside.sum() > 20  # the disk spans several pixels, so this checks a real shape
    assert torch.equal(frags.idx[0, ..., 0] == 0, inside)
    assert (frags.idx[0, ..., 1:] == -1).all()
    torch.testing.assert_close(frags.dists[0, ..., 0][inside], d2[inside])
    assert (frags.dists[0, ..., 0][~inside] == -1).all()
    torch.testing.assert_close(frags.zbuf[0, ..., 0][inside], torch.full_like(d2[inside], z))
    assert (frags.zbuf[0, ..., 0][~inside] == -1).all()


def test_overlapping_points_sorted_near_to_far_and_truncated():
    cams = _cams()
    # camera at +Z looks toward -Z: larger world z is nearer (camera z = 3 - world z)
    p = torch.tensor([[[0.0, 0, -0.5], [0.01, 0, 0.5], [0.0, 0.01, 0.0]]], dtype=torch.float64)
    clouds = Pointclouds(p, radius=0.2)
    frags = rasterize_points(clouds, cams, PointsRasterSettings(points_per_pixel=3))
    center = frags.idx[0, 12, 16].tolist()
    assert center == [1, 2, 0]
    torch.testing.assert_close(frags.zbuf[0, 12, 16], torch.tensor([2.5, 3.0, 3.5], dtype=torch.float64))
    frags2 = rasterize_points(clouds, cams, PointsRasterSettings(points_per_pixel=2))
    assert frags2.idx[0, 12, 16].tolist() == [1, 2]
    assert torch.equal(frags2.idx, frags.idx[..., :2])
    # near → far in every pixel; empty slots after filled ones
    z = frags.zbuf
    filled = z > 0
    assert (z[..., 1:][filled[..., 1:]] >= z[..., :-1][filled[..., 1:]]).all()
    assert not (filled[..., 1:] & ~filled[..., :-1]).any()


def test_orientation_world_x_right_y_up():
    cams = _cams(size=(32, 32))
    frags = rasterize_points(Pointclouds(torch.tensor([[[0.5, 0.5, 0.0]]], dtype=torch.float64), radius=0.05), cams)
    ys, xs = frags.mask[0].nonzero(as_tuple=True)
    assert xs.float().mean() > 16 and ys.float().mean() < 16


def test_chunking_and_batching_do_not_change_output():
    g = torch.Generator().manual_seed(1)
    pts = torch.randn(2, 300, 3, generator=g) * 0.5
    rad = torch.rand(2, 300, generator=g) * 0.1 + 0.01
    cams = _cams(n=2, dtype=torch.float32)
    clouds = Pointclouds(pts, radius=rad)
    full = rasterize_points(clouds, cams)
    small = rasterize_points(clouds, cams, PointsRasterSettings(chunk_candidates=1024))
    assert torch.equal(full.idx, small.idx) and torch.equal(full.dists, small.dists)
    hit = full.idx >= 0
    assert (full.dists[hit] >= 0).all() and (full.dists[hit] < 1).all() and (full.zbuf[hit] > 0).all()
    # a dense blob fills pixels early, so small chunks cull whole points and hits behind them
    slab = (torch.rand(1, 3000, 3, generator=g) - 0.5) * torch.tensor([5.0, 4.0, 1.0])
    blob = Pointclouds(slab, radius=torch.rand(1, 3000, generator=g) * 0.1 + 0.1)
    for k in (1, 3):
        ref = rasterize_points(blob, cams[0], PointsRasterSettings(points_per_pixel=k))
        chunked = rasterize_points(blob, cams[0], PointsRasterSettings(points_per_pixel=k, chunk_candidates=1024))
        assert ref.mask.float().mean() > 0.9
        assert torch.equal(ref.idx, chunked.idx) and torch.equal(ref.zbuf, chunked.zbuf)
    for b in range(2):
        single = rasterize_points(clouds[b], cams[b])
        expected = torch.where(single.idx >= 0, single.idx + 300 * b, -1)
        assert torch.equal(full.idx[b:b + 1], expected)
    # one cloud seen by two cameras: packed indices of that one cloud in both images
    shared = rasterize_points(clouds[0], cams)
    assert torch.equal(shared.idx[1], shared.idx[0])


def test_points_behind_znear_are_dropped():
    cams = _cams()
    clouds = Pointclouds(torch.tensor([[[0.0, 0, 3.5], [0.0, 0, 2.9999]]], dtype=torch.float64), radius=0.01)
    frags = rasterize_points(clouds, cams, PointsRasterSettings(znear=0.01))
    assert not frags.mask.any() and (frags.zbuf == -1).all() and (frags.dists == -1).all()
    assert frags.idx.shape == (1, 24, 32, 8)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    g = torch.Generator().manual_seed(2)
    pts, rad = torch.randn(2, 2000, 3, generator=g) * 0.5, torch.rand(2, 2000, generator=g) * 0.05 + 0.01
    clouds = Pointclouds(pts, radius=rad)
    cams = _cams(n=2, dtype=torch.float32)
    cpu = rasterize_points(clouds, cams)
    gpu = rasterize_points(clouds.to("cuda"), cams.to("cuda"))
    assert (gpu.idx.cpu() == cpu.idx).float().mean() > 0.999
    torch.testing.assert_close(gpu.zbuf.cpu()[cpu.idx >= 0], cpu.zbuf[cpu.idx >= 0])


def test_gradients_of_dists_and_zbuf_float64():
    # positions, radii and the camera translation all reach dists and zbuf
    cams = _cams(size=(8, 10))
    pts = torch.tensor([[0.05, 0.02, 0.0], [-0.28, 0.15, 0.3], [0.1, -0.3, -0.2]], dtype=torch.float64)
    rad = torch.tensor([0.65, 0.5, 0.7], dtype=torch.float64)
    frags0 = rasterize_points(Pointclouds(pts[None], radius=rad[None]), cams)
    assert (frags0.idx >= 0).sum() > 15  # several overlapping disks

    def f(p, r, t):
        moved = Cameras(cams.K, cams.R, t, cams.width, cams.height)
        frags = rasterize_points(Pointclouds(p[None], radius=r[None]), moved, PointsRasterSettings(points_per_pixel=3))
        return frags.dists, frags.zbuf

    torch.autograd.gradcheck(f, (pts.requires_grad_(), rad.requires_grad_(), cams.t.clone().requires_grad_()))


def test_bad_inputs_raise_clear_errors():
    cams = _cams(n=3)
    clouds = Pointclouds(torch.zeros(2, 4, 3, dtype=torch.float64), radius=0.1)
    with pytest.raises(ShapeError, match="2 point clouds for 3 cameras"):
        rasterize_points(clouds, cams)
    with pytest.raises(InvalidMeshError, match="radius"):
        Pointclouds(torch.zeros(1, 4, 3), radius=torch.tensor([[0.1, 0.0, 0.1, 0.1]]))
    with pytest.raises(InvalidMeshError, match="radius"):
        Pointclouds(torch.zeros(1, 4, 3), radius=-1.0)
    with pytest.raises(ShapeError, match="points_per_pixel"):
        PointsRasterSettings(points_per_pixel=0)
    with pytest.raises(ShapeError, match="znear"):
        PointsRasterSettings(znear=0.0)
