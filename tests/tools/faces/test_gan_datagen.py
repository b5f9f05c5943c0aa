"""`datagen --from-gan` writes the data engine's layout, and its cameras round-trip through render3d."""

import dataclasses
import json
import math

import pytest
import torch

from scenes.assets import HeadParams
from scenes.build import build_scene
from scenes.multiview import MultiviewDataset, read_cameras
from scenes.render import render_built
from scenes.samples import RIGS, pose_cameras
from tests.tools.faces.toy_faces import ToyFaceGenerator, toy_reader
from tools.errors import ToolError
from tools.faces.bundle import FacesModels
from tools.faces.control import calibrate, fit_directions
from tools.faces.gan_datagen import GanDatagenConfig, generate_from_gan, sample_plan
from tools.faces.headset import head_scene

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def toy_models():
    G = ToyFaceGenerator()
    control = fit_directions(G, toy_reader, n=400)
    calibrate(G, toy_reader, control, "direction", identities=4, num_steps=31)
    return FacesModels(G, None, control, "toy", {})


def test_layout_poses_and_resume(tmp_path, toy_models):
    cfg = GanDatagenConfig(identities=3, views=4, size=16, seed=5, yaw=(-30.0, 30.0), generator="toy")
    warnings = []
    index = generate_from_gan(cfg, toy_models, toy_reader, tmp_path / "ds", progress=False, warn=warnings.append)
    assert index["format"] == "neurender-multiview/1" and index["complete"] and index["count"] == 3
    assert warnings == [] and index["settings"]["yaw_used"] == [-30.0, 30.0]  # inside the toy's calibrated ±39.6°
    ds = MultiviewDataset(tmp_path / "ds")
    assert len(ds) == 3
    s = ds[1]
    assert s.images.shape == (4, 16, 16, 3) and s.masks.shape == (4, 16, 16) and len(s.cameras) == 4
    _, planned = sample_plan(cfg, 1)
    assert s.poses[:, :2].double().numpy() == pytest.approx(planned, abs=1e-4)
    yaws = sorted(planned[:, 0])
    assert all(-30 + 15 * i <= y <= -30 + 15 * (i + 1) for i, y in enumerate(yaws))  # stratified over the range
    views = s.params["views"]
    assert all(abs(v["yaw_measured_deg"] - v["yaw_deg"]) < 0.6 for v in views)  # the closed loop hit the request
    assert (tmp_path / "ds" / "images" / "000002_03.png").is_file()
    stamp = (tmp_path / "ds" / "samples" / "000000" / "image_000.png").stat().st_mtime_ns
    generate_from_gan(GanDatagenConfig(**{**cfg.__dict__, "identities": 4}), toy_models, toy_reader, tmp_path / "ds",
                      progress=False)
    assert (tmp_path / "ds" / "samples" / "000000" / "image_000.png").stat().st_mtime_ns == stamp
    assert MultiviewDataset(tmp_path / "ds").__len__() == 4
    with pytest.raises(ToolError, match="other settings"):
        generate_from_gan(GanDatagenConfig(**{**cfg.__dict__, "views": 2}), toy_models, toy_reader, tmp_path / "ds",
                          progress=False)


def test_requests_are_cut_to_the_calibrated_range(tmp_path, toy_models):
    cfg = GanDatagenConfig(identities=2, views=5, size=16, seed=1, yaw=(-60.0, 20.0), pitch=(-15.0, 15.0),
                           generator="toy")
    warnings = []
    index = generate_from_gan(cfg, toy_models, toy_reader, tmp_path / "ds", progress=False, warn=warnings.append)
    yaw_lo, _ = toy_models.control.calibration("direction", "yaw").range
    assert len(warnings) == 1 and "--yaw -60:20 cut to the calibrated range" in warnings[0]
    assert index["settings"]["yaw_used"] == [pytest.approx(yaw_lo), 20.0]
    assert index["settings"]["pitch_used"] == [-15.0, 15.0]
    for sample in MultiviewDataset(tmp_path / "ds"):  # every camera is a pose the generator reached
        for v in sample.params["views"]:
            assert yaw_lo - 1e-6 <= v["yaw_deg"] <= 20.0 and abs(v["yaw_measured_deg"] - v["yaw_deg"]) < 0.6
    with pytest.raises(ToolError, match="outside this generator's calibrated yaw range"):
        generate_from_gan(dataclasses.replace(cfg, yaw=(50.0, 70.0)), toy_models, toy_reader, tmp_path / "far",
                          progress=False)


def test_cameras_round_trip_through_render3d(tmp_path, toy_models):
    cfg = GanDatagenConfig(identities=1, views=3, size=32, seed=2, generator="toy")
    generate_from_gan(cfg, toy_models, toy_reader, tmp_path / "ds", progress=False)
    cams = read_cameras(tmp_path / "ds" / "samples" / "000000" / "cameras.json")
    poses = json.loads((tmp_path / "ds" / "samples" / "000000" / "params.json").read_text())["views"]
    engine = pose_cameras("heads", [(v["yaw_deg"], v["pitch_deg"], 0.0) for v in poses], 32)
    assert torch.allclose(cams.K, engine.K) and torch.allclose(cams.R, engine.R, atol=1e-6)
    rig = RIGS["heads"]
    for c, v in zip(cams.centers(), poses, strict=True):  # each camera sits where its label says
        d = c - torch.tensor(rig.center)
        assert float(d.norm()) == pytest.approx(rig.distance, rel=1e-5)
        assert math.degrees(math.atan2(d[0], d[2])) == pytest.approx(v["yaw_deg"], abs=1e-3)
        assert math.degrees(math.asin(d[1] / d.norm())) == pytest.approx(v["pitch_deg"], abs=1e-3)
    # render3d renders the data engine's head with the stored cameras exactly as with its own rig cameras.
    head = HeadParams(seed=3, segments=24, rings=18, texture_size=32)
    spec = head_scene(head, [(v["yaw_deg"], v["pitch_deg"]) for v in poses], (0.0, 30.0, 0.7, 0.35), 32, 1)
    built = build_scene(spec)
    own = render_built(built, spec)
    stored = render_built(dataclasses.replace(built, cameras=cams), spec)
    assert torch.allclose(own.rgb, stored.rgb, atol=2e-3)
    assert float(own.mask.mean()) > 0.1


def test_bad_settings_are_refused(toy_models, tmp_path):
    for bad in ({"identities": 0}, {"views": 0}, {"size": 8}, {"method": "warp"}, {"yaw": (10.0, -10.0)},
                {"pitch": (-95.0, 0.0)}):
        with pytest.raises(ToolError):
            GanDatagenConfig(**{"identities": 1, "views": 1, **bad})
    no_control = FacesModels(toy_models.G, None, None, "toy", {})
    with pytest.raises(ToolError, match="no pose control"):
        generate_from_gan(GanDatagenConfig(1, 1), no_control, toy_reader, tmp_path / "x", progress=False)
