"""Pixel-unshuffled U-Net and SPADE refiner: any image size, activations, per-pixel decisions, errors."""

import pytest
import torch

from gan2d.errors import ConfigError, ShapeError
from gan2d.nets.shuffle_unet import ShuffleUNet, ShuffleUNetConfig
from gan2d.nets.spade_refiner import SPADERefiner, SPADERefinerConfig


@pytest.mark.parametrize("size", [(16, 16), (30, 22), (7, 9)])
def test_shuffle_unet_keeps_any_size(size):
    net = ShuffleUNet(ShuffleUNetConfig(5, 2, base_channels=4, depth=2, factor=2))
    y = net(torch.randn(2, 5, *size))
    assert y.shape == (2, 2, *size) and y.abs().max() <= 1


def test_shuffle_unet_activations():
    x = torch.randn(1, 3, 16, 16) * 10
    logits = ShuffleUNet(ShuffleUNetConfig(3, 1, 4, depth=1, activation="none"))(x)
    probs = ShuffleUNet(ShuffleUNetConfig(3, 1, 4, depth=1, activation="sigmoid"))(x)
    assert logits.abs().max() > 1 or logits.std() > 0
    assert probs.min() >= 0 and probs.max() <= 1


def test_shuffle_unet_learns_a_per_pixel_map_at_full_resolution():
    # the target flips with every pixel (a checkerboard of the input's sign): only a net that keeps
    # full-resolution detail through the unshuffle can fit it
    torch.manual_seed(0)
    net = ShuffleUNet(ShuffleUNetConfig(1, 1, 8, depth=1, factor=2, activation="none"))
    x = torch.randn(4, 1, 16, 16)
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None]) % 2 * 2 - 1
    target = (x * checker > 0).float()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x), target)
        loss.backward()
        opt.step()
    acc = ((net(x) > 0).float() == target).float().mean()
    assert acc > 0.95


def test_shuffle_unet_errors():
    with pytest.raises(ShapeError):
        ShuffleUNet(ShuffleUNetConfig(3, 1, 4, depth=1))(torch.randn(1, 4, 8, 8))
    with pytest.raises(ConfigError):
        ShuffleUNetConfig(activation="relu")
    with pytest.raises(ConfigError):
        ShuffleUNetConfig(factor=0)


def test_spade_refiner_any_size_and_the_label_matters():
    torch.manual_seed(0)
    net = SPADERefiner(SPADERefinerConfig(4, 6, 3, base_channels=8, num_blocks=1, spade_hidden=8))
    img = torch.randn(1, 4, 18, 21)
    a = net(img, torch.zeros(1, 6, 18, 21))
    b = net(img, torch.randn(1, 6, 18, 21))
    assert a.shape == (1, 3, 18, 21) and a.abs().max() <= 1
    assert (a - b).abs().max() > 1e-3
    with pytest.raises(ShapeError):
        net(img, torch.zeros(1, 6, 18, 20))
    with pytest.raises(ShapeError):
        net(torch.zeros(1, 3, 18, 21), torch.zeros(1, 6, 18, 21))
