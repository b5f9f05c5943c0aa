"""The faces head set: deterministic identities, the data engine's cameras, crack filling, resumable layout."""

import json

import pytest
import torch

from render3d.cameras import Cameras
from scenes.samples import pose_cameras
from tools.errors import ToolError
from tools.faces.analyzer_data import background_negatives, load_head_arrays, photo_negatives
from tools.faces.headset import HeadSetConfig, draw_identity, fill_cracks, generate_headset, head_camera
from tools.faces.segment import key_masks, mask_iou

pytestmark = pytest.mark.usefixtures("one_thread")


def test_head_camera_is_the_data_engine_rig():
    poses = [(0.0, 0.0), (35.0, -12.0), (-48.0, 20.0)]
    built = [head_camera(y, p).build(64, 64) for y, p in poses]
    ours = Cameras(torch.cat([c.K for c in built]), torch.cat([c.R for c in built]), torch.cat([c.t for c in built]),
                   64, 64)
    engine = pose_cameras("heads", [(y, p, 0.0) for y, p in poses], 64)
    for name in ("K", "R", "t"):
        assert torch.allclose(getattr(ours, name), getattr(engine, name), atol=1e-5)


def test_identities_are_pure_functions_of_seed_and_index():
    cfg = HeadSetConfig(identities=3, views=5, size=32)
    a, b = draw_identity(cfg, 2), draw_identity(cfg, 2)
    assert a[0] == b[0] and a[1] == b[1] and a[2] == b[2]
    assert draw_identity(cfg, 1)[0].seed != a[0].seed
    assert all(-50 <= y <= 50 and -25 <= p <= 25 for y, p in a[1])


def test_fill_cracks_closes_isolated_holes_only():
    rgb = torch.full((1, 6, 6, 3), 0.5)
    mask = torch.zeros(1, 6, 6)
    mask[:, 1:5, 1:5] = 1.0
    mask[0, 2, 2] = 0.0  # a crack inside
    rgb[0, 2, 2] = 1.0
    out_rgb, out_mask = fill_cracks(rgb, mask)
    assert out_mask[0, 2, 2] == 1.0 and torch.allclose(out_rgb[0, 2, 2], torch.full((3,), 0.5))
    assert out_mask[0, 0, 0] == 0.0 and out_mask.sum() == 16  # the silhouette is untouched


def test_head_set_layout_resume_and_masks(tmp_path):
    cfg = HeadSetConfig(identities=2, views=2, size=32, supersample=1, texture_size=32)
    index = generate_headset(cfg, tmp_path / "set", progress=False)
    assert index["complete"] and len(index["images"]) == 4
    entry = index["images"][3]
    assert set(entry) == {"file", "identity", "yaw", "pitch", "shape_code", "appearance_code"}
    assert entry["identity"] == 1 and len(entry["shape_code"]) == 14 and len(entry["appearance_code"]) == 10
    before = (tmp_path / "set" / "images" / entry["file"]).read_bytes()
    grown = generate_headset(HeadSetConfig(**{**cfg.__dict__, "identities": 3}), tmp_path / "set", progress=False)
    assert len(grown["images"]) == 6 and (tmp_path / "set" / "images" / entry["file"]).read_bytes() == before
    with pytest.raises(ToolError, match="other settings"):
        generate_headset(HeadSetConfig(**{**cfg.__dict__, "size": 16}), tmp_path / "set", progress=False)
    arrays = load_head_arrays(tmp_path / "set")
    assert arrays.images.shape == (6, 3, 32, 32) and arrays.images.dtype == torch.uint8
    assert arrays.pose[3].tolist() == pytest.approx([entry["yaw"], entry["pitch"]])
    # The background key finds the rendered heads.
    import numpy as np
    from PIL import Image

    masks = torch.stack([torch.from_numpy(np.asarray(Image.open(tmp_path / "set" / "masks" / e["file"]),
                                                     dtype=np.float32) / 255) for e in grown["images"]])
    assert mask_iou(key_masks(arrays.images.float() / 127.5 - 1), masks) > 0.85
    json.loads((tmp_path / "set" / "labels.json").read_text())


def test_incomplete_or_missing_head_sets_are_refused(tmp_path):
    with pytest.raises(ToolError, match="not a head set"):
        load_head_arrays(tmp_path)
    (tmp_path / "labels.json").write_text(json.dumps({"complete": False, "images": []}))
    with pytest.raises(ToolError, match="incomplete"):
        load_head_arrays(tmp_path)


def test_negatives_are_deterministic_uint8_images():
    a, b = background_negatives(8, 16, 3), background_negatives(8, 16, 3)
    assert a.dtype == torch.uint8 and a.shape == (8, 3, 16, 16) and torch.equal(a, b)
    p = photo_negatives(4, 16, 0)
    assert p.shape == (4, 3, 16, 16) and p.float().std() > 10


def test_key_masks_ignore_an_uneven_background_halo():
    # A generator's background: an uneven gray (0.85 ± 0.12) brightening to 0.97 around a dark head disc.
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    r = ((yy - 15.5) ** 2 + (xx - 15.5) ** 2).sqrt()
    img = (0.85 + 0.24 * (torch.rand(32, 32, generator=g) - 0.5)).expand(1, 3, 32, 32).clone()
    img[:, :, r < 11] = 0.97
    head = r < 7
    img[:, :, head] = 0.35
    mask = key_masks(img * 2 - 1)[0] > 0.5
    iou = float((mask & head).sum() / (mask | head).sum())
    fixed = key_masks(img * 2 - 1, background=(0.85, 0.85, 0.85))[0] > 0.5  # the plain 0.06 tolerance
    assert iou > 0.8 and float((fixed & head).sum() / (fixed | head).sum()) < 0.5, iou
