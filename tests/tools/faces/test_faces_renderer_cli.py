"""`neurender faces --from-photo PHOTO --renderer mesh|gan|both`: the invgraphics sweep of the photo's
reconstruction, and its bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from render3d.io import save_png
from tools.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")


def _run(capsys, *args) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def _face_photo(path: Path) -> Path:
    """A frontal head of the embedded pose-conditioned generator, as a photo."""
    from tools.faces.bundle import CONDITIONED, WEIGHTS_DIR
    from tools.faces.condition import load_conditioned, render_pose, sample_identity_ws
    from tools.imageconv import gan_to_render

    G, _ = load_conditioned(WEIGHTS_DIR / CONDITIONED)
    with torch.no_grad():
        x = render_pose(G, sample_identity_ws(G, 1, seed=3, truncation=0.7), torch.zeros(1, 2))
    save_png(path, gan_to_render(x)[0])
    return path


def test_from_photo_both_writes_the_mesh_row_above_the_gan_row(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    rc, stdout, err = _run(capsys, "faces", "--from-photo", _face_photo(tmp_path / "face.png"), "--renderer", "both",
                           "--yaw=-30:30:3", "--size", "48", "--out", out)
    assert rc == 0, err
    assert "sheet.png" in stdout
    with Image.open(out / "sheet.png") as im:
        sheet = torch.from_numpy(np.asarray(im.convert("RGB"))).float() / 255
    assert sheet.shape == (2 * 48, 3 * 48, 3)
    with Image.open(out / "sweep_gan.png") as im:
        gan = im.size
    assert gan[0] == 3 * gan[1]
    # the views differ across the sweep in both rows (a renderer that ignored the yaw would repeat one image)
    for row in (sheet[:48], sheet[48:]):
        assert float((row[:, :48] - row[:, 96:]).abs().mean()) > 0.01


@pytest.mark.parametrize(("args", "pattern"), [
    (("--renderer", "gan"), "--renderer needs --from-photo"),
    (("--from-photo", "nope.png", "--renderer", "mesh"), "nope.png"),
    (("--from-photo", "face.png", "--renderer", "mesh", "--yaw", "left"), "--yaw"),
    (("--from-photo", "face.png", "--renderer", "mesh", "--size", "4"), "--size"),
])
def test_from_photo_renderer_bad_input_exits_2_with_one_line(tmp_path: Path, capsys, args, pattern) -> None:
    save_png(tmp_path / "face.png", torch.full((32, 32, 3), 0.5))
    out = tmp_path / "run"
    args = [str(tmp_path / a) if a.endswith(".png") else a for a in args]
    rc, _, err = _run(capsys, "faces", *args, "--out", out)
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert pattern in lines[0], lines[0]
    assert not out.exists()


def test_gan_renderer_refuses_a_mapping_of_the_other_kind_of_generator(tmp_path: Path, capsys) -> None:
    from tools.faces.bundle import GENERATOR, WEIGHTS_DIR

    out = tmp_path / "run"
    rc, _, err = _run(capsys, "invgraphics", _face_photo(tmp_path / "face.png"), "--renderer", "gan", "--generator",
                      WEIGHTS_DIR / GENERATOR, "--out", out)
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and len(lines) == 1 and "pose-conditioned" in lines[0], err
    assert not out.exists()
