"""MP4 writer: frames survive the H.264 round trip, odd sizes are padded, bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest

from render3d.errors import ShapeError
from render3d.io.video import save_mp4

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")


def _decode(path) -> np.ndarray:
    reader = imageio_ffmpeg.read_frames(str(path))
    w, h = next(reader)["size"]
    return np.stack([np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in reader])


def test_round_trip_keeps_count_size_and_content(tmp_path):
    # A bright square moving right over a dark background: position and colors must come back.
    frames = []
    for i in range(10):
        f = np.full((48, 64, 3), 0.1, np.float32)
        f[16:32, 4 * i:4 * i + 16] = (0.9, 0.2, 0.1)
        frames.append(f)
    path = save_mp4(tmp_path / "turn.mp4", frames, fps=10)
    assert path.read_bytes()[4:8] == b"ftyp"  # an MP4 container
    back = _decode(path)
    assert back.shape == (10, 48, 64, 3)
    for i in (0, 5, 9):
        inside = back[i, 18:30, 4 * i + 2:4 * i + 14].reshape(-1, 3).mean(0)
        assert np.abs(inside - np.array([230, 51, 26])).max() < 20, inside
        outside = back[i, 40:, :].reshape(-1, 3).mean(0)
        assert np.abs(outside - 26).max() < 10, outside
    assert not list(tmp_path.glob(".turn*")), "temp file left behind"


def test_odd_sizes_and_gray_frames_are_padded(tmp_path):
    frames = [np.full((31, 45), 0.5, np.float32)] * 3
    back = _decode(save_mp4(tmp_path / "odd.mp4", frames, fps=5))
    assert back.shape == (3, 32, 46, 3)
    assert abs(float(back.mean()) - 128) < 4


@pytest.mark.parametrize("frames", [[], [np.zeros((8, 8, 3)), np.zeros((8, 10, 3))], [np.zeros((8, 8, 2))]])
def test_bad_frames_raise_and_write_nothing(tmp_path, frames):
    with pytest.raises(ShapeError):
        save_mp4(tmp_path / "bad.mp4", frames)
    assert not list(tmp_path.iterdir())
