"""`neurender gan info|generate|export` on our own, official-pickle and rosinality checkpoints."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gan2d.checkpoint import load_network, save_network
from gan2d.nets.stylegan2 import Generator, GeneratorConfig
from tests.gan2d.pkl_fixtures import dump_official_pickle, persistent, randomize
from tools.cli import main

CFG = GeneratorConfig(img_resolution=16, z_dim=8, w_dim=8, channel_base=64, channel_max=8, mapping_layers=2)


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    G = randomize(Generator(CFG))
    return save_network(tmp_path / "g.safetensors", G), G


def _png(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_generate_writes_seed_images_grid_and_mixing(tmp_path, ckpt):
    path, G = ckpt
    out = tmp_path / "out"
    argv = ["gan", "generate", str(path), "--seeds", "0-2", "--trunc", "0.7", "--out", str(out),
            "--mix-seeds", "5,6", "--mix-layers", "0-1"]
    assert main(argv) == 0
    for s in range(3):
        assert (out / f"seed{s:04d}.png").is_file()
    z = torch.from_numpy(np.random.RandomState(1).randn(1, 8)).float()
    with torch.no_grad():
        img = G(z, truncation_psi=0.7, noise_mode="const")
    want = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0].numpy()
    assert np.array_equal(_png(out / "seed0001.png"), want)
    assert _png(out / "grid.png").shape == (16, 48, 3)
    assert _png(out / "mix_grid.png").shape == (64, 48, 3)  # (1 + 3 rows) x (1 + 2 cols) cells
    assert np.array_equal(_png(out / "mix_grid.png")[16:32, :16], _png(out / "seed0000.png"))
    # Mixing only the first two styles: the column seed's coarse styles, the row seed's fine ones.
    ws0 = G.mapping(torch.from_numpy(np.random.RandomState(0).randn(1, 8)).float(), None, truncation_psi=0.7)
    ws6 = G.mapping(torch.from_numpy(np.random.RandomState(6).randn(1, 8)).float(), None, truncation_psi=0.7)
    ws = ws0.clone()
    ws[:, :2] = ws6[:, :2]
    with torch.no_grad():
        mixed = (G.synthesis(ws, "const").permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)[0]
    assert np.array_equal(_png(out / "mix0000-0006.png"), mixed.numpy())
    assert json.loads((out / "config.json").read_text())["seeds"] == [0, 1, 2]


def test_info_prints_architecture(ckpt, capsys):
    assert main(["gan", "info", str(ckpt[0])]) == 0
    text = capsys.readouterr().out
    assert "resolution" in text and "16" in text and "num_ws" in text and "stylegan2.generator" in text


def test_official_pickle_generates_the_same_images_and_exports(tmp_path, ckpt):
    path, G = ckpt
    pkl = tmp_path / "snapshot.pkl"
    dump_official_pickle(pkl, lambda: {"G_ema": persistent(G, "raise SystemExit('executed')"), "G": None})
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["gan", "generate", str(path), "--seeds", "3", "--out", str(a)]) == 0
    assert main(["gan", "generate", str(pkl), "--seeds", "3", "--out", str(b)]) == 0
    assert np.array_equal(_png(a / "seed0003.png"), _png(b / "seed0003.png"))
    exported = tmp_path / "exported.safetensors"
    assert main(["gan", "export", str(pkl), "--out", str(exported)]) == 0
    assert torch.equal(load_network(exported).synthesis.b16.torgb.weight, G.synthesis.b16.torgb.weight)


@pytest.mark.parametrize("content", [None, b"", b"\x00garbage" * 10])
def test_missing_or_corrupt_checkpoint_exits_2_with_one_line(tmp_path, capsys, content):
    path = tmp_path / "g.safetensors"
    if content is not None:
        path.write_bytes(content)
    assert main(["gan", "generate", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neurender: error:") and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_bad_arguments_exit_2(tmp_path, ckpt, capsys):
    path = ckpt[0]
    assert main(["gan", "generate", str(path), "--seeds", "5-2", "--out", str(tmp_path / "o")]) == 2
    assert main(["gan", "generate", str(path), "--noise-mode", "loud", "--out", str(tmp_path / "o")]) == 2
    assert main(["gan", "generate", str(path), "--mix-seeds", "1", "--mix-layers", "0-40",
                 "--out", str(tmp_path / "o")]) == 2
    assert main(["gan", "info", str(tmp_path / "weights.h5")]) == 2
    assert "unknown checkpoint type" in capsys.readouterr().err
