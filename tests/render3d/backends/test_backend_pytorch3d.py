"""pytorch3d adapter: analytic fragments in our convention (pixels, OpenCV camera, row 0 top)."""

import pytest
import torch

from render3d import Cameras, Meshes, Pointclouds, look_at
from render3d.backends import unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason("pytorch3d") is not None, reason="pytorch3d not installed")

from render3d.backends.pytorch3d import (  # noqa: E402
    BIN_BUFFER_BYTES,
    _bins,
    alpha_composite_pytorch3d,
    norm_weighted_composite_pytorch3d,
    pixels_to_ndc,
    rasterize_meshes_pytorch3d,
    rasterize_points_pytorch3d,
)

K = torch.tensor([[[50.0, 0, 32], [0, 50, 24], [0, 0, 1]]])


def _cams(n=1):
    return Cameras(K.expand(n, 3, 3), torch.eye(3).expand(n, 3, 3), torch.zeros(n, 3), 64, 48)


def _at_pixel(u, v, z):
    """Camera-space point whose projection through K is pixel (u, v) at depth z."""
    return [(u - 32) / 50 * z, (v - 24) / 50 * z, z]


def _triangle(z=(2.0, 2.0, 4.0)):
    v = torch.tensor([_at_pixel(10, 10, z[0]), _at_pixel(50, 10, z[1]), _at_pixel(10, 40, z[2])])
    return Meshes([v], [torch.tensor([[0, 1, 2]])])


def test_pixels_to_ndc_matches_pytorch3d_pixel_centers():
    from pytorch3d.renderer.mesh.rasterize_meshes import pix_to_non_square_ndc

    H, W = 48, 64
    uvz = torch.tensor([[0.5, 0.5, 1.0], [W - 0.5, H - 0.5, 1.0]])
    ndc = pixels_to_ndc(uvz, H, W)
    # pytorch3d indexes pixels from the right/bottom: our column c is its W - 1 - c.
    assert ndc[0, 0].item() == pytest.approx(pix_to_non_square_ndc(W - 1, W, H))
    assert ndc[0, 1].item() == pytest.approx(pix_to_non_square_ndc(H - 1, H, W))
    assert ndc[1, 0].item() == pytest.approx(pix_to_non_square_ndc(0, W, H))


def test_hard_triangle_coverage_bary_depth_and_dists():
    fr = rasterize_meshes_pytorch3d(_triangle(), _cams(), faces_per_pixel=2)
    mask = fr.pix_to_face[0, :, :, 0] >= 0
    rows, cols = mask.nonzero().unbind(1)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 39, 10, 48)
    # exact count: pixel centers (c + .5, r + .5) inside u >= 10, v >= 10, 3u + 4v <= 190
    r, c = torch.meshgrid(torch.arange(48) + 0.5, torch.arange(64) + 0.5, indexing="ij")
    expected = (c > 10) & (r > 10) & (3 * c + 4 * r < 190)
    assert torch.equal(mask, expected)
    assert (fr.pix_to_face[0, :, :, 1] == -1).all()
    # pixel center (12.5, 12.5): screen bary (0.854, 0.0625, 0.0833) → perspective-correct with z (2, 2, 4)
    s = torch.tensor([1 - 2.5 / 40 - 2.5 / 30, 2.5 / 40, 2.5 / 30])
    w = s / torch.tensor([2.0, 2.0, 4.0])
    assert torch.allclose(fr.bary[0, 12, 12, 0], w / w.sum(), atol=1e-5)
    assert fr.zbuf[0, 12, 12, 0].item() == pytest.approx(1 / w.sum().item(), abs=1e-4)
    assert fr.dists[0, 12, 12, 0].item() == pytest.approx(-2.5, abs=1e-4)
    assert fr.dists[0, 10, 10, 0].item() == pytest.approx(-0.5, abs=1e-4)
    assert fr.zbuf[0, 0, 0, 0].item() == -1 and fr.bary[0, 0, 0].abs().sum() == 0

    flat = rasterize_meshes_pytorch3d(_triangle(), _cams(), perspective_correct=False)
    assert torch.allclose(flat.bary[0, 12, 12, 0], s, atol=1e-5)
    assert flat.zbuf[0, 12, 12, 0].item() == pytest.approx(1 / w.sum().item(), abs=1e-4)  # still camera z


