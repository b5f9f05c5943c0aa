"""Point-cloud loading: ASCII PLY from trimesh, default splat radius from the measured spacing, estimated normals."""

import math

import numpy as np
import pytest
import torch
import trimesh

from render3d.io import load_pointcloud, save_pointcloud
from render3d.io.points import FALLBACK_RADIUS, RADIUS_SCALE
from render3d.points.normals import pca_normals
from render3d.structures import Pointclouds


def test_ascii_ply_written_by_trimesh_loads(tmp_path):
    rng = np.random.default_rng(0)
    pts = rng.random((50, 3)).astype(np.float32)
    colors = rng.integers(0, 256, (50, 4), dtype=np.uint8)
    path = tmp_path / "ascii.ply"
    path.write_bytes(trimesh.exchange.ply.export_ply(trimesh.PointCloud(pts, colors=colors), encoding="ascii"))
    assert b"format ascii" in path.read_bytes()[:100]
    cloud = load_pointcloud(path)
    np.testing.assert_allclose(cloud.points_packed().numpy(), pts, atol=1e-6)
    np.testing.assert_allclose(cloud.features_packed().numpy(), colors[:, :3] / 255.0, atol=1e-6)
    assert cloud.normals_packed() is None


def test_ascii_ply_normals_are_read(tmp_path):
    pts = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    nrm = np.array([[0.0, 0, 1], [0, 1, 0], [1, 0, 0]])
    header = "ply\nformat ascii 1.0\nelement vertex 3\n" + "".join(f"property float {k}\n" for k in
                                                                  ("x", "y", "z", "nx", "ny", "nz")) + "end_header\n"
    rows = "".join(" ".join(map(str, [*p, *n])) + "\n" for p, n in zip(pts, nrm, strict=True))
    (tmp_path / "n.ply").write_text(header + rows)
    np.testing.assert_allclose(load_pointcloud(tmp_path / "n.ply").normals_packed().numpy(), nrm)


def _grid(step: float) -> torch.Tensor:
    g = torch.stack(torch.meshgrid(torch.arange(20.0), torch.arange(20.0), indexing="ij"), -1).reshape(-1, 2)
    return torch.cat([g * step, torch.zeros(400, 1)], 1)


def test_default_radius_follows_the_point_spacing(tmp_path):
    # a square grid of spacing 0.05: the 4 nearest neighbours all lie 0.05 away
    save_pointcloud(tmp_path / "grid.npy", Pointclouds([_grid(0.05)]))
    radius = load_pointcloud(tmp_path / "grid.npy").radius_packed().view(20, 20)
    torch.testing.assert_close(radius[2:-2, 2:-2], torch.full((16, 16), RADIUS_SCALE * 0.05))
    assert radius.max() < RADIUS_SCALE * 0.06  # border points, with diagonal neighbours, barely more
    # the old estimate, 0.5 · diag / √N, was half the spacing here: disks did not even touch
    assert 0.5 * math.hypot(0.95, 0.95) / 20 < 0.5 * 0.05 * 1.4
    assert load_pointcloud(tmp_path / "grid.npy", radius=0.2).radius_packed().eq(0.2).all()


@pytest.mark.parametrize("n", [1, 1000])
def test_clouds_without_spacing_get_the_fallback_radius(tmp_path, n):
    save_pointcloud(tmp_path / "same.xyz", Pointclouds([torch.full((n, 3), 0.3)]))
    cloud = load_pointcloud(tmp_path / "same.xyz", estimate_normals=True)
    assert cloud.radius_packed().eq(FALLBACK_RADIUS).all() and cloud.radius_packed().shape == (n,)


def test_estimated_normals_of_a_sphere_point_outward(tmp_path):
    g = torch.Generator().manual_seed(0)
    p = torch.nn.functional.normalize(torch.randn(3000, 3, generator=g), dim=1)
    save_pointcloud(tmp_path / "s.ply", Pointclouds([p]))
    assert load_pointcloud(tmp_path / "s.ply").normals_packed() is None
    normals = load_pointcloud(tmp_path / "s.ply", estimate_normals=True).normals_packed()
    cos = (normals * p).sum(1)
    assert cos.min() > 0.9 and cos.median() > 0.995  # outward, within a few degrees
    flat = pca_normals(_grid(0.1) + torch.tensor([0.0, 0.0, 2.0]))
    assert bool((flat[:, 2].abs() > 0.999).all()) and pca_normals(torch.zeros(2, 3)) is None
