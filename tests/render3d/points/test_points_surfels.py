"""Oriented splats and the screen-space minimum radius, against independent ray casting."""

import math

import numpy as np
import pytest
import torch

from render3d import Cameras, Pointclouds, intrinsics_from_fov, look_at
from render3d.points import PointsRasterSettings, rasterize_points

ORIENTED = PointsRasterSettings(oriented=True, points_per_pixel=1)


def _cams(size=(40, 48), orthographic=False, dtype=torch.float64):
    H, W = size
    eye = torch.tensor([0.3, -0.2, 3.0], dtype=torch.float64)
    U, _, Vt = torch.linalg.svd(look_at(eye[None], torch.zeros(1, 3))[0].double())
    R = U @ Vt  # orthonormal to float64 precision (look_at works in float32), as the ray-cast reference assumes
    t = -(R @ eye[:, None])[..., 0]
    K = intrinsics_from_fov(50, W, H)[None]
    if orthographic:
        K = torch.tensor([[[14.0, 0, W / 2], [0, 14.0, H / 2], [0, 0, 1]]])
    K[:, 0, 1] = 0.7  # a skewed pixel grid exercises every term of K⁻¹
    return Cameras(K.to(dtype), R.to(dtype), t.to(dtype), W, H, orthographic=orthographic)


