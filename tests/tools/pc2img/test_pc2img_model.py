"""pc2img stages: shapes and invariants, the per-scene expansion, weights on disk, cloud validation."""

import dataclasses

import pytest
import torch

from render3d import Cameras, intrinsics_from_fov, look_at
from tools.errors import ToolError
from tools.pc2img.fit import expand_model
from tools.pc2img.model import Pc2ImgConfig, Pc2ImgModel, composite
from tools.pc2img.pipeline import net_input, prepare_cloud, render_views, splat
from tools.pc2img.weights import load_weights, save_weights


def _camera(size=32):
    R, t = look_at(torch.tensor([[0.0, 0.0, 3.0]]), torch.zeros(1, 3))
    return Cameras(intrinsics_from_fov(50, size, size)[None], R, t, size, size)


def _cloud(config: Pc2ImgConfig, n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    pts = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=1) * 0.6
    return prepare_cloud(pts, torch.rand(n, 3, generator=g), pts / 0.6, config.splat)


@pytest.mark.parametrize("arch", ["unet", "spade"])
def test_stage_shapes_ranges_and_empty_pixels(arch):
    torch.manual_seed(0)
    config = Pc2ImgConfig(refiner_arch=arch)
    model = Pc2ImgModel(config).eval()
    cloud = _cloud(config)
    with torch.no_grad():
        out = render_views(model, cloud, _camera(37), torch.tensor([0.2, 0.4, 0.6]))
    assert out.image.shape == out.coarse.shape == out.splat.shape == (1, 37, 37, 3)
    assert out.visibility.shape == out.alpha.shape == (1, 37, 37)
    for x in (out.image, out.coarse, out.visibility, out.alpha):
        assert x.min() >= 0 and x.max() <= 1
    empty = ~out.buffers.mask[0]
    assert empty.any() and (out.visibility[0][empty] == 0).all()  # nothing splatted, nothing visible
    # the naive splat is the point colors on covered pixels and the background elsewhere
    torch.testing.assert_close(out.splat[0][empty], torch.tensor([0.2, 0.4, 0.6]).expand(int(empty.sum()), 3))
    assert config.splat_channels == net_input(out.buffers).shape[1]


def test_composite_is_over():
    rgb, alpha = torch.full((1, 3, 2, 2), 0.8), torch.tensor([0.0, 0.5, 1.0, 1.0]).view(1, 1, 2, 2)
    out = composite(rgb, alpha, torch.tensor([0.0, 0.0, 1.0]))
    torch.testing.assert_close(out[0, :, 0, 1], torch.tensor([0.4, 0.4, 0.9]))
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([0.0, 0.0, 1.0]))


@pytest.mark.parametrize("arch", ["unet", "spade"])
def test_expanded_model_renders_exactly_like_the_feed_forward_one_until_descriptors_change(arch):
    torch.manual_seed(1)
    config = Pc2ImgConfig(refiner_arch=arch)
    model = Pc2ImgModel(config).eval()
    # non-zero weights everywhere, so a wrong column mapping would show
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    big = expand_model(model, 4).eval()
    assert big.config.feature_channels == 7
    cloud = _cloud(config)
    cam = _camera()
    richer = cloud.with_features(torch.cat([cloud.features, torch.zeros(cloud.num_points, 4)], 1))
    with torch.no_grad():
        a = model(net_input(splat(cloud, cam, config.splat)))
        b = big(net_input(splat(richer, cam, config.splat)))
        torch.testing.assert_close(a.rgb, b.rgb, atol=1e-5, rtol=0)
        torch.testing.assert_close(a.visibility, b.visibility, atol=1e-5, rtol=0)
    # the descriptors are real inputs: once their weights move, non-zero descriptors change the image
    with torch.no_grad():
        for p in big.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        c = big(net_input(splat(richer.with_features(richer.features + torch.cat(
            [torch.zeros(cloud.num_points, 3), torch.ones(cloud.num_points, 4)], 1)), cam, config.splat)))
        d = big(net_input(splat(richer, cam, config.splat)))
    assert (c.rgb - d.rgb).abs().max() > 1e-3


