"""The viewer's image reader: RGB out of gray / RGBA (composited over white), and a one-line ToolError for
missing files, non-images and decompression bombs (refused from the header, before decoding)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools.errors import ToolError
from tools.view.pages.base import read_image


def test_gray_and_rgba_come_back_as_rgb(tmp_path: Path) -> None:
    Image.fromarray(np.full((3, 5), 40, np.uint8)).save(tmp_path / "g.png")
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red; the rest transparent black
    Image.fromarray(rgba).save(tmp_path / "a.png")
    gray = read_image(tmp_path / "g.png")
    assert gray.shape == (3, 5, 3) and gray.dtype == np.uint8 and (gray == 40).all()
    over = read_image(tmp_path / "a.png")
    assert over.shape == (2, 2, 3)
    assert over[0, 0].tolist() == [255, 0, 0] and (over.reshape(-1, 3)[1:] == 255).all()


def test_bombs_and_non_images_are_tool_errors(tmp_path: Path, bomb_png) -> None:
    with pytest.raises(ToolError, match=r"bomb\.png: image (too large|of 20000x20000)"):
        read_image(bomb_png(tmp_path / "bomb.png"))
    (tmp_path / "t.png").write_text("text")
    with pytest.raises(ToolError, match=r"t\.png: cannot read image"):
        read_image(tmp_path / "t.png")
    with pytest.raises(ToolError, match="no such image file"):
        read_image(tmp_path / "none.png")
