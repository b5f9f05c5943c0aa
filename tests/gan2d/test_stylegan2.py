"""StyleGAN2 generator/discriminator: shapes, determinism, truncation, style mixing, official layout."""

import pytest
import torch

from gan2d.errors import ConfigError, ShapeError
from gan2d.nets.stylegan2 import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig


def tiny_g(**kw) -> Generator:
    torch.manual_seed(0)
    cfg = GeneratorConfig(**{"img_resolution": 16, "z_dim": 12, "w_dim": 12, "channel_base": 128,
                             "channel_max": 16, "mapping_layers": 2, **kw})
    G = Generator(cfg).eval()
    with torch.no_grad():  # non-zero noise strengths and w_avg so the tests can see them
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.3)
        G.mapping.w_avg.normal_()
    return G


def test_generator_shapes_and_num_ws():
    G = tiny_g()
    assert G.num_ws == 6  # 4: conv+rgb, 8: 2 convs, 16: 2 convs + final rgb
    img = G(torch.randn(3, 12), noise_mode="const")
    assert img.shape == (3, 3, 16, 16)
    assert torch.isfinite(img).all()


def test_official_parameter_names():
    names = set(tiny_g().state_dict())
    for key in ["mapping.fc0.weight", "mapping.fc1.bias", "mapping.w_avg", "synthesis.b4.const",
                "synthesis.b4.conv1.affine.weight", "synthesis.b8.conv0.noise_strength",
                "synthesis.b8.conv0.noise_const", "synthesis.b16.torgb.weight", "synthesis.b8.conv0.resample_filter"]:
        assert key in names, key
    assert not any("b4.conv0" in n for n in names)


def test_const_noise_is_deterministic_random_is_not():
    G = tiny_g()
    z = torch.randn(2, 12)
    assert torch.equal(G(z, noise_mode="const"), G(z, noise_mode="const"))
    assert not torch.allclose(G(z, noise_mode="random"), G(z, noise_mode="random"))
    # noise "none" equals "const" once every strength is zero
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.zero_()
    assert torch.allclose(G(z, noise_mode="none"), G(z, noise_mode="const"))


def test_truncation_psi_zero_gives_w_avg_image():
    G = tiny_g()
    z = torch.randn(3, 12)
    img = G(z, truncation_psi=0.0, noise_mode="const")
    ws_avg = G.mapping.w_avg.expand(1, G.num_ws, -1)
    ref = G.synthesis(ws_avg, noise_mode="const")
    assert torch.allclose(img, ref.expand_as(img), atol=1e-5)
    ws = G.mapping(z, None, truncation_psi=0.5, truncation_cutoff=2)
    ws_full = G.mapping(z, None)
    assert torch.allclose(ws[:, 2:], ws_full[:, 2:])
    assert torch.allclose(ws[:, :2], G.mapping.w_avg + 0.5 * (ws_full[:, :2] - G.mapping.w_avg), atol=1e-6)


def test_style_mixing_changes_only_chosen_layers():
    G = tiny_g()
    ws_a = G.mapping(torch.randn(1, 12), None)
    ws_b = G.mapping(torch.randn(1, 12), None)
    mixed = ws_a.clone()
    mixed[:, 4:] = ws_b[:, 4:]  # fine layers (16x16 convs + rgb) from b
    img_a, img_m = G.synthesis(ws_a, "const"), G.synthesis(mixed, "const")
    assert not torch.allclose(img_a, img_m)
    # Coarse features up to 8x8 only depend on ws[:, :3]: run blocks manually and compare.
    x_a, rgb_a = G.synthesis.b4(None, None, ws_a[:, 0:2], "const", True)
    x_m, rgb_m = G.synthesis.b4(None, None, mixed[:, 0:2], "const", True)
    assert torch.equal(x_a, x_m) and torch.equal(rgb_a, rgb_m)
    x_a, _ = G.synthesis.b8(x_a, rgb_a, ws_a[:, 1:4], "const", True)
    x_m, _ = G.synthesis.b8(x_m, rgb_m, mixed[:, 1:4], "const", True)
    assert torch.equal(x_a, x_m)


def test_fused_and_non_fused_synthesis_agree():
    G = tiny_g()
    ws = G.mapping(torch.randn(2, 12), None)
    a = G.synthesis(ws, "const", fused_modconv=True)
    b = G.synthesis(ws, "const", fused_modconv=False)
    assert torch.allclose(a, b, atol=1e-5)


def test_w_avg_update_moves_towards_batch_mean():
    G = tiny_g()
    before = G.mapping.w_avg.clone()
    z = torch.randn(8, 12)
    w = G.mapping(z, None)[:, 0].mean(0)
    G.mapping(z, None, update_emas=True)
    assert torch.allclose(G.mapping.w_avg, w + 0.995 * (before - w), atol=1e-6)


def test_conditional_generator_uses_label():
    G = tiny_g(c_dim=4)
    z = torch.randn(1, 12)
    a = G(z, torch.eye(4)[:1], noise_mode="const")
    b = G(z, torch.eye(4)[1:2], noise_mode="const")
    assert not torch.allclose(a, b)
    with pytest.raises(ShapeError):
        G(z, None)


def test_second_order_gradients_through_generator():
    G = tiny_g()
    ws = G.mapping(torch.randn(2, 12), None).detach().requires_grad_(True)
    G.train()
    img = G.synthesis(ws, "const")
    (g,) = torch.autograd.grad((img * torch.randn_like(img)).sum(), ws, create_graph=True)
    g.square().sum().backward()
    assert G.synthesis.b8.conv0.weight.grad is not None
    assert G.synthesis.b8.conv0.weight.grad.abs().sum() > 0


def test_discriminator_shapes_conditional_and_r1_double_backward():
    torch.manual_seed(0)
    D = Discriminator(DiscriminatorConfig(img_resolution=16, c_dim=3, channel_base=128, channel_max=16))
    img = torch.randn(4, 3, 16, 16, requires_grad=True)
    c = torch.eye(3)[[0, 1, 2, 0]]
    logits = D(img, c)
    assert logits.shape == (4, 1)
    assert not torch.allclose(logits, D(img, torch.eye(3)[[1, 2, 0, 1]]))
    (g,) = torch.autograd.grad(logits.sum(), img, create_graph=True)
    g.square().sum().backward()
    assert D.b16.conv0.weight.grad.abs().sum() > 0
    assert "b4.out.weight" in D.state_dict() and "mapping.fc0.weight" in D.state_dict()
    with pytest.raises(ShapeError):
        D(torch.randn(4, 3, 8, 8), c)


def test_config_validation():
    with pytest.raises(ConfigError):
        GeneratorConfig(img_resolution=48)
    with pytest.raises(ConfigError):
        GeneratorConfig(img_resolution=2048)
    cfg = GeneratorConfig(img_resolution=64, conv_clamp=256.0)
    assert GeneratorConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError):
        GeneratorConfig.from_dict({"bogus": 1})