def test_blur_radius_is_in_pixels():
    hard = rasterize_meshes_pytorch3d(_triangle(), _cams())
    soft = rasterize_meshes_pytorch3d(_triangle(), _cams(), blur_radius=2.0, faces_per_pixel=1)
    # row 8 (center 8.5) is 1.5 px above the top edge v = 10: inside the blur band, outside the face
    assert hard.pix_to_face[0, 8, 20, 0] == -1 and soft.pix_to_face[0, 8, 20, 0] == 0
    assert soft.dists[0, 8, 20, 0].item() == pytest.approx(1.5, abs=1e-3)
    assert soft.pix_to_face[0, 7, 20, 0] == -1  # 2.5 px away


def test_backfaces_culled_by_winding():
    tri = _triangle()  # seen clockwise: its counter-clockwise normal points away from the camera
    assert (rasterize_meshes_pytorch3d(tri, _cams(), cull_backfaces=True).pix_to_face >= 0).sum() == 0
    flipped = Meshes(tri.verts_list(), [torch.tensor([[0, 2, 1]])])
    assert (rasterize_meshes_pytorch3d(flipped, _cams(), cull_backfaces=True).pix_to_face >= 0).sum() == 600


def test_asymmetric_shape_lands_where_opencv_says():
    # a square at the origin, a marker to world +X and a marker to world +Y
    sq = torch.tensor([[-0.3, -0.3, 0], [0.3, -0.3, 0], [0.3, 0.3, 0], [-0.3, 0.3, 0]])
    px = torch.tensor([[0.6, -0.1, 0], [0.9, 0.0, 0], [0.6, 0.1, 0]])
    py = torch.tensor([[-0.1, 0.6, 0], [0.1, 0.6, 0], [0.0, 0.9, 0]])
    verts = torch.cat([sq, px, py])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [4, 5, 6], [7, 8, 9]])
    R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    cams = Cameras(torch.tensor([[[60.0, 0, 32], [0, 60, 32], [0, 0, 1]]]), R, t, 64, 64)
    p2f = rasterize_meshes_pytorch3d(Meshes([verts], [faces]), cams).pix_to_face[0, :, :, 0]
    rx, cx = (p2f == 2).nonzero().float().mean(0)
    ry, cy = (p2f == 3).nonzero().float().mean(0)
    assert cx > 44 and abs(rx - 32) < 2  # +X is to the right
    assert ry < 20 and abs(cy - 32) < 2  # +Y is up (small row)


def test_batch_packed_face_indices_and_camera_mismatch():
    tri = _triangle()
    two = Meshes(tri.verts_list() * 2, tri.faces_list() * 2)
    fr = rasterize_meshes_pytorch3d(two, _cams(2))
    assert fr.pix_to_face[0, 20, 20, 0] == 0 and fr.pix_to_face[1, 20, 20, 0] == 1
    with pytest.raises(Exception, match="cameras"):
        rasterize_meshes_pytorch3d(two, _cams(1))


def test_zbuf_gradient_reaches_world_vertices():
    tri = _triangle(z=(2.0, 2.0, 2.0))
    v = tri.verts_packed().clone().requires_grad_(True)
    fr = rasterize_meshes_pytorch3d(Meshes([v], tri.faces_list()), _cams())
    covered = (fr.pix_to_face >= 0).sum().item()
    fr.zbuf.clamp(min=0).sum().backward()
    # moving the whole fronto-parallel triangle by dz moves every covered pixel's depth by dz
    assert v.grad[:, 2].sum().item() == pytest.approx(covered, rel=1e-3)


