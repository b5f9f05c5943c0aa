"""rosinality stylegan2-pytorch checkpoints: a fixture state dict with rosinality's names and layouts is
imported and compared against rosinality's generator math written out independently here."""

import argparse
import math

import pytest
import torch
import torch.nn.functional as F

from gan2d.errors import CheckpointError
from gan2d.importers.rosinality import load_rosinality
from gan2d.ops.upfirdn2d import setup_filter, upfirdn2d_reference

SIZE, STYLE, N_MLP, CH = 16, 8, 3, {4: 16, 8: 16, 16: 8}  # channel_multiplier-style: min(128 // r, 16)


def rosinality_state(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, s=1.0):
        return torch.randn(*shape, generator=g) * s

    sd: dict[str, torch.Tensor] = {}
    for i in range(1, N_MLP + 1):
        sd[f"style.{i}.weight"] = rnd(STYLE, STYLE) / 0.01
        sd[f"style.{i}.bias"] = rnd(STYLE, s=10.0)
    sd["input.input"] = rnd(1, CH[4], 4, 4)

    def styled(name, cin, cout):
        sd[f"{name}.conv.weight"] = rnd(1, cout, cin, 3, 3)
        sd[f"{name}.conv.modulation.weight"] = rnd(cin, STYLE)
        sd[f"{name}.conv.modulation.bias"] = 1 + rnd(cin, s=0.1)
        sd[f"{name}.noise.weight"] = rnd(1, s=0.3)
        sd[f"{name}.activate.bias"] = rnd(cout, s=0.2)

    def rgb(name, cin):
        sd[f"{name}.conv.weight"] = rnd(1, 3, cin, 1, 1)
        sd[f"{name}.conv.modulation.weight"] = rnd(cin, STYLE)
        sd[f"{name}.conv.modulation.bias"] = 1 + rnd(cin, s=0.1)
        sd[f"{name}.bias"] = rnd(1, 3, 1, 1, s=0.2)

    styled("conv1", CH[4], CH[4])
    rgb("to_rgb1", CH[4])
    sd["noises.noise_0"] = rnd(1, 1, 4, 4)
    for k, res in enumerate([8, 16]):
        styled(f"convs.{2 * k}", CH[res // 2], CH[res])
        styled(f"convs.{2 * k + 1}", CH[res], CH[res])
        rgb(f"to_rgbs.{k}", CH[res])
        sd[f"noises.noise_{2 * k + 1}"] = rnd(1, 1, res, res)
        sd[f"noises.noise_{2 * k + 2}"] = rnd(1, 1, res, res)
    return sd


def rosinality_forward(sd, z):
    """rosinality's Generator.forward(randomize_noise=False), written from its formulas."""
    blur = setup_filter([1, 3, 3, 1])
    x = z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-8)
    for i in range(1, N_MLP + 1):
        x = F.linear(x, sd[f"style.{i}.weight"] * (0.01 / math.sqrt(STYLE)))
        x = F.leaky_relu(x + sd[f"style.{i}.bias"] * 0.01, 0.2) * math.sqrt(2)
    B = z.shape[0]

    def modconv(h, name, demod, up):
        w = sd[f"{name}.conv.weight"]
        _, O, I, k, _ = w.shape
        s = F.linear(x, sd[f"{name}.conv.modulation.weight"] / math.sqrt(STYLE), sd[f"{name}.conv.modulation.bias"])
        w = (1 / math.sqrt(I * k * k)) * w * s.view(B, 1, I, 1, 1)
        if demod:
            w = w * torch.rsqrt(w.square().sum([2, 3, 4]) + 1e-8).view(B, O, 1, 1, 1)
        h = h.reshape(1, B * I, *h.shape[2:])
        if up:
            wt = w.transpose(1, 2).reshape(B * I, O, k, k)
            out = F.conv_transpose2d(h, wt, stride=2, groups=B)
            out = upfirdn2d_reference(out.view(B, O, *out.shape[2:]), blur, padding=1, gain=4)
            return out
        return F.conv2d(h, w.reshape(B * O, I, k, k), padding=k // 2, groups=B).view(B, O, *h.shape[2:])

    def styled(h, name, noise, up=False):
        out = modconv(h, name, True, up) + sd[f"{name}.noise.weight"] * noise
        return F.leaky_relu(out + sd[f"{name}.activate.bias"].view(1, -1, 1, 1), 0.2) * math.sqrt(2)

    def to_rgb(h, name, skip):
        out = modconv(h, name, False, False) + sd[f"{name}.bias"]
        if skip is not None:
            out = out + upfirdn2d_reference(skip, blur, up=2, padding=[2, 1, 2, 1], gain=4)
        return out

    h = sd["input.input"].repeat(B, 1, 1, 1)
    h = styled(h, "conv1", sd["noises.noise_0"])
    skip = to_rgb(h, "to_rgb1", None)
    for k in range(2):
        h = styled(h, f"convs.{2 * k}", sd[f"noises.noise_{2 * k + 1}"], up=True)
        h = styled(h, f"convs.{2 * k + 1}", sd[f"noises.noise_{2 * k + 2}"])
        skip = to_rgb(h, f"to_rgbs.{k}", skip)
    return skip


def test_imported_generator_matches_rosinality_math(tmp_path):
    sd = rosinality_state()
    latent_avg = torch.randn(STYLE)
    path = tmp_path / "550000.pt"
    torch.save({"g_ema": sd, "latent_avg": latent_avg, "args": argparse.Namespace(size=SIZE, n_mlp=N_MLP)}, path)
    G = load_rosinality(path)
    cfg = G.config
    assert (cfg.img_resolution, cfg.z_dim, cfg.mapping_layers, cfg.channel_base, cfg.channel_max) == (16, 8, 3, 128, 16)
    z = torch.randn(3, STYLE)
    want = rosinality_forward(sd, z)
    got = G(z, noise_mode="const")
    assert got.shape == want.shape == (3, 3, 16, 16)
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5), (got - want).abs().max()
    assert torch.equal(G.mapping.w_avg, latent_avg)


def test_bare_state_dict_without_latent_avg_or_noise_buffers(tmp_path):
    sd = {k: v for k, v in rosinality_state(1).items() if not k.startswith("noises.")}
    path = tmp_path / "g.pt"
    torch.save(sd, path)
    G = load_rosinality(path)
    z = torch.randn(4096, STYLE, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(G.mapping.w_avg, G.mapping(z, None)[:, 0].mean(0), atol=1e-5)
    assert G.synthesis.b16.conv1.noise_const.shape == (16, 16)
    assert torch.equal(load_rosinality(path).synthesis.b8.conv0.noise_const, G.synthesis.b8.conv0.noise_const)


def test_bad_rosinality_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_rosinality(tmp_path / "none.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError):
        load_rosinality(bad)
    other = tmp_path / "other.pt"
    torch.save({"model": {"w": torch.ones(1)}}, other)
    with pytest.raises(CheckpointError, match="rosinality"):
        load_rosinality(other)
    sd = rosinality_state()
    del sd["to_rgbs.1.conv.modulation.bias"]
    missing = tmp_path / "missing.pt"
    torch.save({"g_ema": sd}, missing)
    with pytest.raises(CheckpointError, match="lacks"):
        load_rosinality(missing)
