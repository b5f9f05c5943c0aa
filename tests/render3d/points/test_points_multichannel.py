"""Multi-channel splat: known layouts (two layers, one point, coincident points), channel layout, gradients."""

import pytest
import torch

from render3d import Cameras, ShapeError, intrinsics_from_fov, look_at
from render3d.points.multichannel import (
    MultiChannelSettings,
    rasterize_multichannel,
    shade_multichannel,
    splat_multichannel,
)


def _camera(size: int = 32, distance: float = 3.0) -> Cameras:
    R, t = look_at(torch.tensor([[0.0, 0.0, distance]]), torch.zeros(1, 3))
    return Cameras(intrinsics_from_fov(60, size, size)[None], R, t, size, size)


def _layers(n: int = 12, back_z: float = -1.0):
    """A red square sheet at z=0 (facing the camera) and a green one behind it at `back_z`, same grid."""
    g = torch.linspace(-0.6, 0.6, n)
    yy, xx = torch.meshgrid(g, g, indexing="ij")
    front = torch.stack([xx.reshape(-1), yy.reshape(-1), torch.zeros(n * n)], 1)
    back = front + torch.tensor([0.0, 0.0, back_z])
    pts = torch.cat([front, back])
    colors = torch.cat([torch.tensor([[1.0, 0, 0]]).expand(n * n, 3), torch.tensor([[0.0, 1, 0]]).expand(n * n, 3)])
    normals = torch.tensor([[0.0, 0.0, 1.0]]).expand(2 * n * n, 3)
    return pts, colors, normals, float(g[1] - g[0])


def test_two_layers_front_surface_wins_and_back_is_in_the_knn_depths():
    pts, colors, normals, spacing = _layers()
    cams = _camera()
    buf = splat_multichannel(pts, colors, cams, torch.full((pts.shape[0],), spacing), normals)
    center = (0, 16, 16)
    assert buf.mask[center]
    assert buf.depth[center].item() == pytest.approx(3.0, abs=1e-4)
    torch.testing.assert_close(buf.features[center], torch.tensor([1.0, 0.0, 0.0]))
    # the green layer 1 unit behind is kept among the K nearest, at depth 4
    z = buf.knn_depth[center]
    assert (z - 4.0).abs().min() < 1e-3 and (z[z > 0] >= 3.0 - 1e-4).all()
    assert torch.all(z[1:][z[1:] > 0] >= z[:-1][z[1:] > 0])  # near → far
    # a normal facing the camera is -z in the camera frame (OpenCV: z forward)
    torch.testing.assert_close(buf.normals[center], torch.tensor([0.0, 0.0, -1.0]), atol=1e-5, rtol=0)
    # every point of the back layer is behind every point of the front
    assert buf.nearest[center].item() < 144


def test_channels_layout_and_values():
    pts, colors, normals, spacing = _layers()
    settings = MultiChannelSettings(points_per_pixel=4)
    buf = splat_multichannel(pts, colors, _camera(), torch.full((pts.shape[0],), spacing), normals, settings)
    x = buf.channels()
    assert x.shape == (1, MultiChannelSettings.num_channels(3, 4), 32, 32) == (1, 15, 32, 32)
    occ = x[0, 0]
    assert set(occ.unique().tolist()) <= {0.0, 1.0}
    assert (occ == buf.mask[0].float()).all()
    empty = ~buf.mask[0]
    assert empty.any() and (x[0, 1:12][:, empty] == 0).all()  # everything but the gaps is 0 off the cloud
    assert (x[0, 12:][:, empty] == 1).all()  # gaps say "nothing behind"
    torch.testing.assert_close(x[0, 2:5, 16, 16], torch.tensor([1.0, -1.0, -1.0]))  # red as 2f - 1
    assert x[0, 8, 16, 16] == 1.0  # has-normals flag
    # the back layer is 1 unit behind at z_ref 3: gap/z_ref·10 = 3.3 → clamped to 1; front neighbours give < 1
    assert x[0, 12:, 16, 16].min() < 1.0


def test_single_point_with_zero_radius_still_covers_its_pixel():
    cams = _camera(size=16)
    buf = splat_multichannel(torch.zeros(1, 3), torch.ones(1, 3), cams, torch.zeros(1))
    assert buf.mask.sum() >= 1 and buf.mask[0, 8, 8]
    assert buf.radius_px[0, 8, 8].item() == pytest.approx(MultiChannelSettings().min_radius_px, rel=1e-4)
    assert not buf.has_normals and (buf.normals == 0).all()


def test_coincident_points_blend_equally_within_the_front_band():
    cams = _camera(size=16)
    pts = torch.zeros(2, 3)
    feats = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    buf = splat_multichannel(pts, feats, cams, torch.full((2,), 0.2))
    torch.testing.assert_close(buf.features[0, 8, 8], torch.tensor([0.5, 0.0, 0.5]))
    assert buf.density[0, 8, 8].item() == pytest.approx(2 / 8)


def test_fragments_are_reusable_and_match_the_one_call():
    pts, colors, normals, spacing = _layers(8)
    cams = Cameras(*(torch.cat([x, x]) for x in (_camera().K, _camera().R, _camera().t)), 32, 32)
    radius = torch.full((pts.shape[0],), spacing)
    one = splat_multichannel(pts, colors, cams, radius, normals)
    frags = rasterize_multichannel(pts, cams, radius)
    two = shade_multichannel(frags, colors, normals)
    assert torch.equal(one.channels(), two.channels())
    other = shade_multichannel(frags, 1 - colors, normals)
    torch.testing.assert_close(other.features[one.mask], 1 - one.features[one.mask])


def test_gradients_reach_the_features_of_splatted_points_only():
    pts, colors, _, spacing = _layers(8, back_z=-0.01)
    far = torch.tensor([[50.0, 50.0, 0.0]])  # outside the view
    pts = torch.cat([pts, far])
    feats = torch.cat([colors, torch.ones(1, 3)]).requires_grad_(True)
    buf = splat_multichannel(pts, feats, _camera(), torch.full((pts.shape[0],), spacing))
    buf.channels()[:, 2:5].sum().backward()
    assert feats.grad[:-1].abs().sum() > 0
    assert feats.grad[-1].abs().sum() == 0


def test_bad_inputs():
    cams = _camera()
    with pytest.raises(ShapeError):
        splat_multichannel(torch.zeros(3, 2), torch.zeros(3, 3), cams, torch.ones(3))
    with pytest.raises(ShapeError):
        splat_multichannel(torch.zeros(3, 3), torch.zeros(2, 3), cams, torch.ones(3))
    with pytest.raises(ShapeError):
        splat_multichannel(torch.zeros(3, 3), torch.zeros(3, 3), cams, torch.ones(2))
    with pytest.raises(ShapeError):
        MultiChannelSettings(points_per_pixel=1)
    with pytest.raises(ShapeError):
        MultiChannelSettings(min_radius_px=float("nan"))