def test_points_radius_depth_and_near_plane():
    pts = torch.tensor([_at_pixel(20.5, 30.5, 2.0), _at_pixel(40.5, 10.5, 4.0), _at_pixel(5.5, 5.5, 5e-4)])
    clouds = Pointclouds([pts], radius=0.1)
    pf = rasterize_points_pytorch3d(clouds, _cams(), points_per_pixel=4, znear=1e-3)
    r_px = 0.1 * 50 / 2.0  # fx · radius / z
    assert pf.idx[0, 30, 20, 0] == 0 and pf.zbuf[0, 30, 20, 0].item() == pytest.approx(2.0)
    assert pf.dists[0, 30, 20, 0].item() == pytest.approx(0.0, abs=1e-5)
    assert pf.dists[0, 30, 21, 0].item() == pytest.approx(1 / r_px**2, rel=1e-4)
    assert (pf.idx[0, :, :, 0] == 0).sum().item() == 21  # pixel centers strictly within 2.5 px
    assert (pf.idx[0, 10, 40, 0] == 1) and (pf.idx == 2).sum() == 0
    ones = torch.ones(3, 2)
    alpha = alpha_composite_pytorch3d(pf, ones)
    assert alpha[0, 30, 21, 0].item() == pytest.approx(1 - 1 / r_px**2, rel=1e-4)
    assert norm_weighted_composite_pytorch3d(pf, ones)[0, 30, 21, 0].item() == pytest.approx(1.0, rel=1e-4)


def test_bins_never_overflow():
    assert _bins(torch.device("cpu"), 512, 512, 4, 10**6) == (0, 0)
    size, per_bin = _bins(torch.device("cuda"), 256, 256, 1, 5000)
    assert size == 16 and per_bin == 5000  # a bin can hold every face of the largest mesh
    assert _bins(torch.device("cuda"), 1024, 1024, 8, BIN_BUFFER_BYTES) == (0, 0)  # too big → naive


def test_points_min_radius_px_matches_the_reference():
    from render3d.points import PointsRasterSettings, rasterize_points

    pts = torch.tensor([_at_pixel(20.5, 30.5, 2.0), _at_pixel(40.2, 10.7, 4.0)])
    clouds = Pointclouds([pts], radius=1e-4)  # 0.0025 px on screen: covers no pixel center
    settings = PointsRasterSettings(points_per_pixel=2, min_radius_px=1.5)
    from render3d.backends.pytorch3d import Pytorch3DBackend

    pf = Pytorch3DBackend().rasterize_points(clouds, _cams(), settings)
    ref = rasterize_points(clouds, _cams(), settings)
    assert (pf.idx[0, :, :, 0] == 0).sum().item() == 9  # pixel centers strictly within 1.5 px of (20.5, 30.5)
    assert torch.equal(pf.idx, ref.idx)
    assert torch.allclose(pf.dists, ref.dists, atol=1e-4)
    bare = rasterize_points_pytorch3d(clouds, _cams(), points_per_pixel=2)
    # without the minimum the sub-pixel disks cover only the pixel center the first point sits on
    assert (bare.idx >= 0).nonzero().tolist() == [[0, 30, 20, 0]]


def test_oriented_points_are_declared_unsupported_and_refused():
    from render3d.backends import backend_info, select_backend
    from render3d.backends.capabilities import Request
    from render3d.errors import BackendUnavailable
    from render3d.points import PointsRasterizer, PointsRasterSettings

    clouds = Pointclouds([torch.tensor([_at_pixel(20.5, 30.5, 2.0)])], normals=[torch.tensor([[0.0, 0, -1]])],
                         radius=0.1)
    oriented = PointsRasterSettings.hole_free()
    caps = backend_info("pytorch3d").capabilities
    assert not caps.oriented_points and "camera-facing" in caps.summary()
    assert "camera-facing" in caps.missing(Request.for_points(oriented))
    assert caps.missing(Request.for_points(PointsRasterSettings.hole_free(oriented=False))) is None
    with pytest.raises(BackendUnavailable, match="camera-facing point disks only"):
        PointsRasterizer(oriented, backend="pytorch3d")(clouds, _cams())
    from render3d.backends.pytorch3d import Pytorch3DBackend

    with pytest.raises(BackendUnavailable, match="oriented=True"):
        Pytorch3DBackend().rasterize_points(clouds, _cams(), oriented)
    assert select_backend(Request.for_points(oriented, "cuda"), "auto").name == "torch"  # auto skips it
    out = Pytorch3DBackend().render_points(clouds, _cams())  # the render task splats camera-facing
    assert out.alpha[0, 30, 20].item() > 0.99
