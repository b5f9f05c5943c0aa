import math

import pytest
import torch

from render3d.cameras import Cameras, intrinsics_from_fov, look_at, orbit, orbit_eyes
from render3d.errors import ShapeError


def _cam(eye=(0.0, 0.0, 3.0), size=64, fov=60.0, ortho=False):
    R, t = look_at(torch.tensor([eye]), torch.zeros(1, 3))
    ortho_K = torch.tensor([[[20.0, 0, 32], [0, 20, 32], [0, 0, 1]]])
    K = ortho_K if ortho else intrinsics_from_fov(fov, size, size)[None]
    return Cameras(K, R, t, size, size, orthographic=ortho)


def test_look_at_axes_follow_opencv():
    R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    # Camera on +Z looking at the origin: x right = world +X, y down = world -Y, z forward = world -Z.
    torch.testing.assert_close(R[0], torch.tensor([[1.0, 0, 0], [0, -1, 0], [0, 0, -1]]))
    torch.testing.assert_close(t[0], torch.tensor([0.0, 0, 3]))
    assert torch.det(R[0]) == pytest.approx(1.0)


def test_project_orientation_and_depth():
    cam = _cam()
    uvz = cam.project(torch.tensor([[[0.0, 0, 0], [0.5, 0, 0], [0, 0.5, 0]]]))[0]
    f = 32 / math.tan(math.radians(30))
    assert uvz[0].tolist() == pytest.approx([32, 32, 3])
    assert uvz[1, 0].item() == pytest.approx(32 + f * 0.5 / 3, rel=1e-5)  # +X lands right
    assert uvz[2, 1].item() == pytest.approx(32 - f * 0.5 / 3, rel=1e-5)  # +Y (up) lands on a smaller row


@pytest.mark.parametrize("ortho", [False, True])
def test_unproject_inverts_project(ortho):
    cam = _cam(eye=(1.0, 2.0, 3.0), ortho=ortho)
    pts = torch.randn(1, 50, 3) * 0.3
    torch.testing.assert_close(cam.unproject(cam.project(pts)), pts, atol=1e-5, rtol=1e-5)


def test_centers_and_rays_point_at_target():
    cam = _cam(eye=(1.0, 2.0, 3.0))
    torch.testing.assert_close(cam.centers(), torch.tensor([[1.0, 2.0, 3.0]]))
    origins, dirs = cam.pixel_rays()
    torch.testing.assert_close(origins[0, 5, 7], cam.centers()[0])
    # The principal point ray (between the 4 center pixels) points from the eye to the target.
    d = dirs[0, 31:33, 31:33].mean((0, 1))
    torch.testing.assert_close(torch.nn.functional.normalize(d, dim=0),
                               -torch.nn.functional.normalize(torch.tensor([1.0, 2.0, 3.0]), dim=0), atol=2e-3, rtol=0)


def test_orbit_positions_and_look_direction():
    eyes = orbit_eyes((0, 0, 0), 2.0, [0, 90], 0.0)
    torch.testing.assert_close(eyes, torch.tensor([[0.0, 0, 2], [2, 0, 0]]), atol=1e-6, rtol=0)
    R, t = orbit((1, 0, 0), 2.0, [0, 90, 180], 30.0)
    cams = Cameras(intrinsics_from_fov(50, 32, 32)[None].expand(3, 3, 3), R, t, 32, 32)
    centre = cams.project(torch.tensor([[1.0, 0, 0]]).expand(3, 1, 3))
    torch.testing.assert_close(centre[:, 0], torch.tensor([[16.0, 16, 2]] * 3), atol=1e-4, rtol=0)


def test_bad_inputs_raise():
    with pytest.raises(ShapeError):
        Cameras(torch.eye(3)[None], torch.eye(3)[None], torch.zeros(1, 3), 0, 10)
    with pytest.raises(ShapeError):
        Cameras(torch.eye(3), torch.eye(3)[None], torch.zeros(1, 3), 10, 10)
    with pytest.raises(ShapeError):
        look_at(torch.tensor([[0.0, 3, 0]]), torch.zeros(1, 3))  # looking straight down the up axis
    with pytest.raises(ShapeError):
        intrinsics_from_fov(180, 10, 10)
