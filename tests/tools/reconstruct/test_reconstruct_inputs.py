import math

import numpy as np
import pytest
import torch
from PIL import Image

from tools.errors import ToolError
from tools.reconstruct.grabcut import grabcut
from tools.reconstruct.inputs import exif_focal_px, parse_box, photo_intrinsics, photo_mask


def _jpeg_with_focal(path, f35: int, size=(120, 80)):
    im = Image.fromarray(np.full((size[1], size[0], 3), 128, np.uint8))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA405] = f35
    im.save(path, exif=exif)


def test_exif_35mm_focal_length_sets_the_intrinsics(tmp_path):
    _jpeg_with_focal(tmp_path / "a.jpg", 50)
    f = exif_focal_px(tmp_path / "a.jpg", 120, 80)
    assert f == pytest.approx(50 / math.hypot(36, 24) * math.hypot(120, 80))
    K, source = photo_intrinsics(tmp_path / "a.jpg", 120, 80, None, None)
    assert source == "EXIF" and float(K[0, 0]) == pytest.approx(f) and float(K[0, 2]) == 60.0
    # An explicit --fov wins over EXIF, and --K over both.
    K, source = photo_intrinsics(tmp_path / "a.jpg", 120, 80, None, 90.0)
    assert source == "--fov" and float(K[1, 1]) == pytest.approx(40.0)
    K, source = photo_intrinsics(tmp_path / "a.jpg", 120, 80, (10.0, 11.0, 5.0, 6.0), 90.0)
    assert source == "--K" and K[1, 1] == 11.0
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "plain.png")
    assert photo_intrinsics(tmp_path / "plain.png", 8, 8, None, None)[1] == "default"


def _textured_scene(seed=0):
    """A red disk on a busy, colourful background (no plain backdrop)."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(96) + 0.5, torch.arange(128) + 0.5, indexing="ij")
    bg = 0.5 + 0.25 * torch.stack([torch.sin(xx / 5), torch.cos(yy / 7), torch.sin((xx + yy) / 9)], -1)
    img = (bg + 0.05 * torch.rand(96, 128, 3, generator=g)).clamp(0, 1)
    disk = (yy - 50) ** 2 + (xx - 66) ** 2 < 24**2
    img[disk] = torch.tensor([0.85, 0.1, 0.1])
    return img, disk


def test_grabcut_segments_an_object_on_a_busy_background():
    img, disk = _textured_scene()
    for box in (None, (30, 14, 104, 88)):
        m = grabcut(img, box).bool()
        assert float((m & disk).sum() / (m | disk).sum()) > 0.9, box
    with pytest.raises(ToolError, match="--box"):
        grabcut(img, (100, 10, 90, 50))


def test_several_regions_keep_the_largest_and_say_so():
    img = torch.full((64, 64, 3), 0.9)
    alpha = torch.zeros(64, 64)
    alpha[10:40, 10:40] = 1.0
    alpha[50:60, 50:60] = 1.0
    mask, source, notes = photo_mask(img, alpha, None)
    assert source == "alpha channel" and mask[55, 55] == 0 and mask[20, 20] == 1
    assert len(notes) == 1 and "2 separate regions" in notes[0]
    _, _, notes = photo_mask(img, (alpha * 0).index_fill_(0, torch.arange(10, 40), 1.0), None)
    assert notes == []


def test_box_parsing():
    assert parse_box("1,2,30,40") == (1, 2, 30, 40) and parse_box(None) is None
    for bad in ("1,2,3", "a,b,c,d", "1,2,inf,4"):
        with pytest.raises(ToolError, match="--box"):
            parse_box(bad)
