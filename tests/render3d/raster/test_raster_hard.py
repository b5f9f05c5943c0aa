"""Hard rasterization against analytic references: coverage, depth, barycentrics, clipping, sphere."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from raster_scenes import pinhole, pixel_rays, ray_triangle, triangle

from render3d.cameras import Cameras, intrinsics_from_fov, look_at, orbit
from render3d.errors import ShapeError
from render3d.raster import MeshRasterizer, RasterSettings, rasterize_meshes
from render3d.structures import Meshes

TILTED = np.array([[-0.6, -0.5, 2.0], [0.7, -0.3, 3.5], [0.1, 0.6, 2.6]])


def _cross2(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return p[..., 0] * q[..., 1] - p[..., 1] * q[..., 0]


def _clear_of_edges(min_bary: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    return np.abs(min_bary) > tol


def test_tilted_triangle_coverage_depth_and_perspective_bary():
    cams = pinhole(40, 32, 30.0)
    frags = rasterize_meshes(triangle(TILTED), cams, RasterSettings())
    bary_ref, z_ref, min_b = ray_triangle(cams, TILTED)
    inside = min_b >= 0
    clear = _clear_of_edges(min_b)
    covered = (frags.pix_to_face[0, ..., 0] == 0).numpy()
    assert inside.sum() > 60
    np.testing.assert_array_equal(covered[clear], inside[clear])
    np.testing.assert_allclose(frags.zbuf[0, ..., 0].numpy()[covered], z_ref[covered], atol=1e-9)
    bary = frags.bary[0, ..., 0, :].numpy()
    np.testing.assert_allclose(bary[covered], bary_ref[covered], atol=1e-9)
    # The interpolated 3D point projects back to the pixel center.
    p = bary[covered] @ TILTED
    uv = (p / p[:, 2:]) @ cams.K[0].numpy().T
    v, u = np.nonzero(covered)
    np.testing.assert_allclose(uv[:, :2], np.stack([u + 0.5, v + 0.5], 1), atol=1e-9)
    assert (frags.zbuf[0, ..., 0].numpy()[~covered] == -1).all()
    assert (frags.pix_to_face[0, ..., 0].numpy()[~covered] == -1).all()


def test_screen_space_bary_and_inside_distance():
    cams = pinhole(40, 32, 30.0)
    frags = rasterize_meshes(triangle(TILTED), cams, RasterSettings(perspective_correct=False))
    covered = (frags.pix_to_face[0, ..., 0] == 0).numpy()
    corners = TILTED / TILTED[:, 2:] @ cams.K[0].numpy().T
    v, u = np.nonzero(covered)
    centers = np.stack([u + 0.5, v + 0.5], 1)
    bary = frags.bary[0, ..., 0, :].numpy()[covered]
    np.testing.assert_allclose(bary @ corners[:, :2], centers, atol=1e-9)
    np.testing.assert_allclose(frags.zbuf[0, ..., 0].numpy()[covered], ray_triangle(cams, TILTED)[1][covered],
                               atol=1e-9)
    # Inside, the distance is minus the distance to the nearest edge line.
    line_d = []
    for i in range(3):
        a, b = corners[i, :2], corners[(i + 1) % 3, :2]
        n = np.array([b[1] - a[1], a[0] - b[0]]) / np.linalg.norm(b - a)
        line_d.append(np.abs((centers - a) @ n))
    np.testing.assert_allclose(frags.dists[0, ..., 0].numpy()[covered], -np.min(line_d, 0), atol=1e-9)


def test_orthographic_triangle():
    cams = pinhole(32, 32, 10.0, ortho=True)
    frags = rasterize_meshes(triangle(TILTED), cams, RasterSettings())
    corners = np.c_[TILTED[:, :2], np.ones(3)] @ cams.K[0].numpy().T
    covered = frags.pix_to_face[0, ..., 0].numpy() == 0
    v, u = np.nonzero(covered)
    assert covered.sum() > 50
    bary = frags.bary[0, ..., 0, :].numpy()[covered]
    np.testing.assert_allclose(bary @ corners[:, :2], np.stack([u + 0.5, v + 0.5], 1), atol=1e-9)
    np.testing.assert_allclose(frags.zbuf[0, ..., 0].numpy()[covered], bary @ TILTED[:, 2], atol=1e-9)
    # Analytic coverage: the pixel center has non-negative 2D barycentrics.
    vv, uu = np.meshgrid(np.arange(32) + 0.5, np.arange(32) + 0.5, indexing="ij")
    a, b, c = corners[:, :2]
    pts = np.stack([uu, vv], -1)
    bs = np.stack([_cross2(b - pts, c - pts), _cross2(c - pts, a - pts), _cross2(a - pts, b - pts)], -1)
    bs /= _cross2(b - a, c - a)
    clear = np.abs(bs.min(-1)) > 1e-6
    np.testing.assert_array_equal(covered[clear], (bs.min(-1) >= 0)[clear])


def test_orientation_world_up_right_lands_up_right():
    R, t = look_at(torch.tensor([[0.0, 0, 4]]), torch.zeros(1, 3))
    cams = Cameras(intrinsics_from_fov(50, 64, 48)[None], R, t, 64, 48)
    tri = Meshes([torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.5, 0.0], [0.5, 1.0, 0.0]])], [torch.tensor([[0, 1, 2]])])
    mask = rasterize_meshes(tri, cams, RasterSettings()).mask[0]
    v, u = torch.nonzero(mask, as_tuple=True)
    assert mask.sum() > 10
    assert u.float().min() > 32 and v.float().max() < 24
    # The right angle sits at the bottom-left of the rendered triangle (world +X right, +Y up).
    assert int(u.min()) == int(u[v == v.max()].min())


def test_backface_culling_removes_flipped_triangle():
    cams = pinhole(32, 32, 30.0, dtype=torch.float32)
    front = torch.tensor([[0.0, -0.5, 2.0], [-0.5, 0.5, 2.0], [0.5, 0.5, 2.0]])
    # Corners (u, v): (16, 8.5), (8.5, 23.5), (23.5, 23.5): counter-clockwise on a y-down screen.
    mesh = Meshes([front, front], [torch.tensor([[0, 1, 2]]), torch.tensor([[0, 2, 1]])])
    cams2 = Cameras(cams.K.repeat(2, 1, 1), cams.R.repeat(2, 1, 1), cams.t.repeat(2, 1), 32, 32)
    culled = rasterize_meshes(mesh, cams2, RasterSettings(cull_backfaces=True)).mask
    kept = rasterize_meshes(mesh, cams2, RasterSettings()).mask
    assert culled[0].sum() > 50 and culled[1].sum() == 0
    assert torch.equal(kept[0], kept[1]) and torch.equal(kept[0], culled[0])
    normal = torch.cross(front[1] - front[0], front[2] - front[0], dim=0)
    assert normal[2] < 0  # the kept face's normal points toward the camera (-z)


def test_top_k_sorted_near_to_far():
    far = [[-1.0, -1, 4], [1, -1, 4], [0, 1, 4]]
    near = [[-1.0, -1, 3], [1, -1, 3], [0, 1, 3]]
    behind = [[-1.0, -1, 5], [1, -1, 5], [0, 1, 5]]
    mesh = Meshes([torch.tensor(far + near + behind, dtype=torch.float64)],
                  [torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]])])
    cams = pinhole(32, 32, 20.0)
    frags = rasterize_meshes(mesh, cams, RasterSettings(faces_per_pixel=2))
    c = frags.pix_to_face[0, 16, 16].tolist()
    assert c == [1, 0]
    np.testing.assert_allclose(frags.zbuf[0, 16, 16].numpy(), [3.0, 4.0])
    all3 = rasterize_meshes(mesh, cams, RasterSettings(faces_per_pixel=4))
    assert all3.pix_to_face[0, 16, 16].tolist() == [1, 0, 2, -1]
    both = all3.pix_to_face[..., 2] >= 0
    z = all3.zbuf[both]
    assert (z[:, 0] < z[:, 1]).all() and (z[:, 1] < z[:, 2]).all()
    one = rasterize_meshes(mesh, cams, RasterSettings())
    assert torch.equal(one.pix_to_face[..., 0], all3.pix_to_face[..., 0])


def test_near_plane_clipping():
    verts = np.array([[-1.0, -0.6, 2.0], [1.0, -0.6, 2.0], [0.0, 0.8, -1.0]])  # apex behind the camera
    cams = pinhole(48, 48, 24.0)
    znear = 0.8
    frags = rasterize_meshes(triangle(verts), cams, RasterSettings(znear=znear))
    bary_ref, z_ref, min_b = ray_triangle(cams, verts)
    expect = (min_b >= 0) & (z_ref >= znear)
    clear = _clear_of_edges(min_b) & (np.abs(z_ref - znear) > 1e-6)
    covered = frags.pix_to_face[0, ..., 0].numpy() == 0
    assert expect.sum() > 150 and (~expect & (min_b >= 0)).sum() > 0  # the cut really removes pixels
    np.testing.assert_array_equal(covered[clear], expect[clear])
    np.testing.assert_allclose(frags.zbuf[0, ..., 0].numpy()[covered], z_ref[covered], atol=1e-9)
    np.testing.assert_allclose(frags.bary[0, ..., 0, :].numpy()[covered], bary_ref[covered], atol=1e-9)
    # Soft listing of the same face: finite everywhere, gradients finite too.
    v = torch.tensor(verts, requires_grad=True)
    soft = rasterize_meshes(triangle(v), cams, RasterSettings(faces_per_pixel=2, blur_radius=2.0, znear=znear))
    for x in (soft.bary, soft.zbuf, soft.dists):
        assert torch.isfinite(x).all()
    (soft.bary.sum() + soft.zbuf.sum() + soft.dists.sum()).backward()
    assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0
    # A face entirely behind the near plane is dropped.
    assert rasterize_meshes(triangle(verts * [1, 1, 0.1]), cams, RasterSettings(znear=1.0)).mask.sum() == 0


def _icosphere(subdivisions: int) -> tuple[torch.Tensor, torch.Tensor]:
    trimesh = pytest.importorskip("trimesh")
    s = trimesh.creation.icosphere(subdivisions=subdivisions)
    return torch.tensor(s.vertices, dtype=torch.float32), torch.tensor(s.faces)


def test_sphere_silhouette_and_center_depth():
    verts, faces = _icosphere(4)
    center = torch.tensor([0.4, -0.3, 3.0])
    cams = pinhole(80, 64, 50.0, dtype=torch.float32)
    frags = rasterize_meshes(Meshes([verts * 0.8 + center], [faces]), cams, RasterSettings())
    d = pixel_rays(cams)
    c = center.double().numpy()
    dist_to_ray = np.linalg.norm(np.cross(d, c), axis=-1) / np.linalg.norm(d, axis=-1)
    ref = dist_to_ray <= 0.8
    mask = frags.mask[0].numpy()
    iou = (ref & mask).sum() / (ref | mask).sum()
    assert iou >= 0.98
    u, v = (cams.K[0].double().numpy() @ c)[:2] / c[2]
    row, col = int(v), int(u)
    ray = d[row, col]
    # Nearest ray/sphere intersection depth (rays have z = 1, so t is the depth).
    a, b, cc = ray @ ray, -2 * ray @ c, c @ c - 0.64
    z_ref = (-b - np.sqrt(b * b - 4 * a * cc)) / (2 * a)
    assert abs(float(frags.zbuf[0, row, col, 0]) - z_ref) < 5e-3


def test_broadcast_and_ragged_batches_match_single_renders():
    verts, faces = _icosphere(1)
    R, t = orbit((0, 0, 0), 3.0, [0, 70, 200], 20.0)
    K = intrinsics_from_fov(50, 24, 20)[None].repeat(3, 1, 1)
    cams = Cameras(K, R, t, 24, 20)
    settings = RasterSettings(faces_per_pixel=2, blur_radius=0.7)
    rast = MeshRasterizer(settings)
    bcast = rast(Meshes([verts], [faces]), cams)
    assert bcast.pix_to_face.shape == (3, 20, 24, 2)
    for i in range(3):
        single = rast(Meshes([verts], [faces]), cams[i])
        assert torch.equal(bcast.pix_to_face[i], single.pix_to_face[0])
        torch.testing.assert_close(bcast.zbuf[i], single.zbuf[0])
    tet_v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]) - 0.3
    tet_f = torch.tensor([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    ragged = rast(Meshes([tet_v, verts], [tet_f, faces]), cams[:2])
    first = rast(Meshes([tet_v], [tet_f]), cams[0])
    second = rast(Meshes([verts], [faces]), cams[1])
    assert torch.equal(ragged.pix_to_face[0], first.pix_to_face[0])
    p2f = second.pix_to_face[0]
    assert torch.equal(ragged.pix_to_face[1], torch.where(p2f >= 0, p2f + 4, p2f))
    torch.testing.assert_close(ragged.dists[1], second.dists[0])


def test_bad_inputs_raise():
    with pytest.raises(ShapeError):
        RasterSettings(faces_per_pixel=0)
    with pytest.raises(ShapeError):
        RasterSettings(blur_radius=-1.0)
    with pytest.raises(ShapeError):
        RasterSettings(znear=0.0)
    cams = pinhole(8, 8, 5.0, n=3)
    two = Meshes([torch.rand(3, 3), torch.rand(3, 3)], [torch.tensor([[0, 1, 2]])] * 2)
    with pytest.raises(ShapeError, match="2 meshes for 3 cameras"):
        rasterize_meshes(two, cams, RasterSettings())


def test_floor_through_the_near_plane_matches_ray_casting():
    # A 20 x 20 floor one unit below the camera (y down), reaching behind it: both faces are clipped.
    verts = torch.tensor([[-10.0, 1, -10], [10, 1, -10], [10, 1, 10], [-10, 1, 10]], dtype=torch.float64)
    cams = pinhole(64, 48, 40.0)
    frags = rasterize_meshes(Meshes([verts], [torch.tensor([[0, 1, 2], [0, 2, 3]])]), cams, RasterSettings(znear=0.1))
    d = pixel_rays(cams)
    depth = 1.0 / np.where(d[..., 1] > 0, d[..., 1], np.nan)
    hit = d * depth[..., None]
    with np.errstate(invalid="ignore"):
        expect = (d[..., 1] > 0) & (np.abs(hit[..., 0]) <= 10) & (hit[..., 2] <= 10) & (depth >= 0.1)
    mask = frags.mask[0].numpy()
    assert expect.sum() > 1000
    np.testing.assert_array_equal(mask, expect)
    np.testing.assert_allclose(frags.zbuf[0, ..., 0].numpy()[mask], depth[mask], rtol=1e-9)


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    t = np.clip(((points - a) @ (b - a)) / ((b - a) @ (b - a)), 0, 1)
    return np.linalg.norm(points - a - t[..., None] * (b - a), axis=-1)


def test_blur_band_lists_faces_within_radius_with_pixel_distances():
    cams = pinhole(40, 32, 30.0)
    frags = rasterize_meshes(triangle(TILTED), cams, RasterSettings(blur_radius=2.5))
    corners = (TILTED / TILTED[:, 2:] @ cams.K[0].numpy().T)[:, :2]
    vv, uu = np.meshgrid(np.arange(32) + 0.5, np.arange(40) + 0.5, indexing="ij")
    pts = np.stack([uu, vv], -1)
    dist = np.min([_segment_distance(pts, corners[i], corners[(i + 1) % 3]) for i in range(3)], 0)
    inside = ray_triangle(cams, TILTED)[2] >= 0
    signed = np.where(inside, -dist, dist)
    listed = frags.pix_to_face[0, ..., 0].numpy() == 0
    clear = np.abs(dist - 2.5) > 1e-6
    np.testing.assert_array_equal(listed[clear], (signed <= 2.5)[clear])
    assert (listed & ~inside).sum() > 40
    np.testing.assert_allclose(frags.dists[0, ..., 0].numpy()[listed], signed[listed], atol=1e-9)
    # Outside the face the depth is taken at the clipped barycentrics: within the corners' depth range.
    z = frags.zbuf[0, ..., 0].numpy()[listed & ~inside]
    assert (z >= TILTED[:, 2].min() - 1e-12).all() and (z <= TILTED[:, 2].max() + 1e-12).all()
