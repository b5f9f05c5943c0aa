"""`neurender pc2img`: end to end with the shipped weights (better than the naive splat), the per-scene fit,
learned visibility on a two-layer cloud, and bad input (one line, exit 2, nothing written)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from render3d import Cameras, intrinsics_from_fov, look_at
from render3d.io import save_png, save_pointcloud
from render3d.structures import Pointclouds
from tools.cli import main
from tools.pc2img.pipeline import prepare_cloud, render_views
from tools.pc2img.trainset import load_sample, write_split
from tools.pc2img.weights import load_weights


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) / 255 - b.astype(np.float64) / 255) ** 2)))


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A held-out data-engine sample as a user would bring it: a 20% cloud (PLY), photos and cameras.json."""
    root = tmp_path_factory.mktemp("pc2img-cli")
    s = load_sample(write_split(root / "data", "shapes", 1, 3, 64, seed=11, progress=False)[0])
    keep = np.random.default_rng(0).choice(len(s.points), len(s.points) // 5, replace=False)
    save_pointcloud(root / "cloud.ply", Pointclouds([torch.from_numpy(s.points[keep])],
                                                    features=[torch.from_numpy(s.colors[keep].astype(np.float32))],
                                                    normals=[torch.from_numpy(s.normals[keep].astype(np.float32))]))
    views = root / "views"
    views.mkdir()
    cams = [{"K": s.K[v].tolist(), "R": s.R[v].tolist(), "t": s.t[v].tolist(), "width": 64, "height": 64}
            for v in range(3)]
    (views / "cameras.json").write_text(json.dumps(cams))
    for v in range(3):
        save_png(views / f"image_{v:03d}.png", s.rgb[v])
    return root, s


def test_render_end_to_end_beats_the_naive_splat(scene, tmp_path):
    root, s = scene
    out = tmp_path / "out"
    assert main(["pc2img", str(root / "cloud.ply"), "--cameras", str(root / "views" / "cameras.json"),
                 "--out", str(out)]) == 0
    for v in range(3):
        for name in ("image", "splat", "visibility", "coarse"):
            img = np.asarray(Image.open(out / f"{name}_{v:03d}.png"))
            assert img.shape[:2] == (64, 64), name
    assert (out / "sheet.png").is_file()
    cams = json.loads((out / "cameras.json").read_text())
    assert len(cams) == 3 and cams[0]["K"] == s.K[0].tolist()
    config = json.loads((out / "config.json").read_text())
    assert config["points"] == len(s.points) // 5 and config["cameras_from"].startswith("cameras.json")
    learned = np.mean([_psnr(np.asarray(Image.open(out / f"image_{v:03d}.png")), s.rgb[v]) for v in range(3)])
    naive = np.mean([_psnr(np.asarray(Image.open(out / f"splat_{v:03d}.png")), s.rgb[v]) for v in range(3)])
    assert learned > naive + 3.0, (learned, naive)  # shipped weights: 23.8 vs 18.9 dB


def test_orbit_and_background(scene, tmp_path):
    root, _ = scene
    out = tmp_path / "orbit"
    assert main(["pc2img", str(root / "cloud.ply"), "--views", "2", "--size", "48", "--background", "0,0,0",
                 "--out", str(out)]) == 0
    img = np.asarray(Image.open(out / "image_001.png"))
    assert img.shape == (48, 48, 3) and img[0, 0].max() < 10  # corners show the black background


def test_fit_then_render_the_fitted_scene(scene, tmp_path):
    root, _ = scene
    model_dir = tmp_path / "scene"
    assert main(["pc2img", "fit", str(root / "cloud.ply"), "--views", str(root / "views"), "--out", str(model_dir),
                 "--seconds", "3", "--size", "64", "--holdout", "2"]) == 0
    report = json.loads((model_dir / "fit.json").read_text())
    assert report["steps"] > 0 and report["holdout_views"] == [2] and report["train_views"] == [0, 1]
    assert np.isfinite(report["holdout"]["fitted_mean"])
    out = tmp_path / "novel"
    assert main(["pc2img", str(model_dir), "--cameras", str(root / "views" / "cameras.json"), "--out", str(out)]) == 0
    assert (out / "image_002.png").is_file()
    assert json.loads((out / "config.json").read_text())["weights_info"] == {"fitted_scene": str(model_dir)}


def test_learned_visibility_on_two_layers():
    """A sparse front sheet over a dense back sheet: back points seen through the front's holes are hidden.

    The shipped stage ranks them below the front's pixels (AUC 0.87) and calls about half of them hidden at
    0.5 (balanced accuracy 0.71): single-pixel leaks are its weak spot (held-out hidden pixels found:
    MODEL_CARD.md). Unweighted training (everything visible) scored AUC 0.57, balanced accuracy 0.5.
    """
    model, _ = load_weights()
    g = torch.Generator().manual_seed(0)
    front = torch.rand(1500, 2, generator=g) * 1.6 - 0.8
    back = torch.rand(6000, 2, generator=g) * 1.6 - 0.8
    pts = torch.cat([torch.cat([front, torch.zeros(1500, 1)], 1), torch.cat([back, torch.full((6000, 1), -0.8)], 1)])
    red, blue = torch.tensor([[0.9, 0.2, 0.2]]), torch.tensor([[0.2, 0.2, 0.9]])
    colors = torch.cat([red.expand(1500, 3), blue.expand(6000, 3)])
    cloud = prepare_cloud(pts, colors, torch.tensor([[0.0, 0.0, 1.0]]).expand(7500, 3), model.config.splat)
    R, t = look_at(torch.tensor([[0.0, 0.0, 3.0]]), torch.zeros(1, 3))
    cam = Cameras(intrinsics_from_fov(30, 64, 64)[None], R, t, 64, 64)
    with torch.no_grad():
        out = render_views(model, cloud, cam, torch.ones(3))
    mask = out.buffers.mask[0]
    nearest_is_back = out.buffers.nearest[0] >= 1500
    inner = torch.zeros_like(mask)
    inner[16:48, 16:48] = True  # well inside the front sheet's outline: every back point there is hidden
    leak = mask & inner & nearest_is_back
    seen = mask & inner & ~nearest_is_back
    assert leak.sum() > 20  # the splat does let the back layer through
    hidden_v, seen_v = out.visibility[0][leak], out.visibility[0][seen]
    auc = (hidden_v[:, None] < seen_v[None, :]).float().mean()
    balanced = ((hidden_v < 0.5).float().mean() + (seen_v >= 0.5).float().mean()) / 2
    assert auc > 0.8 and balanced > 0.65, (float(auc), float(balanced))


def _fails(capsys, argv, out, match):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and match in err, err
    assert not out.exists()


def test_bad_input_is_one_line_exit_2_and_writes_nothing(scene, tmp_path, capsys):
    root, _ = scene
    out = tmp_path / "never"
    cams = str(root / "views" / "cameras.json")
    (tmp_path / "empty.ply").write_text("ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\n"
                                        "property float y\nproperty float z\nend_header\n")
    _fails(capsys, ["pc2img", str(tmp_path / "empty.ply"), "--out", str(out)], out, "empty.ply")
    np.save(tmp_path / "nan.npy", np.full((100, 3), np.nan, dtype=np.float32))
    _fails(capsys, ["pc2img", str(tmp_path / "nan.npy"), "--out", str(out)], out, "NaN")
    away = json.loads((root / "views" / "cameras.json").read_text())[:1]
    away[0]["t"] = [0.0, 0.0, -50.0]  # the cloud is far behind this camera
    (tmp_path / "away.json").write_text(json.dumps(away))
    _fails(capsys, ["pc2img", str(root / "cloud.ply"), "--cameras", str(tmp_path / "away.json"), "--out", str(out)],
           out, "sees none of the")
    bad = json.loads((root / "views" / "cameras.json").read_text())
    del bad[1]["R"]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    _fails(capsys, ["pc2img", str(root / "cloud.ply"), "--cameras", str(tmp_path / "bad.json"), "--out", str(out)],
           out, "view 1: missing 'R'")
    colmap = tmp_path / "colmap"
    colmap.mkdir()
    for name in ("cameras.txt", "images.txt", "points3D.txt"):
        (colmap / name).write_text("1 garbage\n")
    _fails(capsys, ["pc2img", str(colmap), "--out", str(out)], out, "corrupt COLMAP model")
    (tmp_path / "w.safetensors").write_bytes(b"not a checkpoint")
    _fails(capsys, ["pc2img", str(root / "cloud.ply"), "--cameras", cams, "--weights", str(tmp_path / "w.safetensors"),
                    "--out", str(out)], out, "cannot load pc2img weights")
    _fails(capsys, ["pc2img", str(root / "cloud.ply"), "--background", "1,2", "--out", str(out)], out, "--background")
    _fails(capsys, ["pc2img", "fit", str(root / "cloud.ply"), "--views", str(tmp_path), "--out", str(out)], out,
           "cameras.json")
