"""Camera paths: orbit / turntable, dolly, keyframes; and the scene transforms."""

import math

import pytest
import torch

from scenes.errors import SceneFileError
from scenes.paths import dolly_path, interpolate_keys, keyframe_path, orbit_path
from scenes.transforms import euler_to_matrix, look_at_rotation, quaternion_to_matrix


def _centers(R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return -(R.transpose(1, 2) @ t[..., None])[..., 0]


def test_orbit_is_a_closed_turntable_at_constant_distance_and_elevation() -> None:
    R, t = orbit_path((0, 1, 0), 4.0, frames=8, elevation_deg=30)
    c = _centers(R, t) - torch.tensor([0.0, 1.0, 0.0])
    assert torch.allclose(c.norm(dim=1), torch.full((8,), 4.0), atol=1e-5)
    assert torch.allclose(c[:, 1], torch.full((8,), 4.0 * math.sin(math.radians(30))), atol=1e-5)
    az = torch.rad2deg(torch.atan2(c[:, 0], c[:, 2])) % 360
    assert torch.allclose(az, torch.arange(8.0) * 45, atol=1e-3)
    # Every camera looks at the center: it projects to the optical axis.
    p_cam = (R @ torch.tensor([0.0, 1.0, 0.0]) + t)
    assert torch.allclose(p_cam[:, :2], torch.zeros(8, 2), atol=1e-5) and (p_cam[:, 2] > 0).all()


def test_partial_orbit_includes_both_ends() -> None:
    R, t = orbit_path((0, 0, 0), 2.0, frames=3, sweep_deg=90)
    c = _centers(R, t)
    assert torch.allclose(c[-1], torch.tensor([2.0, 0, 0]), atol=1e-5)


def test_dolly_moves_linearly_and_keeps_the_target_centered() -> None:
    R, t = dolly_path((0, 0, 5), (0, 0, 1), at=(0, 0, 0), frames=5)
    assert torch.allclose(_centers(R, t)[:, 2], torch.tensor([5.0, 4, 3, 2, 1]), atol=1e-5)
    assert torch.allclose(t[:, 2], torch.tensor([5.0, 4, 3, 2, 1]), atol=1e-5)


def test_keyframes_pass_through_every_key() -> None:
    eyes = [(0.0, 0.0, 3.0), (3.0, 0.0, 0.0), (0.0, 0.0, -3.0)]
    for mode in ("linear", "catmull_rom"):
        R, t = keyframe_path(eyes, [(0, 0, 0)] * 3, frames=5, interpolation=mode)
        c = _centers(R, t)
        for k, f in ((0, 0), (1, 2), (2, 4)):
            assert torch.allclose(c[f], torch.tensor(eyes[k]), atol=1e-5), mode


def test_linear_and_spline_interpolation_values() -> None:
    v = torch.tensor([[0.0], [1.0], [4.0], [9.0]], dtype=torch.float64)
    times = torch.arange(4, dtype=torch.float64)
    q = torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64)
    assert interpolate_keys(v, times, q, "linear")[:, 0].tolist() == [0.5, 2.5, 6.5]
    # Uniform Catmull-Rom reproduces a quadratic exactly away from the ends.
    assert interpolate_keys(v, times, q, "catmull_rom")[1, 0].item() == pytest.approx(2.25)


def test_keyframe_errors() -> None:
    with pytest.raises(SceneFileError, match="strictly increasing"):
        keyframe_path([(0, 0, 3), (3, 0, 0)], [(0, 0, 0)] * 2, 4, times=[1.0, 1.0])
    with pytest.raises(SceneFileError, match="as many eyes"):
        keyframe_path([(0, 0, 3)], [(0, 0, 0)] * 2, 4)


def test_euler_quaternion_lookat_agree() -> None:
    r_e = euler_to_matrix((0, 90, 0))
    r_q = quaternion_to_matrix((math.cos(math.pi / 4), 0, math.sin(math.pi / 4), 0))
    assert torch.allclose(r_e, r_q, atol=1e-6)
    assert torch.allclose(r_e @ torch.tensor([0.0, 0, 1]), torch.tensor([1.0, 0, 0]), atol=1e-6)
    r_l = look_at_rotation((0, 0, 0), (5, 0, 0))
    assert torch.allclose(r_l, r_e, atol=1e-6)
    rx = euler_to_matrix((90, 0, 0))
    assert torch.allclose(rx @ torch.tensor([0.0, 1, 0]), torch.tensor([0.0, 0, 1]), atol=1e-6)
    with pytest.raises(SceneFileError):
        quaternion_to_matrix((0, 0, 0, 0))