def test_weights_round_trip_and_bad_files(tmp_path):
    torch.manual_seed(2)
    model = Pc2ImgModel(Pc2ImgConfig(vis_channels=4, coarse_channels=4, refiner_channels=4, depth=2))
    path = save_weights(tmp_path / "w.safetensors", model, {"note": "test"})
    assert path.with_suffix(".json").is_file()
    loaded, extra = load_weights(path)
    assert extra == {"note": "test"} and loaded.config == model.config
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ToolError, match="cannot load pc2img weights"):
        load_weights(tmp_path / "bad.safetensors")
    with pytest.raises(ToolError, match="cannot load pc2img weights"):
        load_weights(tmp_path / "missing.safetensors")


def test_config_round_trip_and_bad_values():
    c = Pc2ImgConfig(refiner_arch="spade", spacing_k=6)
    assert Pc2ImgConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ToolError):
        Pc2ImgConfig.from_dict({**c.to_dict(), "unknown": 1})
    with pytest.raises(ToolError):
        dataclasses.replace(c, refiner_arch="gan")


def test_clouds_are_validated():
    s = Pc2ImgConfig().splat
    with pytest.raises(ToolError, match="empty"):
        prepare_cloud(torch.zeros(0, 3), None, None, s)
    with pytest.raises(ToolError, match="every point"):
        prepare_cloud(torch.full((5, 3), float("nan")), None, None, s)
    with pytest.raises(ToolError, match="1 of 5"):
        prepare_cloud(torch.cat([torch.rand(4, 3), torch.full((1, 3), float("inf"))]), None, None, s)
    with pytest.raises(ToolError, match="one row per point"):
        prepare_cloud(torch.rand(5, 3), torch.rand(4, 3), None, s)
    grey = prepare_cloud(torch.rand(5, 3), None, None, s)
    assert (grey.features == 0.5).all()  # uncolored clouds render as mid-grey shape


def test_a_camera_that_sees_nothing_is_a_tool_error():
    config = Pc2ImgConfig(vis_channels=4, coarse_channels=4, refiner_channels=4, depth=2)
    cloud = prepare_cloud(torch.rand(50, 3) + torch.tensor([0.0, 0.0, -10.0]), None, None, config.splat)
    R, t = look_at(torch.tensor([[0.0, 0.0, 3.0]]), torch.tensor([[0.0, 0.0, 10.0]]))  # looking away
    cam = Cameras(intrinsics_from_fov(50, 16, 16)[None], R, t, 16, 16)
    with pytest.raises(ToolError, match="sees none of the 50 points"):
        render_views(Pc2ImgModel(config), cloud, cam, torch.ones(3))


def test_fresh_model_refines_nothing_and_visibility_gates_splat_colors():
    torch.manual_seed(3)
    config = Pc2ImgConfig()
    model = Pc2ImgModel(config).eval()
    cloud = _cloud(config, n=3000)
    f2 = config.factor**2
    with torch.no_grad():
        x = net_input(splat(cloud, _camera(), config.splat))
        fresh = model(x)
        model.coarse.out.bias[4 * f2:5 * f2].fill_(30.0)  # gate fully open
        model.visibility.out.weight.zero_()
        model.visibility.out.bias.fill_(30.0)  # every splatted point seen
        seen = model(x)
        model.visibility.out.bias.fill_(-30.0)  # every splatted point hidden
        hidden = model(x)
    assert torch.equal(fresh.rgb, fresh.coarse_rgb.clamp(0, 1)) and torch.equal(fresh.alpha, fresh.coarse_alpha)
    covered = x[0, 0] > 0
    splat_rgb = (x[0, 2:5] + 1) / 2
    torch.testing.assert_close(seen.coarse_rgb[0][:, covered], splat_rgb[:, covered], atol=1e-5, rtol=0)
    assert (hidden.coarse_rgb[0] - splat_rgb).abs()[:, covered].mean() > 0.05
