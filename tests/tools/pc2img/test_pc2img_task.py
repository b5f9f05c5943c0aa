"""The pc2img training task: the visibility loss weights hidden-point pixels up, and ignores empty pixels."""

import math

import pytest
import torch

from gan2d.nets.patchgan import MultiScalePatchGAN, PatchGANConfig
from gan2d.train.config import TrainConfig
from tools.pc2img.model import Pc2ImgConfig, Pc2ImgModel
from tools.pc2img.task import CONDITION_CHANNELS, Pc2ImgLossConfig, Pc2ImgTask


@pytest.mark.parametrize("hidden_weight", [1.0, 8.0])
def test_visibility_bce_weights_hidden_pixels(hidden_weight):
    G = Pc2ImgModel(Pc2ImgConfig(vis_channels=4, coarse_channels=4, refiner_channels=4, depth=1))
    with torch.no_grad():  # the visibility stage says "visible" everywhere with logit 2
        G.visibility.out.weight.zero_()
        G.visibility.out.bias.fill_(2.0)
    D = MultiScalePatchGAN(PatchGANConfig(CONDITION_CHANNELS + 3, 8, 16, 2, 1))
    x = torch.zeros(1, G.config.splat_channels, 16, 16)
    x[:, 0, :, :8] = 1  # the left half is covered
    vis = torch.zeros(1, 1, 16, 16)
    vis[..., :6] = 1  # 6 columns visible, 2 covered columns hidden, the rest empty
    batch = (x, torch.rand(1, 3, 16, 16), torch.ones(1, 1, 16, 16), vis, torch.ones(1, 3), torch.ones(1, 1))
    task = Pc2ImgTask(G, D, TrainConfig(), Pc2ImgLossConfig(vis_hidden_weight=hidden_weight, adv_weight=0,
                                                            fm_weight=0, num_samples=1), batch)
    _, stats = task._g_main(batch)
    seen, hidden = math.log1p(math.exp(-2.0)), math.log1p(math.exp(2.0))  # BCE of logit 2 vs 1 and vs 0
    expected = (6 * seen + 2 * hidden_weight * hidden) / (6 + 2 * hidden_weight)
    assert float(stats["vis_bce"].detach()) == pytest.approx(expected, rel=1e-5)
    assert float(stats["vis_acc"]) == pytest.approx(6 / 8)