def _ray_cast(cams: Cameras, c: np.ndarray, n: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel center: is the disk (world center c, normal n, radius r) hit, and |X - c|² / r²."""
    K, R, t = (x[0].numpy() for x in (cams.K, cams.R, cams.t))
    v, u = np.meshgrid(np.arange(cams.height) + 0.5, np.arange(cams.width) + 0.5, indexing="ij")
    pix = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(K).T
    if cams.orthographic:
        origin, direction = np.concatenate([pix[..., :2], np.zeros_like(u)[..., None]], -1), np.array([0, 0, 1.0])
    else:
        origin, direction = np.zeros(3), pix
    origin, direction = (origin - t) @ R, direction @ R  # world frame
    s = ((c - origin) @ n) / (direction @ n)
    hit_point = origin + s[..., None] * direction
    d2 = ((hit_point - c) ** 2).sum(-1) / r**2
    return d2 < 1, d2


@pytest.mark.parametrize("orthographic", [False, True])
@pytest.mark.parametrize("normal", [(0.0, 0.0, 1.0), (0.9, 0.2, 0.5), (-0.3, 0.95, 0.2)])
def test_oriented_disk_covers_exactly_its_ray_cast_pixels(orthographic, normal):
    cams = _cams(orthographic=orthographic)
    c, n, r = np.array([0.1, -0.15, 0.2]), np.array(normal) / np.linalg.norm(normal), 0.6
    hit, d2 = _ray_cast(cams, c, n, r)
    clouds = Pointclouds(torch.from_numpy(c)[None, None], normals=torch.from_numpy(n)[None, None],
                         radius=torch.tensor([[r]], dtype=torch.float64))
    frags = rasterize_points(clouds, cams, ORIENTED)
    covered = (frags.idx[0, ..., 0] == 0).numpy()
    clear = np.abs(d2 - 1) > 1e-9
    assert hit.sum() > 15 and (covered != hit)[clear].sum() == 0
    np.testing.assert_allclose(frags.dists[0, ..., 0].numpy()[covered], d2[covered], atol=1e-9)
    # a tilted disk is an ellipse, not the camera-facing disk
    facing = rasterize_points(clouds, cams, PointsRasterSettings(points_per_pixel=1))
    assert not torch.equal(facing.mask, frags.mask)


def test_oriented_disks_keep_a_sphere_silhouette_where_facing_ones_spill():
    # Disks of 1.5x the point spacing close every gap of a random sampling; facing the camera they stick
    # out of the silhouette, lying in the surface they do not.
    g = torch.Generator().manual_seed(0)
    p = torch.nn.functional.normalize(torch.randn(4000, 3, generator=g, dtype=torch.float64), dim=1)
    R, t = look_at(torch.tensor([[0.0, 0.0, 4.0]]), torch.zeros(1, 3))
    cams = Cameras(intrinsics_from_fov(40, 96, 96)[None].double(), R.double(), t.double(), 96, 96)
    clouds = Pointclouds(p[None], normals=p[None], radius=1.5 * math.sqrt(4 * math.pi / 4000))
    f = float(cams.K[0, 0, 0])
    disk_r = f * math.tan(math.asin(1 / 4))
    c = torch.arange(96, dtype=torch.float64) + 0.5 - 48
    disk = (c[None] ** 2 + c[:, None] ** 2) < disk_r**2
    ring = {}
    for oriented in (True, False):
        mask = rasterize_points(clouds, cams, PointsRasterSettings(oriented=oriented)).mask[0]
        assert int((disk & ~mask).sum()) == 0  # no holes
        ring[oriented] = int((mask & ~disk).sum()) / (2 * math.pi * disk_r)  # mean spill width in pixels
    # lying in the surface, a disk reaches past the silhouette by r²/2R (0.12 px here); facing the camera, by r
    assert ring[True] < 0.2 and ring[False] > 1.0


def test_edge_on_disks_cover_nothing_and_normal_less_clouds_face_the_camera():
    cams = _cams()
    center = torch.tensor([[[0.0, 0.0, 0.0]]], dtype=torch.float64)
    eye = -(cams.R[0].T @ cams.t[0])
    # the normal perpendicular to the view ray through the center: the disk is a line on screen
    edge = torch.linalg.cross(eye, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    on_edge = Pointclouds(center, normals=edge.view(1, 1, 3), radius=0.5)
    assert rasterize_points(on_edge, cams, ORIENTED).mask.sum() == 0
    plain = Pointclouds(center, radius=0.5)
    assert torch.equal(rasterize_points(plain, cams, ORIENTED).idx,
                       rasterize_points(plain, cams, PointsRasterSettings(points_per_pixel=1)).idx)


def test_min_radius_floors_the_screen_size():
    cams = _cams()
    tiny = Pointclouds(torch.tensor([[[0.05, 0.02, 0.1]]], dtype=torch.float64), radius=1e-6)
    assert rasterize_points(tiny, cams).mask.sum() == 0  # exact world radius: between pixel centers
    for settings in (PointsRasterSettings(min_radius_px=2.5), PointsRasterSettings(min_radius_px=2.5, oriented=True)):
        frags = rasterize_points(tiny, cams, settings)
        u, v, _ = cams.project(tiny.points_packed()[None])[0, 0].tolist()
        ys, xs = torch.meshgrid(torch.arange(40.0, dtype=torch.float64) + 0.5,
                                torch.arange(48.0, dtype=torch.float64) + 0.5, indexing="ij")
        d2 = ((xs - u) ** 2 + (ys - v) ** 2) / 2.5**2
        assert torch.equal(frags.mask[0], d2 < 1)
        torch.testing.assert_close(frags.dists[0, ..., 0][d2 < 1], d2[d2 < 1].double())
    with pytest.raises(Exception, match="min_radius_px"):
        PointsRasterSettings(min_radius_px=-1.0)


def test_oriented_dists_gradcheck():
    cams = _cams(size=(12, 14))
    normals = torch.tensor([[0.4, 0.3, 0.85]], dtype=torch.float64)

    def fn(points, n, radius):
        clouds = Pointclouds(points[None], normals=n[None], radius=radius[None])
        frags = rasterize_points(clouds, cams, ORIENTED)
        return frags.dists[frags.mask], frags.zbuf[frags.mask]

    args = (torch.tensor([[0.05, 0.02, 0.1]], dtype=torch.float64, requires_grad=True),
            normals.clone().requires_grad_(), torch.tensor([0.9], dtype=torch.float64, requires_grad=True))
    assert fn(*args)[0].numel() > 20
    assert torch.autograd.gradcheck(fn, args, atol=1e-6)
