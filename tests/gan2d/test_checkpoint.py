"""Own checkpoint format: exact round trips, atomic writes, clear CheckpointError on bad files."""

import json
import os

import pytest
import torch

from gan2d.checkpoint import load_checkpoint, load_network, save_checkpoint, save_network
from gan2d.errors import CheckpointError
from gan2d.nets.stylegan2 import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig

G_CFG = GeneratorConfig(img_resolution=16, z_dim=8, w_dim=8, channel_base=64, channel_max=8, mapping_layers=2,
                        conv_clamp=256.0)


def test_generic_round_trip_is_exact(tmp_path):
    sd = {"a": torch.randn(3, 4), "b": torch.arange(5), "shared": torch.ones(2)}
    sd["view"] = sd["a"][1]  # shares storage with "a": must still save
    path = save_checkpoint(tmp_path / "x.safetensors", "demo", {"k": [1, 2]}, sd, extra={"step": 7})
    kind, config, loaded, extra = load_checkpoint(path)
    assert (kind, config, extra) == ("demo", {"k": [1, 2]}, {"step": 7})
    assert set(loaded) == set(sd)
    for name, t in sd.items():
        assert torch.equal(loaded[name], t) and loaded[name].dtype == t.dtype
    assert [p.name for p in tmp_path.iterdir()] == ["x.safetensors"]  # no temp files left behind


def test_generator_and_discriminator_round_trip(tmp_path):
    torch.manual_seed(0)
    G = Generator(G_CFG).eval()
    with torch.no_grad():
        G.mapping.w_avg.normal_()
    G2 = load_network(save_network(tmp_path / "g.safetensors", G))
    assert isinstance(G2, Generator) and G2.config == G.config
    for (n1, t1), (n2, t2) in zip(G.state_dict().items(), G2.state_dict().items(), strict=True):
        assert n1 == n2 and torch.equal(t1, t2)
    z = torch.randn(2, 8)
    assert torch.equal(G(z, truncation_psi=0.7, noise_mode="const"), G2(z, truncation_psi=0.7, noise_mode="const"))
    D = Discriminator(DiscriminatorConfig(img_resolution=16, c_dim=2, channel_base=64, channel_max=8)).eval()
    D2 = load_network(save_network(tmp_path / "d.safetensors", D))
    img, c = torch.randn(4, 3, 16, 16), torch.eye(2)[[0, 1, 0, 1]]
    assert torch.equal(D(img, c), D2(img, c))


def test_missing_corrupt_and_foreign_files_raise(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.safetensors")
    path = save_network(tmp_path / "g.safetensors", Generator(G_CFG))
    data = path.read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_network(truncated)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError):
        load_network(garbage)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.ones(1)}, str(foreign))
    with pytest.raises(CheckpointError, match="header"):
        load_checkpoint(foreign)


def test_mismatched_weights_and_unknown_kind_raise(tmp_path):
    G = Generator(G_CFG)
    sd = G.state_dict()
    bad_cfg = {**G_CFG.to_dict(), "w_dim": 16}
    with pytest.raises(CheckpointError, match="do not fit"):
        load_network(save_checkpoint(tmp_path / "a.safetensors", "stylegan2.generator", bad_cfg, sd))
    with pytest.raises(CheckpointError, match="unknown network kind"):
        load_network(save_checkpoint(tmp_path / "b.safetensors", "mystery", G_CFG.to_dict(), sd))
    with pytest.raises(CheckpointError, match="invalid"):
        load_network(save_checkpoint(tmp_path / "c.safetensors", "stylegan2.generator", {"bogus": 1}, sd))
    with pytest.raises(CheckpointError, match="JSON"):
        save_checkpoint(tmp_path / "d.safetensors", "x", {"obj": object()}, sd)


def test_newer_format_version_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "future.safetensors"
    header = {"format_version": 99, "kind": "stylegan2.generator", "config": {}, "extra": {}}
    save_file({"w": torch.ones(1)}, str(path), metadata={"neurender": json.dumps(header)})
    with pytest.raises(CheckpointError, match="format_version"):
        load_checkpoint(path)


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "x.safetensors", "demo", {}, {"w": torch.zeros(1)})
    import gan2d.checkpoint as ck

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ck, "save_file", boom)
    with pytest.raises(OSError):
        save_checkpoint(path, "demo", {}, {"w": torch.ones(1)})
    assert torch.equal(load_checkpoint(path)[2]["w"], torch.zeros(1))
    assert sorted(os.listdir(tmp_path)) == ["x.safetensors"]
