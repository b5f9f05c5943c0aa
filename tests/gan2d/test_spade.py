import pytest
import torch

from gan2d.errors import ConfigError, ShapeError
from gan2d.layers.adain import AdaIN, adaptive_instance_norm
from gan2d.layers.attention import SelfAttention, spatial_self_attention
from gan2d.layers.norms import make_norm, maybe_spectral_norm
from gan2d.layers.spade import SPADE, SPADEConfig, spade_modulate


def test_adain_statistics():
    x = torch.randn(2, 3, 8, 8) * 5 + 2
    scale, bias = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]), torch.tensor([[0.0, 1.0, -1.0], [2.0, 2.0, 2.0]])
    y = adaptive_instance_norm(x, scale, bias)
    torch.testing.assert_close(y.mean(dim=(2, 3)), bias, atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std(dim=(2, 3), unbiased=False), scale, atol=1e-3, rtol=1e-3)
    layer = AdaIN(3, 4)
    assert layer(x, torch.randn(2, 4)).shape == x.shape
    with pytest.raises(ShapeError):
        adaptive_instance_norm(x, scale[:, :2], bias)


def test_spade_uses_label_layout():
    torch.manual_seed(0)
    spade = SPADE(4, 2, SPADEConfig(hidden_channels=8))
    x = torch.randn(1, 4, 8, 8)
    label = torch.zeros(1, 2, 32, 32)
    label[:, 0, :, :16] = 1
    label[:, 1, :, 16:] = 1
    y = spade(x, label)
    assert y.shape == x.shape
    # same features under two different layouts must differ: γ/β really depend on the map
    assert not torch.allclose(y, spade(x, label.flip(-1)))
    # with zeroed predictors SPADE is parameter-free instance norm
    for conv in (spade.to_gamma, spade.to_beta):
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    torch.testing.assert_close(spade(x, label), torch.nn.functional.instance_norm(x))
    with pytest.raises(ShapeError, match="label map"):
        spade(x, torch.zeros(1, 3, 8, 8))
    with pytest.raises(ConfigError):
        SPADEConfig(kernel_size=2)


def test_spade_modulate_formula():
    n, g, b = torch.randn(1, 2, 3, 3), torch.randn(1, 2, 3, 3), torch.randn(1, 2, 3, 3)
    torch.testing.assert_close(spade_modulate(n, g, b), n * (1 + g) + b)


def test_attention_identity_at_init_and_weights_rows():
    block = SelfAttention(16)
    x = torch.randn(2, 16, 4, 4)
    torch.testing.assert_close(block(x), x)
    # constant values are reproduced exactly because attention rows sum to one
    v = torch.ones(1, 3, 2, 2) * torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1)
    q = torch.randn(1, 2, 2, 2)
    torch.testing.assert_close(spatial_self_attention(q, torch.randn(1, 2, 2, 2), v), v)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    assert not torch.allclose(block(x), x)


def test_norm_choices_and_spectral():
    assert isinstance(make_norm("instance", 4), torch.nn.InstanceNorm2d)
    assert isinstance(make_norm("batch", 4), torch.nn.BatchNorm2d)
    assert isinstance(make_norm("none", 4), torch.nn.Identity)
    with pytest.raises(ConfigError):
        make_norm("layer", 4)
    torch.manual_seed(0)
    lin = maybe_spectral_norm(torch.nn.Linear(6, 5), True)
    for _ in range(30):
        lin(torch.randn(1, 6))  # power iterations converge during training forwards
    lin.eval()
    assert torch.linalg.matrix_norm(lin.weight, ord=2).item() == pytest.approx(1.0, rel=1e-3)
    plain = torch.nn.Linear(2, 2)
    assert maybe_spectral_norm(plain, False) is plain
