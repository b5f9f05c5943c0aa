"""Multi-head regression encoder: shapes, config round trip, bad input."""

import pytest
import torch

from gan2d.errors import ConfigError, ShapeError
from gan2d.nets.regressor import MultiHeadEncoder, MultiHeadEncoderConfig


def test_heads_share_features_and_config_round_trips():
    cfg = MultiHeadEncoderConfig(heads=(("pose", 2), ("code", 5)), resolution=16, base_channels=4, max_channels=8)
    net = MultiHeadEncoder(cfg).eval()
    x = torch.randn(3, 3, 16, 16)
    out = net(x)
    assert out["pose"].shape == (3, 2) and out["code"].shape == (3, 5)
    f = net.features(x)
    assert f.shape == (3, net.feature_dim)
    assert torch.allclose(net.heads["pose"](f), out["pose"])
    assert MultiHeadEncoderConfig.from_dict(cfg.to_dict()) == cfg


def test_bad_configs_and_inputs_are_refused():
    with pytest.raises(ConfigError):
        MultiHeadEncoderConfig(heads=(("a", 1), ("a", 2)))
    with pytest.raises(ConfigError):
        MultiHeadEncoderConfig(resolution=24)
    with pytest.raises(ConfigError, match="unknown"):
        MultiHeadEncoderConfig.from_dict({"heads": [["a", 1]], "colour": 1})
    net = MultiHeadEncoder(MultiHeadEncoderConfig(resolution=8))
    with pytest.raises(ShapeError):
        net(torch.zeros(1, 3, 16, 16))
