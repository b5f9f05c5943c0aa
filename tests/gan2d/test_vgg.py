import pytest
import torch
from safetensors.torch import save_file

from gan2d.errors import CheckpointError, ConfigError
from gan2d.losses.perceptual import LPIPSLoss, PerceptualLoss, lpips_distance, normalize_channels
from gan2d.nets.vgg import VGGConfig, VGGFeatures, build_vgg_features, vgg_layer_names

SMALL = VGGConfig(16, ("relu1_2", "relu2_2"))


def _torchvision_style_state(depth: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(3)
    state = {f"features.{k}": v for k, v in build_vgg_features(depth).state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # extra keys of a full VGG are ignored
    return state


def test_layer_indices_match_torchvision():
    assert vgg_layer_names(16)["relu4_3"] == 22 and vgg_layer_names(16)["relu5_3"] == 29
    assert vgg_layer_names(19)["relu5_4"] == 35 and vgg_layer_names(19)["pool5"] == 36
    assert len(build_vgg_features(16)) == 31 and len(build_vgg_features(19)) == 37


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_load_from_file(tmp_path, suffix):
    state = _torchvision_style_state(16)
    path = tmp_path / f"vgg16{suffix}"
    if suffix == ".pth":
        torch.save(state, path)
    else:
        save_file(state, str(path))
    vgg = VGGFeatures.from_file(path, SMALL)
    torch.testing.assert_close(vgg.features[2].weight, state["features.2.weight"])
    assert not any(p.requires_grad for p in vgg.parameters())
    feats = vgg(torch.zeros(2, 3, 16, 16))
    assert [tuple(f.shape) for f in feats] == [(2, 64, 16, 16), (2, 128, 8, 8)]


def test_missing_and_mismatched_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        VGGFeatures.from_file(tmp_path / "nope.pth", SMALL)
    torch.save(_torchvision_style_state(16), tmp_path / "v16.pth")
    with pytest.raises(CheckpointError, match="missing"):  # VGG19 needs more layers than VGG16 has
        VGGFeatures.from_file(tmp_path / "v16.pth", VGGConfig(19, ("relu5_4",)))
    bad = _torchvision_style_state(16)
    bad["features.0.weight"] = torch.zeros(64, 1, 3, 3)
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="shape"):
        VGGFeatures.from_file(tmp_path / "bad.pth", SMALL)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        VGGFeatures.from_file(tmp_path / "junk.pth", SMALL)


def test_config_validation():
    with pytest.raises(ConfigError):
        VGGConfig(17)
    with pytest.raises(ConfigError):
        VGGConfig(16, ("relu2_2", "relu1_2"))


def test_input_normalization_matches_imagenet():
    vgg = VGGFeatures(VGGConfig(16, ("conv1_1",)))
    with torch.no_grad():
        vgg.features[0].weight.zero_()
        vgg.features[0].bias.zero_()
        vgg.features[0].weight[0, 0, 1, 1] = 1.0  # output channel 0 = normalized red channel
    img = torch.full((1, 3, 4, 4), 0.5)  # 0.75 in [0, 1]
    out = vgg(img)[0][0, 0, 2, 2]
    assert out.item() == pytest.approx((0.75 - 0.485) / 0.229, rel=1e-5)


def test_perceptual_and_lpips(tmp_path):
    torch.manual_seed(0)
    vgg = VGGFeatures(SMALL).eval()
    a, b = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    perc = PerceptualLoss(vgg, (0.5, 2.0))
    fa, fb = vgg(a), vgg(b)
    expected = 0.5 * (fa[0] - fb[0]).abs().mean() + 2.0 * (fa[1] - fb[1]).abs().mean()
    assert perc(a, b).item() == pytest.approx(expected.item(), rel=1e-5)
    assert perc(a, a).item() == pytest.approx(0.0, abs=1e-7)

    lp = LPIPSLoss(vgg)
    torch.testing.assert_close(lp(a, a), torch.zeros(2))
    w0, w1 = torch.rand(64), torch.rand(128)
    torch.save(
        {"lin0.model.1.weight": w0.view(1, 64, 1, 1), "lin1.model.1.weight": w1.view(1, 128, 1, 1)},
        tmp_path / "lin.pth",
    )
    lp.load_linear_weights(tmp_path / "lin.pth")
    na, nb = normalize_channels(fa[1]), normalize_channels(fb[1])
    layer1 = ((na - nb) ** 2 * w1.view(1, -1, 1, 1)).sum(1).mean(dim=(1, 2))
    layer0 = lpips_distance([fa[0]], [fb[0]], [w0])
    torch.testing.assert_close(lp(a, b), layer0 + layer1, rtol=1e-5, atol=1e-6)
    torch.save({"lin0": w0}, tmp_path / "short.pth")
    with pytest.raises(CheckpointError, match="layer 1"):
        lp.load_linear_weights(tmp_path / "short.pth")
