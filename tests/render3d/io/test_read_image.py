"""`read_image` decodes ordinary images and refuses missing files, non-images and decompression bombs
from the header alone (a 65-byte PNG declaring 20000² pixels)."""

import numpy as np
import pytest

from render3d.errors import ImageIOError
from render3d.io.images import read_image, save_png


def test_reads_pixels_and_mode(tmp_path):
    img = np.arange(24, dtype=np.uint8).reshape(4, 6)
    out = read_image(save_png(tmp_path / "a.png", img))
    assert out.mode == "L" and np.array_equal(np.asarray(out), img)


@pytest.mark.parametrize("size", [(20000, 20000), (9000, 8000)])  # over PIL's own limit, and under it but over ours
def test_decompression_bomb_refused_before_decoding(tmp_path, bomb_png, size):
    with pytest.raises(ImageIOError, match=r"too large|pixel limit"):
        read_image(bomb_png(tmp_path / "bomb.png", *size))


def test_limit_is_a_parameter(tmp_path):
    path = save_png(tmp_path / "a.png", np.zeros((10, 10), np.uint8))
    with pytest.raises(ImageIOError, match="10x10 pixels is over the 99-pixel limit"):
        read_image(path, max_pixels=99)


def test_missing_and_non_image_files(tmp_path):
    with pytest.raises(ImageIOError, match="no such image file"):
        read_image(tmp_path / "nope.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageIOError, match="cannot read image"):
        read_image(tmp_path / "text.png")
