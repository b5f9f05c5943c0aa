"""Continuous dataset labels (x-flip negation) and the view-conditioned generator (label moves only early styles)."""

import json

import pytest
import torch

from gan2d.checkpoint import load_network, save_network
from gan2d.data.images import ImageFolderDataset, ZipImageDataset
from gan2d.data.toy import write_disc_folder
from gan2d.errors import ConfigError, ShapeError
from gan2d.nets.stylegan2 import Generator, GeneratorConfig, ViewConditionedMapping

CFG = GeneratorConfig(img_resolution=16, z_dim=8, w_dim=8, c_dim=2, view_layers=2, channel_base=64, channel_max=16,
                      mapping_layers=2)


def test_continuous_labels_load_and_negate_under_xflip(tmp_path):
    root = write_disc_folder(tmp_path / "imgs", 3, 16)
    labels = [[f"{i:06d}.png", [0.1 * (i + 1), -0.5 * i]] for i in range(3)]
    (root / "dataset.json").write_text(json.dumps({"labels": labels, "xflip_negate": [0]}))
    ds = ImageFolderDataset(root, 16, xflip=True)
    assert ds.c_dim == 2 and ds.continuous and len(ds) == 6
    img, c = ds[1]
    torch.testing.assert_close(c, torch.tensor([0.2, -0.5]))
    flipped, cf = ds[4]  # image 1 mirrored: yaw negated, pitch kept
    torch.testing.assert_close(cf, torch.tensor([-0.2, -0.5]))
    torch.testing.assert_close(flipped, img.flip(-1))
    (root / "dataset.json").write_text(json.dumps({"labels": labels}))
    torch.testing.assert_close(ImageFolderDataset(root, 16, xflip=True)[4][1], torch.tensor([0.2, -0.5]))


def test_continuous_labels_in_a_zip_and_bad_label_files(tmp_path):
    import zipfile

    root = write_disc_folder(tmp_path / "imgs", 2, 16)
    meta = {"labels": [[f"{i:06d}.png", [1.0 * i]] for i in range(2)], "xflip_negate": [0]}
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        for i in range(2):
            zf.write(root / f"{i:06d}.png", f"{i:06d}.png")
        zf.writestr("dataset.json", json.dumps(meta))
    ds = ZipImageDataset(tmp_path / "d.zip", 16, xflip=True)
    assert ds.c_dim == 1 and ds[3][1].tolist() == [-1.0]
    for bad, match in [({"labels": [["000000.png", [1.0]], ["000001.png", [1.0, 2.0]]]}, "one non-zero length"),
                       ({"labels": [["000000.png", [1.0]], ["000001.png", [2.0]]], "xflip_negate": [3]},
                        "xflip_negate"),
                       ({"labels": [["000000.png", 0], ["000001.png", 1]], "xflip_negate": [0]}, "continuous"),
                       ({"labels": [["000000.png", 0], ["000001.png", [1.0]]]}, "all class indices")]:
        (root / "dataset.json").write_text(json.dumps(bad))
        with pytest.raises(ConfigError, match=match):
            ImageFolderDataset(root, 16)


def test_class_labels_stay_one_hot(tmp_path):
    root = write_disc_folder(tmp_path / "imgs", 3, 16)
    (root / "dataset.json").write_text(json.dumps({"labels": [[f"{i:06d}.png", i] for i in range(3)]}))
    ds = ImageFolderDataset(root, 16, xflip=True)
    assert ds.c_dim == 3 and not ds.continuous and ds[5][1].tolist() == [0.0, 0.0, 1.0]


def test_later_styles_are_exactly_independent_of_the_view_label():
    torch.manual_seed(0)
    G = Generator(CFG)
    assert isinstance(G.mapping, ViewConditionedMapping)
    z = torch.randn(4, 8)
    for psi in (1.0, 0.7):
        a = G.mapping(z, torch.zeros(4, 2), truncation_psi=psi)
        b = G.mapping(z, torch.randn(4, 2) * 3, truncation_psi=psi)
        assert torch.equal(a[:, 2:], b[:, 2:])
        assert torch.equal(a[:, 2:], G.mapping.shared(z, None, truncation_psi=psi)[:, 2:])
        assert (a[:, :2] - b[:, :2]).abs().max() > 1e-3
    with pytest.raises(ShapeError, match="c must be"):
        G.mapping(z, None)


def test_view_conditioned_generator_round_trips_and_configs_stay_as_they_were(tmp_path):
    torch.manual_seed(1)
    G = Generator(CFG).eval()
    path = save_network(tmp_path / "g.safetensors", G)
    H = load_network(path)
    assert H.config == CFG and isinstance(H.mapping, ViewConditionedMapping)
    z, c = torch.randn(2, 8), torch.tensor([[0.5, -0.2], [-1.0, 0.3]])
    torch.testing.assert_close(H(z, c, noise_mode="const"), G(z, c, noise_mode="const"), rtol=0, atol=0)
    assert "view_layers" not in GeneratorConfig(img_resolution=16).to_dict()
    assert GeneratorConfig.from_dict(CFG.to_dict()) == CFG
    for bad in (dict(c_dim=0, view_layers=2), dict(c_dim=2, view_layers=CFG.num_ws + 1), dict(c_dim=2, view_layers=-1)):
        with pytest.raises(ConfigError, match="view_layers"):
            GeneratorConfig(img_resolution=16, z_dim=8, w_dim=8, channel_base=64, channel_max=16, **bad)
