"""pc2img inputs: COLMAP round trip through pycolmap (text and binary), cameras.json, orbits, bad input."""

import json

import numpy as np
import pycolmap
import pytest
import torch

from render3d.io import save_pointcloud
from render3d.structures import Pointclouds
from tools.errors import ToolError
from tools.pc2img.inputs import load_cameras_json, load_colmap, load_input, orbit_cameras, resize_camera


def _rotation(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])


def _write_model(folder, binary: bool, n: int = 40):
    """A model whose images' keypoints are the exact projections of its points (two cameras, three images)."""
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 1, (n, 3))
    rec = pycolmap.Reconstruction()
    cams = [pycolmap.Camera(model="PINHOLE", width=80, height=60, params=[70.0, 72.0, 40.0, 30.0], camera_id=1),
            pycolmap.Camera(model="SIMPLE_RADIAL", width=64, height=64, params=[60.0, 32.0, 32.0, 0.0], camera_id=2)]
    for c in cams:
        rec.add_camera_with_trivial_rig(c)
    poses = []
    for image_id, (cam_id, yaw) in enumerate([(1, 0.0), (1, 0.4), (2, -0.5)], start=1):
        R, t = _rotation(yaw), np.array([0.1, -0.2, 5.0])
        K = np.asarray(rec.cameras[cam_id].calibration_matrix())
        cam_pts = pts @ R.T + t
        uv = cam_pts @ K.T
        kp = uv[:, :2] / uv[:, 2:]
        image = pycolmap.Image(name=f"{image_id}.png", keypoints=kp, camera_id=cam_id, image_id=image_id)
        rec.add_image_with_trivial_frame(image, pycolmap.Rigid3d(pycolmap.Rotation3d(R), t))
        poses.append((image_id, kp))
    for i, p in enumerate(pts):
        track = pycolmap.Track()
        for image_id, _ in poses:
            track.add_element(image_id, i)
        rec.add_point3D(p, track, np.array([200, 100, 50], dtype=np.uint8))
    folder.mkdir(parents=True, exist_ok=True)
    (rec.write_binary if binary else rec.write_text)(str(folder))
    return pts, poses


@pytest.mark.parametrize("binary", [False, True])
def test_colmap_round_trip_projects_points_onto_their_keypoints(tmp_path, binary):
    pts, poses = _write_model(tmp_path / "sparse" / "0", binary)
    scene = load_input(tmp_path)  # finds sparse/0
    assert scene.points.shape == (len(pts), 3) and len(scene.cameras) == 3
    torch.testing.assert_close(scene.colors[0], torch.tensor([200, 100, 50]) / 255.0)
    # points come back in the model's order of ids: match them by position
    order = np.argmin(((scene.points.numpy()[:, None] - pts[None]) ** 2).sum(-1), axis=1)
    assert np.abs(scene.points.numpy() - pts[order]).max() < 1e-5
    for cam, (_, kp) in zip(scene.cameras, poses, strict=True):
        uvz = cam.project(scene.points[None].float())[0]
        err = np.abs(uvz[:, :2].numpy() - kp[order]).max()
        assert err < 1e-3, err
    assert (scene.cameras[0].width, scene.cameras[0].height) == (80, 60)
    assert (scene.cameras[2].width, scene.cameras[2].height) == (64, 64)


def test_corrupt_colmap_models_are_refused(tmp_path):
    _write_model(tmp_path, binary=False)
    (tmp_path / "points3D.txt").write_text("1 nonsense here\n")
    with pytest.raises(ToolError, match="corrupt COLMAP model"):
        load_colmap(tmp_path)
    with pytest.raises(ToolError, match="no such file"):
        load_input(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ToolError, match="not a COLMAP sparse model"):
        load_colmap(empty)


def _view(**over):
    v = {"K": [[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]], "R": np.eye(3).tolist(), "t": [0, 0, 4.0],
         "width": 64, "height": 48}
    v.update(over)
    return v


def test_cameras_json_both_layouts(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([_view(), _view(t=[0, 0, 5.0])]))
    (tmp_path / "b.json").write_text(json.dumps({"views": [_view()]}))
    a, b = load_cameras_json(tmp_path / "a.json"), load_cameras_json(tmp_path / "b.json")
    assert len(a) == 2 and len(b) == 1 and a[1].t[0, 2] == 5.0 and (a[0].width, a[0].height) == (64, 48)
    half = resize_camera(a[0], 32)
    assert (half.width, half.height) == (32, 24) and half.K[0, 0, 0] == 25.0


@pytest.mark.parametrize("bad, match", [
    (_view(K=[[1, 0], [0, 1]]), "K must be"), ({"R": np.eye(3).tolist()}, "missing 'K'"),
    (_view(width=True), "width must be"), (_view(height=0), "height must be"),
    (_view(R=(2 * np.eye(3)).tolist()), "not a rotation"), (_view(t=[0, "x", 1]), "not a numeric"),
    (_view(t=[0, float("nan"), 1]), "NaN"),
])
def test_mismatched_cameras_json_names_the_view_and_field(tmp_path, bad, match):
    (tmp_path / "c.json").write_text(json.dumps([_view(), bad]))
    with pytest.raises(ToolError, match=f"view 1: .*{match}"):
        load_cameras_json(tmp_path / "c.json")
    (tmp_path / "d.json").write_text("{not json")
    with pytest.raises(ToolError, match="cannot read cameras"):
        load_cameras_json(tmp_path / "d.json")


def test_orbit_frames_the_cloud_and_clouds_load(tmp_path):
    pts = torch.rand(500, 3) * 2 + 5
    for cam in orbit_cameras(pts, 4, 30.0, 64):
        uvz = cam.project(pts[None])[0]
        assert (uvz[:, 2] > 0).all() and (uvz[:, :2] >= 0).all() and (uvz[:, :2] < 64).all()
    save_pointcloud(tmp_path / "c.ply", Pointclouds([pts], features=[torch.rand(500, 3)]))
    scene = load_input(tmp_path / "c.ply")
    assert scene.points.shape == (500, 3) and scene.colors.shape == (500, 3) and scene.cameras is None
    np.save(tmp_path / "nan.npy", np.full((10, 3), np.nan, dtype=np.float32))
    with pytest.raises(ToolError, match="NaN"):
        load_input(tmp_path / "nan.npy")
    (tmp_path / "x.obj").write_text("v 0 0 0\n")
    with pytest.raises(ToolError, match="give a point cloud"):
        load_input(tmp_path / "x.obj")
