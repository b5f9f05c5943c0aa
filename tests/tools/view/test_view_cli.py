"""`neurender view`: run kinds recognized from real runs, bad input exits 2 with one line, the HTML report."""

from __future__ import annotations

import base64
import io
import re
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan2d.train.reporting import StatsWriter, save_image_grid
from tools.cli import main
from tools.view.detect import open_run
from tools.view.pages.base import read_image
from tools.view.server import start_viewer

HELIX = Path(__file__).resolve().parents[3] / "scenes" / "examples" / "assets" / "helix_points.ply"


@pytest.fixture(scope="module")
def datagen_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("view") / "ds"
    assert main(["datagen", "--kind", "shapes", "--count", "2", "--views", "2", "--size", "32", "--workers", "1",
                 "--no-progress", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def train_run(tmp_path_factory) -> Path:
    # Written with the training loop's own writers (a real run takes too long for this test).
    out = tmp_path_factory.mktemp("view") / "train"
    stats = StatsWriter(out / "stats.jsonl")
    for step in range(1, 6):
        stats.write({"step": step, "kimg": step * 0.004, "D_main/loss": 1.5 / step, "G_main/loss": 0.5 + 0.1 * step})
    g = torch.Generator().manual_seed(0)
    for step in (2, 5):
        save_image_grid(torch.rand(4, 3, 8, 8, generator=g) * 2 - 1, out / "samples" / f"step-{step:07d}.png", 2)
    (out / "config.json").write_text('{"task": "stylegan2"}')
    return out


@pytest.fixture(scope="module")
def pc2img_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("view") / "pc"
    assert main(["pc2img", str(HELIX), "--out", str(out), "--views", "2", "--size", "32"]) == 0
    return out


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def test_kinds_are_recognized(recon_run, datagen_run, train_run):
    assert open_run(recon_run).kind == "reconstruct"
    assert open_run(datagen_run).kind == "datagen"
    assert open_run(datagen_run / "samples" / "000001").kind == "datagen"  # one sample folder on its own
    page = open_run(train_run)
    assert page.kind == "train" and page.task == "stylegan2"
    steps, series = page.curves()
    np.testing.assert_allclose(series["D_main/loss"], 1.5 / steps)


def test_not_a_run_and_missing_paths_exit_2(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["view", str(tmp_path)]) == 2
    assert "not a neurender run" in _error_line(capsys)
    assert main(["view", str(tmp_path / "nope")]) == 2
    assert "no such run directory" in _error_line(capsys)
    assert main(["view", str(tmp_path / "notes.txt")]) == 2
    assert "not a directory" in _error_line(capsys)


def test_missing_file_inside_a_run_exits_2(tmp_path, recon_run, datagen_run, capsys):
    broken = shutil.copytree(recon_run, tmp_path / "recon")
    (broken / "mesh.glb").unlink()
    (broken / "mesh.obj").unlink()
    assert main(["view", str(broken)]) == 2
    assert "missing mesh.glb" in _error_line(capsys)
    ds = shutil.copytree(datagen_run, tmp_path / "ds")
    (ds / "samples" / "000001" / "depth_001.npy").unlink()
    assert main(["view", str(ds), "--html", str(tmp_path / "r.html")]) == 2
    assert "depth_001.npy" in _error_line(capsys)
    assert not (tmp_path / "r.html").exists()


def test_port_in_use_exits_2(recon_run, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["view", str(recon_run), "--port", str(port)]) == 2
    assert f"port {port}" in _error_line(capsys)


def test_several_runs_in_one_viewer(recon_run, datagen_run, train_run):
    viewer = start_viewer([open_run(p) for p in (recon_run, datagen_run, train_run)], port=0)
    try:
        assert viewer.port > 0 and viewer.url.endswith(str(viewer.port))
        scene = viewer.server.scene
        assert scene.get_handle_by_name("/run0/mesh") is not None  # the reconstruct mesh
        assert scene.get_handle_by_name("/run1/cameras/cam_001") is not None  # datagen sample frustums
    finally:
        viewer.stop()


def _data_images(text: str) -> list[np.ndarray]:
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(u))).convert("RGB")) for u in uris]


def test_html_report_is_self_contained(tmp_path, recon_run, datagen_run, train_run, capsys):
    assert (recon_run / "turntable.mp4").is_file(), "reconstruct writes its turntable as MP4 beside the GIF"
    out = tmp_path / "report.html"
    assert main(["view", str(recon_run), str(datagen_run), str(train_run), "--html", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    text = out.read_text()
    assert not re.search(r'(src|href)="(?!data:)', text), "the report must not reference external files"
    images = _data_images(text)
    # Every view of the reconstruction is inlined pixel for pixel.
    view = read_image(sorted((recon_run / "views").glob("*.png"))[3])
    assert any(img.shape == view.shape and np.array_equal(img, view) for img in images)
    # Datagen: 2 samples x 2 views x 4 channels.
    assert text.count("<figcaption>mask ") == 4
    assert 'src="data:video/mp4;base64,' in text and 'src="data:image/gif;base64,' in text
    metrics = open_run(recon_run).metrics
    assert f"{metrics['input_iou']:.4g}" in text
    assert text.count("<polyline") == 2  # D_main/loss and G_main/loss curves


def test_cli_serves_until_interrupted(recon_run):
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    env = dict(os.environ, OMP_NUM_THREADS="1")
    match = None
    proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "view", str(recon_run), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stdout:  # blocks until the viewer prints its address (viser's banner comes first)
            if match := re.search(r"^viewing .* at (http://\S+)", line):
                break
        assert match, proc.stderr.read() if proc.poll() is not None else "no address printed"
        assert "(reconstruct)" in line
        with urllib.request.urlopen(match.group(1), timeout=60) as r:
            assert r.status == 200 and b"<html" in r.read(2048).lower()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130  # Ctrl-C stops the server and exits like every other command
        assert "neurender: aborted" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_pc2img_run_shows_its_source_cloud(tmp_path, pc2img_run, capsys):
    from render3d.io import load_pointcloud

    page = open_run(pc2img_run)
    assert page.kind == "pc2img" and len(page.cameras) == 2
    cloud = load_pointcloud(HELIX)
    np.testing.assert_allclose(page.cloud[0], cloud.points_packed().numpy(), atol=1e-6)
    assert [b.title for b in page.report()[1:]] == ["image", "splat", "visibility", "coarse"]
    broken = shutil.copytree(pc2img_run, tmp_path / "pc")
    (broken / "coarse_001.png").unlink()
    assert main(["view", str(broken)]) == 2
    assert "coarse_001.png" in _error_line(capsys)
