"""render3d.geometry: open3d point-cloud processing and reconstruction, trimesh sampling and rays."""

import pytest
import torch

from render3d.backends import unavailable_reason
from render3d.errors import InvalidMeshError, MeshIOError, ShapeError
from render3d.geometry import (
    ball_pivoting,
    estimate_normals,
    poisson_reconstruction,
    ray_cast,
    read_pointcloud_open3d,
    remove_radius_outliers,
    remove_statistical_outliers,
    sample_surface,
    voxel_downsample,
)

needs_open3d = pytest.mark.skipif(unavailable_reason("open3d") is not None, reason="open3d unavailable")


def _sphere(n=3000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=1)


def _cube():
    import trimesh

    box = trimesh.creation.box((1.0, 1.0, 1.0))
    return torch.tensor(box.vertices, dtype=torch.float32), torch.tensor(box.faces)


@needs_open3d
def test_normals_of_a_plane_face_the_given_point_and_a_sphere_is_consistent():
    g = torch.Generator().manual_seed(1)
    plane = torch.rand(400, 3, generator=g) * torch.tensor([1.0, 1.0, 0.0])
    n = estimate_normals(plane, knn=12, toward=torch.tensor([0.5, 0.5, -3.0]))
    assert (n[:, 2] < -0.999).all()
    s = _sphere(1500)
    ns = estimate_normals(s, knn=15)
    cos = (ns * s).sum(1)
    assert (cos.abs() > 0.98).float().mean() > 0.99
    assert (cos > 0).all() or (cos < 0).all()  # one consistent orientation
    with pytest.raises(ShapeError):
        estimate_normals(plane, knn=2)


@needs_open3d
def test_voxel_downsample_averages_per_voxel():
    pts = torch.tensor([[0.1, 0.1, 0.1], [0.3, 0.3, 0.3], [1.2, 0.2, 0.2], [1.4, 0.4, 0.2]])
    colors = torch.tensor([[1.0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 0]])
    out, c, n = voxel_downsample(pts, 1.0, colors=colors)
    order = out[:, 0].argsort()
    assert torch.allclose(out[order], torch.tensor([[0.2, 0.2, 0.2], [1.3, 0.3, 0.2]]), atol=1e-6)
    assert torch.allclose(c[order], torch.tensor([[0.5, 0, 0.5], [0, 1, 0]]), atol=1e-6)
    assert n is None
    with pytest.raises(ShapeError):
        voxel_downsample(pts, 0.0)


@needs_open3d
def test_outlier_removal_drops_the_stray_points_only():
    g = torch.Generator().manual_seed(2)
    pts = torch.cat([torch.rand(300, 3, generator=g), torch.tensor([[20.0, 0, 0], [0, -15, 3]])])
    keep = remove_statistical_outliers(pts, knn=10, std_ratio=2.0)
    assert not keep[-2:].any() and keep[:300].float().mean() > 0.95
    keep_r = remove_radius_outliers(pts, min_neighbors=3, radius=0.3)
    assert not keep_r[-2:].any() and keep_r[:300].all()
    with pytest.raises(InvalidMeshError):
        remove_statistical_outliers(torch.tensor([[float("nan"), 0, 0], [0, 0, 0]]))


@needs_open3d
def test_read_binary_compressed_pcd(tmp_path):
    import open3d as o3d

    pts = _sphere(100).double().numpy()
    pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
    pc.colors = o3d.utility.Vector3dVector(pts * 0 + 0.25)
    path = tmp_path / "c.pcd"
    o3d.io.write_point_cloud(str(path), pc, write_ascii=False, compressed=True)
    clouds = read_pointcloud_open3d(path, radius=0.02)
    assert torch.allclose(clouds.points_packed().double(), torch.from_numpy(pts), atol=1e-6)
    assert torch.allclose(clouds.features_packed(), torch.full((100, 3), 0.25), atol=1 / 255)  # PCD stores 8-bit RGB
    with pytest.raises(MeshIOError):
        read_pointcloud_open3d(tmp_path / "missing.pcd")


@needs_open3d
def test_poisson_and_ball_pivoting_recover_the_sphere():
    s = _sphere(3000)
    mesh = poisson_reconstruction(s, s, depth=6, density_quantile=0.02)
    r = mesh.verts_packed().norm(dim=1)
    assert (r - 1).abs().mean() < 0.02 and mesh.faces_packed().shape[0] > 500
    bp = ball_pivoting(s, s, radii=(0.08, 0.12))
    v = bp.verts_packed()
    assert bp.faces_packed().shape[0] > 3000 and torch.allclose(v.norm(dim=1), torch.ones(len(v)), atol=1e-5)
    with pytest.raises(ShapeError):
        poisson_reconstruction(s, s[:10])


def test_sample_surface_is_on_the_cube_and_area_uniform():
    verts, faces = _cube()
    pts, face, normals = sample_surface(verts, faces, 6000, seed=0)
    assert torch.allclose(pts.abs().amax(1), torch.full((6000,), 0.5), atol=1e-6)
    fv = verts[faces]
    assert torch.allclose(normals, torch.nn.functional.normalize(
        torch.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=1), dim=1)[face], atol=1e-6)
    # each sample lies on the side its face normal names
    assert torch.allclose((pts * normals).sum(1), torch.full((6000,), 0.5), atol=1e-6)
    side = normals.abs().argmax(1) * 2 + (normals.sum(1) > 0).long()
    frac = torch.bincount(side, minlength=6).float() / 6000
    assert ((frac - 1 / 6).abs() < 0.03).all()
    assert torch.equal(sample_surface(verts, faces, 10, seed=3)[0], sample_surface(verts, faces, 10, seed=3)[0])


def test_ray_cast_hits_nearest_face_and_reports_misses():
    verts, faces = _cube()
    origins = torch.tensor([[0.0, 0, 3], [0.2, 0.1, -2], [3.0, 3, 3]])
    dirs = torch.tensor([[0.0, 0, -2], [0, 0, 1], [1.0, 0, 0]])
    dist, face, loc = ray_cast(verts, faces, origins, dirs)
    assert dist[:2].tolist() == pytest.approx([2.5, 1.5], abs=1e-6)
    assert torch.allclose(loc[1], torch.tensor([0.2, 0.1, -0.5]), atol=1e-6)
    assert face[2] == -1 and dist[2] == float("inf") and torch.isnan(loc[2]).all()
    n = torch.cross(*(verts[faces[face[0]]][1:] - verts[faces[face[0]]][0]).unbind(0), dim=0)
    assert n[2] > 0  # the +Z side was hit first
    with pytest.raises(ShapeError):
        ray_cast(verts, faces, origins, torch.zeros(3, 3))
