"""Run cameras → viser poses (frustums look where the camera looks) and depth → world points."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import trimesh

from render3d.cameras import look_at, orbit
from tools.errors import ToolError
from tools.view.cameras import RunCamera, load_cameras, unproject_depth
from tools.view.detect import open_run


def _camera(R: torch.Tensor, t: torch.Tensor, size: int = 64, f: float = 80.0) -> RunCamera:
    K = np.array([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1.0]])
    return RunCamera(K, R.double().numpy(), t.double().numpy(), size, size)


@pytest.mark.parametrize(("azimuth", "elevation"), [(0.0, 0.0), (90.0, 20.0), (200.0, -35.0), (315.0, 60.0)])
def test_frustum_looks_at_the_target_with_image_up_toward_world_up(azimuth, elevation):
    import viser.transforms as vtf

    target = torch.tensor([0.3, -0.2, 0.5])
    R, t = orbit(target, 3.0, [azimuth], elevation)
    cam = _camera(R[0], t[0])
    wxyz, position = cam.viser_pose()
    rot = vtf.SO3(np.asarray(wxyz))
    look = rot.apply(np.array([0.0, 0.0, 1.0]))  # viser frustums look along their local +z (OpenCV)
    want = (target.numpy() - position) / np.linalg.norm(target.numpy() - position)
    np.testing.assert_allclose(look, want, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(position - target.numpy()), 3.0, rtol=1e-5)
    image_up = rot.apply(np.array([0.0, -1.0, 0.0]))  # OpenCV y points down the image
    assert image_up[1] > 0.4, image_up
    # The pose maps the target onto the optical axis: projecting it lands on the principal point.
    p = cam.K @ (cam.R @ target.numpy() + cam.t)
    np.testing.assert_allclose(p[:2] / p[2], [32.0, 32.0], atol=1e-4)


def test_look_at_camera_off_axis():
    import viser.transforms as vtf

    eye, at = torch.tensor([[2.0, 1.0, -1.5]]), torch.tensor([[0.0, 0.5, 0.0]])
    R, t = look_at(eye, at)
    wxyz, position = _camera(R[0], t[0]).viser_pose()
    np.testing.assert_allclose(position, eye[0].numpy(), atol=1e-5)
    look = vtf.SO3(np.asarray(wxyz)).apply(np.array([0.0, 0.0, 1.0]))
    np.testing.assert_allclose(look, (at - eye)[0].numpy() / float((at - eye).norm()), atol=1e-6)


def test_camera_files_in_every_layout(tmp_path):
    R, t = orbit(torch.zeros(3), 2.0, [0.0, 90.0], 10.0)
    entries = [{"K": [[50, 0, 16], [0, 50, 16], [0, 0, 1]], "R": R[i].tolist(), "t": t[i].tolist(),
                "width": 32, "height": 32} for i in range(2)]
    layouts = (("list.json", entries, 2), ("views.json", {"views": entries}, 2), ("one.json", entries[0], 1))
    for name, data, n in layouts:
        (tmp_path / name).write_text(json.dumps(data))
        cams = load_cameras(tmp_path / name)
        assert len(cams) == n and cams[0].width == 32
        np.testing.assert_allclose(cams[0].fov_y, 2 * np.arctan(16 / 50))
    bad = dict(entries[0], R=[[2, 0, 0], [0, 1, 0], [0, 0, 1]])
    (tmp_path / "bad.json").write_text(json.dumps([bad]))
    with pytest.raises(ToolError, match="not a rotation"):
        load_cameras(tmp_path / "bad.json")
    (tmp_path / "short.json").write_text(json.dumps([{"K": bad["K"]}]))
    with pytest.raises(ToolError, match="needs K, R, t"):
        load_cameras(tmp_path / "short.json")


def test_unproject_inverts_projection():
    R, t = orbit(torch.zeros(3), 2.5, [30.0], 15.0)
    cam = _camera(R[0], t[0], size=16)
    depth = np.zeros((16, 16), np.float32)
    depth[4:12, 5:11] = np.linspace(2.0, 2.6, 48).reshape(8, 6)
    pts, pix = unproject_depth(depth, cam)
    assert len(pts) == 48
    x = (cam.R @ pts.T.astype(np.float64)).T + cam.t
    uv = (cam.K @ x.T).T
    np.testing.assert_allclose(uv[:, :2] / uv[:, 2:], pix[:, ::-1] + 0.5, atol=1e-3)  # pixel centers at +0.5
    np.testing.assert_allclose(x[:, 2], depth[pix[:, 0], pix[:, 1]], rtol=1e-5)


def test_render_run_depth_cloud_lies_on_the_mesh(tmp_path):
    from tools.cli import main

    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.7)
    sphere.apply_translation([0.2, 0.1, -0.3])
    sphere.export(tmp_path / "sphere.obj")
    run = tmp_path / "run"
    assert main(["render", str(tmp_path / "sphere.obj"), "--out", str(run), "--size", "48", "--views", "3"]) == 0
    page = open_run(run)
    assert page.kind == "render" and len(page.cameras) == 3
    pts, colors = page.cloud()
    assert len(pts) > 1000 and colors.shape == (len(pts), 3)
    r = np.linalg.norm(pts - np.array([0.2, 0.1, -0.3]), axis=1)
    assert np.quantile(np.abs(r - 0.7), 0.99) < 0.02, "depth points are off the sphere: camera convention broken"
