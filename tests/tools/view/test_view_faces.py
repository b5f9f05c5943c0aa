"""Faces page without a browser: the static report sweeps yaw and reports each measured pose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tools.view.pages.faces import FacesPage, FaceView, orbit_camera, pose_text
from tools.view.report import Images, RunReport, Table, render_html


def _biased(seed: int, yaw: float, pitch: float) -> FaceView:
    # A generator whose measured yaw runs 10 % short: the report must show that error, not the request.
    return FaceView(np.full((8, 8, 3), int(128 + yaw), np.uint8), yaw=0.9 * yaw, pitch=pitch)


def test_report_sweeps_yaw_and_shows_the_measured_pose():
    page = FacesPage(Path("faces-run"), _biased, yaw_range=(-40.0, 40.0))
    images, table = page.report()
    assert isinstance(images, Images) and isinstance(table, Table)
    assert [c for c, _ in images.items] == ["yaw -40°", "yaw -20°", "yaw +0°", "yaw +20°", "yaw +40°"]
    assert [int(img[0, 0, 0]) for _, img in images.items] == [88, 108, 128, 148, 168]
    assert table.rows["yaw +40°"] == "asked yaw +40.0°, pitch +0.0° → measured yaw +36.0°, pitch +0.0° (error 4.0°)"
    html = render_html([RunReport(page.title, page.path, [images, table])])
    assert html.count("<img") == 5 and "measured yaw -36.0°" in html


def test_unmeasured_pose_and_orbit_camera():
    assert pose_text(10, 5, FaceView(np.zeros((2, 2, 3), np.uint8))).endswith("pose not measured")
    cam = orbit_camera(90.0, 0.0, (64, 64))
    np.testing.assert_allclose(cam.center, [2.5, 0.0, 0.0], atol=1e-5)  # yaw +90° puts the camera on +X
    np.testing.assert_allclose(cam.forward, [-1.0, 0.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("method", ["condition", "direction"])
def test_a_faces_run_opens_as_the_live_page_over_its_generator(tmp_path, capsys, method):
    from tools.cli import main
    from tools.view.detect import detect_kind

    run = tmp_path / "run"
    assert main(["faces", "--seeds", "3", "--yaw=-20:20:2", "--pitch", "0", "--method", method,
                 "--out", str(run)]) == 0
    capsys.readouterr()
    kind = detect_kind(run)
    assert kind.name == "faces"
    page = kind.open(run)
    assert page.yaw_range == (-40.0, 40.0) and page.pitch_range == (-15.0, 15.0)
    view = page.generator(3, 20.0, 0.0)
    assert view.image.shape == (64, 64, 3) and view.image.dtype == np.uint8
    # the run's own view at the same request is what the live page draws (same seed, pose, closed loop)
    from PIL import Image

    saved = np.asarray(Image.open(run / "seed0003_yaw+20_pitch+0.png").convert("RGB")).astype(int)
    assert np.abs(saved - view.image.astype(int)).mean() < 2.0
    assert abs(view.yaw - 20.0) < 4.0


def test_a_broken_faces_run_names_the_file(tmp_path):
    import pytest

    from tools.errors import ToolError
    from tools.view.detect import detect_kind

    for name in ("poses.json", "metrics.json", "config.json"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "poses.json").write_text("[not json")
    with pytest.raises(ToolError, match=r"poses\.json: unreadable faces run file"):
        detect_kind(tmp_path).open(tmp_path)
