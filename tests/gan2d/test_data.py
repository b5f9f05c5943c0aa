import itertools
import json
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from gan2d.data.images import ImageFolderDataset, ZipImageDataset, decode_image, open_image_dataset
from gan2d.data.paired import PairedFolderDataset
from gan2d.data.sampler import InfiniteSampler
from gan2d.data.toy import disc_images, write_disc_folder
from gan2d.errors import ConfigError


def _png_bytes(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_decode_range_crop_and_resize():
    arr = np.zeros((4, 8, 3), dtype=np.uint8)
    arr[:, 2:6] = 255  # the centre 4x4 crop is all white
    img = decode_image(_png_bytes(arr), 4)
    assert img.shape == (3, 4, 4) and img.dtype == torch.float32
    torch.testing.assert_close(img, torch.ones(3, 4, 4))
    gray = decode_image(_png_bytes(np.zeros((8, 8, 3), np.uint8)), 4, channels=1)
    torch.testing.assert_close(gray, -torch.ones(1, 4, 4))
    with pytest.raises(ConfigError, match="decode"):
        decode_image(b"not an image", 4)


def test_folder_and_zip_agree_with_flip_and_labels(tmp_path):
    root = write_disc_folder(tmp_path / "imgs", 5, 16)
    (root / "dataset.json").write_text(json.dumps({"labels": [[f"{i:06d}.png", i % 2] for i in range(5)]}))
    folder = ImageFolderDataset(root, 16, xflip=True)
    with zipfile.ZipFile(tmp_path / "imgs.zip", "w") as zf:
        for p in sorted(root.iterdir()):
            zf.write(p, p.name)
    zipped = open_image_dataset(tmp_path / "imgs.zip", 16, xflip=True)
    assert isinstance(zipped, ZipImageDataset)
    assert len(folder) == len(zipped) == 10 and folder.c_dim == zipped.c_dim == 2
    for i in (0, 3, 7):
        torch.testing.assert_close(folder[i][0], zipped[i][0])
        torch.testing.assert_close(folder[i][1], zipped[i][1])
    torch.testing.assert_close(folder[6][0], folder[1][0].flip(-1))
    torch.testing.assert_close(folder[3][1], torch.tensor([0.0, 1.0]))
    # stored PNG round trip matches the generator within 8-bit quantization
    torch.testing.assert_close(folder[2][0], disc_images(5, 16)[2], atol=1 / 127.5, rtol=0)
    # the zip dataset survives pickling into DataLoader workers
    loader = torch.utils.data.DataLoader(zipped, batch_size=2, num_workers=1)
    assert next(iter(loader))[0].shape == (2, 3, 16, 16)


def test_dataset_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        open_image_dataset(tmp_path / "missing", 16)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no PNG"):
        open_image_dataset(tmp_path / "empty", 16)
    write_disc_folder(tmp_path / "ok", 2, 16)
    with pytest.raises(ConfigError, match="power of two"):
        open_image_dataset(tmp_path / "ok", 24)


def test_paired_folder(tmp_path):
    (tmp_path / "input").mkdir()
    (tmp_path / "target").mkdir()
    imgs = disc_images(3, 8)
    for i in range(3):
        depth = np.full((8, 8, 2), float(i), dtype=np.float32)
        depth[:, :4, 1] = -1.0
        np.save(tmp_path / "input" / f"p{i}.npy", depth)
        u8 = ((imgs[i] + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
        Image.fromarray(u8).save(tmp_path / "target" / f"p{i}.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "target" / "unpaired.png")
    ds = PairedFolderDataset(tmp_path, 8, xflip=True)
    assert len(ds) == 6 and ds.num_pairs == 3 and ds.input_channels == 2
    x, y = ds[1]
    assert x.shape == (2, 8, 8) and y.shape == (3, 8, 8)
    assert x[0].unique().tolist() == [1.0]  # .npy values are kept as stored
    xf, yf = ds[4]
    torch.testing.assert_close(xf, x.flip(-1))
    torch.testing.assert_close(yf, y.flip(-1))
    with pytest.raises(ConfigError, match="subfolders"):
        PairedFolderDataset(tmp_path / "input", 8)


def test_infinite_sampler_resumes_and_splits():
    full = list(itertools.islice(InfiniteSampler(7, seed=3), 30))
    assert sorted(full[:7]) == list(range(7)) and sorted(full[7:14]) == list(range(7))
    assert full[:7] != full[7:14]  # each epoch is reshuffled
    assert list(itertools.islice(InfiniteSampler(7, seed=3, start=12), 18)) == full[12:]
    r0 = list(itertools.islice(InfiniteSampler(7, seed=3, rank=0, world_size=2, start=4), 5))
    r1 = list(itertools.islice(InfiniteSampler(7, seed=3, rank=1, world_size=2, start=4), 5))
    assert r0 == full[4:14:2] and r1 == full[5:15:2]
