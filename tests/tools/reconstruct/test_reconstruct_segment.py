import numpy as np
import pytest
import torch
from PIL import Image

from tools.errors import ToolError
from tools.reconstruct.segment import check_mask, load_image, load_mask, segment_foreground


def _photo() -> torch.Tensor:
    img = torch.full((64, 80, 3), 0.92)
    yy, xx = torch.meshgrid(torch.arange(64) + 0.5, torch.arange(80) + 0.5, indexing="ij")
    disk = ((yy - 30) ** 2 + (xx - 44) ** 2) < 18**2
    img[disk] = torch.tensor([0.8, 0.3, 0.1])
    # A pale band close to the backdrop color crossing the object: must stay foreground.
    img[disk & (yy > 26) & (yy < 34)] = torch.tensor([0.97, 0.9, 0.72])
    return img, disk


def test_segment_recovers_disk_including_pale_band():
    img, disk = _photo()
    mask = segment_foreground(img)
    assert mask.shape == (64, 80)
    inter = (mask.bool() & disk).sum().item()
    union = (mask.bool() | disk).sum().item()
    assert inter / union > 0.97


def test_segment_tolerates_noise():
    img, disk = _photo()
    g = torch.Generator().manual_seed(0)
    noisy = (img + 0.02 * torch.randn(img.shape, generator=g)).clamp(0, 1)
    mask = segment_foreground(noisy).bool()
    assert (mask & disk).sum() / (mask | disk).sum() > 0.95


def test_segment_without_object_raises():
    with pytest.raises(ToolError, match="no object found"):
        segment_foreground(torch.full((32, 32, 3), 0.5))


def test_load_image_modes(tmp_path):
    rgba = np.zeros((16, 12, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[4:10, 3:8, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "a.png")
    Image.fromarray(np.full((16, 12), 77, np.uint8)).save(tmp_path / "g.png")
    Image.fromarray(np.full((16, 12, 3), 10, np.uint8)).save(tmp_path / "c.jpg")
    rgb, alpha = load_image(tmp_path / "a.png")
    assert rgb.shape == (16, 12, 3) and alpha is not None and int(alpha.sum()) == 30
    rgb, alpha = load_image(tmp_path / "g.png")
    assert rgb.shape == (16, 12, 3) and alpha is None and abs(float(rgb.mean()) - 77 / 255) < 1e-6
    rgb, alpha = load_image(tmp_path / "c.jpg")
    assert rgb.shape == (16, 12, 3) and alpha is None
    assert load_mask(tmp_path / "a.png", (16, 12)).sum() == 30
    with pytest.raises(ToolError, match="mask is 12x16"):
        load_mask(tmp_path / "a.png", (12, 16))


def test_unreadable_and_missing_images(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ToolError, match="cannot read image"):
        load_image(tmp_path / "bad.png")
    with pytest.raises(ToolError, match="no such image"):
        load_image(tmp_path / "missing.png")


def test_check_mask_rejects_empty_and_full():
    with pytest.raises(ToolError, match="no object found"):
        check_mask(torch.zeros(20, 20))
    with pytest.raises(ToolError, match="no object found"):
        check_mask(torch.ones(20, 20))
    m = torch.zeros(20, 20)
    m[5:10, 5:10] = 0.9
    assert check_mask(m).sum() == 25
