"""`neurender invgraphics` and `neurender train inverse-graphics` end to end, and their bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gan2d.nets.invgraphics import InverseGraphicsConfig
from render3d.io import load_mesh, save_png
from tools.cli import main
from tools.invgraphics.model import InverseGraphicsModel, ModelConfig
from tools.invgraphics.weights import DEFAULT_WEIGHTS, load_model, save_model

pytestmark = pytest.mark.usefixtures("one_thread")


def _photo(path: Path, size: int = 48) -> Path:
    img = torch.full((size, size, 4), 1.0)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    disk = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < (size / 4) ** 2
    img[..., :3][disk] = torch.tensor([0.8, 0.3, 0.2])
    img[..., 3] = disk.float()
    save_png(path, img)
    return path


def _tiny_weights(path: Path) -> Path:
    net = InverseGraphicsConfig(num_verts=162, resolution=16, base_channels=8, max_channels=16, shape_dim=8,
                                texture_dim=8, hidden=16, texture_size=(8, 16), texture_channels=16)
    save_model(path, InverseGraphicsModel(ModelConfig(net, level=2)), {"scores": {"note": "untrained"}})
    return path


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_invgraphics_writes_mesh_views_and_prediction(tmp_path: Path, capsys) -> None:
    photo, weights = _photo(tmp_path / "disk.png"), _tiny_weights(tmp_path / "w.safetensors")
    out = tmp_path / "run"
    rc, stdout, err = _run(["invgraphics", str(photo), "--weights", str(weights), "--out", str(out),
                            "--yaw=-30:30:3", "--size", "32"], capsys)
    assert rc == 0, err
    assert "camera yaw" in stdout
    pred = json.loads((out / "prediction.json").read_text())
    assert pred["mask_source"] and pred["yaws"] == [-30.0, 0.0, 30.0] and pred["verts"] == 162
    mesh = load_mesh(out / "mesh.ply")
    assert mesh.verts_packed().shape == (162, 3)
    from PIL import Image

    with Image.open(out / "sweep_mesh.png") as im:
        assert im.size == (3 * 32, 32)
    with Image.open(out / "input.png") as im:
        assert im.size == (2 * 16, 16)


def test_shipped_weights_predict_a_photo_end_to_end(tmp_path: Path, capsys) -> None:
    photo = _photo(tmp_path / "disk.png", 64)
    out = tmp_path / "run"
    rc, _, err = _run(["invgraphics", str(photo), "--out", str(out), "--yaw", "0", "--size", "64", "--fov", "30"],
                      capsys)
    assert rc == 0, err
    _, extra = load_model(DEFAULT_WEIGHTS)
    assert extra["scores"]["heldout"]["input_iou"] > 0.8
    # mesh.ply is in the photo's camera frame: seen from that camera it covers the disk.
    from render3d.cameras import intrinsics_from_fov
    from tools.invgraphics.evaluate import hard_iou
    from tools.reconstruct.render import view_camera

    cam = json.loads((out / "prediction.json").read_text())["camera"]
    mesh = load_mesh(out / "mesh.ply")
    camera = view_camera(intrinsics_from_fov(30, 64, 64), 64, 64, cam["distance"], cam["pitch"])
    yy, xx = torch.meshgrid(torch.arange(64) + 0.5, torch.arange(64) + 0.5, indexing="ij")
    disk = (((yy - 32) ** 2 + (xx - 32) ** 2) < 16**2).float()
    assert float(hard_iou(mesh.verts_packed(), mesh.faces_packed(), camera, disk[None])[0]) > 0.8


@pytest.mark.parametrize(("case", "pattern"), [
    ("missing photo", "no such image file"),
    ("corrupt weights", "not usable inverse-graphics weights"),
    ("no object", "no object|mask"),
    ("bad yaw", "--yaw"),
    ("bad size", "--size"),
])
def test_invgraphics_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, capsys, case: str,
                                                                        pattern: str) -> None:
    photo, weights = _photo(tmp_path / "disk.png"), _tiny_weights(tmp_path / "w.safetensors")
    out = tmp_path / "run"
    argv = ["invgraphics", str(photo), "--weights", str(weights), "--out", str(out)]
    if case == "missing photo":
        argv[1] = str(tmp_path / "nope.png")
    elif case == "corrupt weights":
        bad = tmp_path / "bad.safetensors"
        bad.write_bytes(b"\x00" * 64)
        argv[3] = str(bad)
    elif case == "no object":
        save_png(photo, torch.ones(48, 48, 3))
    elif case == "bad yaw":
        argv.append("--yaw=left")
    else:
        argv += ["--size", "5"]
    rc, _, err = _run(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err
    import re

    assert re.search(pattern, lines[0]), lines[0]
    assert not out.exists()


def test_train_inverse_graphics_refuses_bad_data_before_writing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    rc, _, err = _run(["train", "inverse-graphics", "--out", str(out)], capsys)
    assert rc == 2 and "--data" in err
    rc, _, err = _run(["train", "inverse-graphics", "--out", str(out), "--data", str(tmp_path)], capsys)
    assert rc == 2 and "not a multi-view dataset" in err
    rc, _, err = _run(["train", "inverse-graphics", "--out", str(out), "--resume"], capsys)
    assert rc == 2 and "no readable inverse-graphics run" in err
    assert not (out / "checkpoints").exists()


def test_reconstruct_learned_starts_from_the_shipped_encoder(tmp_path: Path, capsys) -> None:
    photo = _photo(tmp_path / "disk.png", 64)
    out = tmp_path / "run"
    rc, _, err = _run(["reconstruct", str(photo), "--learned", "--steps", "2", "--size", "64", "--fov", "30",
                       "--out", str(out)], capsys)
    assert rc == 0, err
    assert "inverse-graphics encoder's prediction" in err
    # After two fit steps the input view is still essentially the encoder's prediction, placed in the photo.
    assert json.loads((out / "metrics.json").read_text())["input_iou"] > 0.8


def test_reconstruct_learned_says_when_it_keeps_only_the_encoders_camera(tmp_path: Path, capsys, monkeypatch) -> None:
    from tools.invgraphics import initialize

    choose = initialize.choose_start
    monkeypatch.setattr(initialize, "choose_start", lambda init, mask, K: choose(init, mask, K, min_iou=1.01))
    photo = _photo(tmp_path / "disk.png", 64)
    rc, _, err = _run(["reconstruct", str(photo), "--learned", "--steps", "2", "--size", "64", "--fov", "30",
                       "--out", str(tmp_path / "run")], capsys)
    assert rc == 0, err
    assert "fit's own template seen from the encoder's camera" in err and "encoder's prediction" not in err
