import pytest
import torch

from gan2d.errors import ConfigError, ShapeError
from gan2d.nets.patchgan import MultiScalePatchGAN, PatchGANConfig, patch_logits


@pytest.mark.parametrize("norm", ["spectral", "instance", "none"])
def test_shapes_and_features(norm):
    D = MultiScalePatchGAN(
        PatchGANConfig(in_channels=4, base_channels=8, max_channels=32, num_layers=3, num_scales=3, norm=norm)
    )
    feats = D(torch.randn(2, 4, 64, 64))
    assert len(feats) == 3 and all(len(f) == 5 for f in feats)
    # pix2pixHD geometry: k4 p2 convs, three stride-2 then stride-1 → 64 → 33 → 17 → 9 → 10 → 11
    assert [tuple(f.shape) for f in feats[0]] == [
        (2, 8, 33, 33),
        (2, 16, 17, 17),
        (2, 32, 9, 9),
        (2, 32, 10, 10),
        (2, 1, 11, 11),
    ]
    assert feats[1][0].shape[-1] == 17 and feats[2][0].shape[-1] == 9  # later scales see halved inputs
    assert [t.shape[1] for t in patch_logits(feats)] == [1, 1, 1]
    has_sn = any("parametrizations" in name for name, _ in D.named_parameters())
    assert has_sn == (norm == "spectral")


def test_patch_logits_are_local():
    torch.manual_seed(0)
    D = MultiScalePatchGAN(PatchGANConfig(in_channels=3, base_channels=4, num_layers=2, num_scales=1, norm="none"))
    x = torch.randn(1, 3, 64, 64)
    y = x.clone()
    y[:, :, :8, :8] += 5.0  # perturb the top-left corner only
    a, b = D(x)[0][-1], D(y)[0][-1]
    assert not torch.allclose(a[..., :2, :2], b[..., :2, :2])
    torch.testing.assert_close(a[..., -3:, -3:], b[..., -3:, -3:])  # far patches do not see the change


def test_errors():
    with pytest.raises(ConfigError):
        PatchGANConfig(norm="batchnorm")
    with pytest.raises(ShapeError):
        MultiScalePatchGAN(PatchGANConfig(in_channels=6))(torch.zeros(1, 3, 32, 32))
