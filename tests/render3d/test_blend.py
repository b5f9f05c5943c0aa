"""Blending functions: values on hand-made fragments and float64 gradcheck."""

from __future__ import annotations

import math

import pytest
import torch

from render3d.blend import (
    SoftBlendSettings,
    dibr_alpha_blend,
    hard_rgb_blend,
    sigmoid_alpha_blend,
    softmax_rgb_blend,
)
from render3d.errors import ShapeError
from render3d.fragments import Fragments


def _frags(dists, zbuf, p2f):
    p2f = torch.as_tensor(p2f)
    return Fragments(p2f, torch.zeros(*p2f.shape, 3, dtype=dists.dtype), zbuf, dists)


def test_hard_blend_takes_nearest_color_and_background():
    p2f = torch.tensor([[[[3, 1], [-1, -1]]]])
    colors = torch.stack([torch.tensor([1.0, 0, 0]), torch.tensor([0.0, 1, 0])])[None, None, None].repeat(1, 1, 2, 1, 1)
    frags = _frags(torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2), p2f)
    out = hard_rgb_blend(colors, frags, torch.tensor([0.2, 0.3, 0.4]))
    torch.testing.assert_close(out[0, 0], torch.tensor([[1.0, 0, 0, 1], [0.2, 0.3, 0.4, 0]]))
    with pytest.raises(ShapeError):
        hard_rgb_blend(colors, frags, torch.zeros(4))


def test_sigmoid_alpha_values():
    dists = torch.tensor([[[[0.0, -1.0], [2.0, 5.0]]]])
    frags = _frags(dists, torch.ones_like(dists), [[[[0, 1], [2, -1]]]])
    alpha = sigmoid_alpha_blend(frags, 0.5)
    s = torch.sigmoid
    expect0 = 1 - (1 - s(torch.tensor(0.0))) * (1 - s(torch.tensor(2.0)))
    torch.testing.assert_close(alpha[0, 0], torch.stack([expect0, s(torch.tensor(-4.0))]))


def test_dibr_alpha_values():
    dists = torch.tensor([[[[-0.5, 3.0], [1.0, 2.0]]]])
    frags = _frags(dists, torch.ones_like(dists), [[[[0, 1], [2, 3]]]])
    alpha = dibr_alpha_blend(frags, 2.0)
    expect1 = 1 - (1 - math.exp(-0.25)) * (1 - math.exp(-1.0))
    torch.testing.assert_close(alpha[0, 0], torch.tensor([1.0, expect1]))


def test_softmax_blend_limits():
    settings = SoftBlendSettings(sigma=0.1, gamma=1e-4, background=(0.0, 0.0, 1.0), znear=1.0, zfar=10.0)
    dists = torch.tensor([[[[-5.0, -5.0], [50.0, 50.0]]]])
    zbuf = torch.tensor([[[[2.0, 3.0], [2.0, 3.0]]]])
    colors = torch.tensor([[1.0, 0, 0], [0.0, 1, 0]])[None, None, None].repeat(1, 1, 2, 1, 1)
    out = softmax_rgb_blend(colors, _frags(dists, zbuf, [[[[0, 1], [0, 1]]]]), settings)
    # Deep inside both faces with a sharp depth softmax: the nearer face's color, alpha 1.
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([1.0, 0, 0, 1]), atol=1e-4, rtol=0)
    # Far outside both faces: the background, alpha 0.
    torch.testing.assert_close(out[0, 0, 1], torch.tensor([0.0, 0, 1, 0]), atol=1e-4, rtol=0)


def test_softmax_blend_matches_formula():
    torch.manual_seed(0)
    s = SoftBlendSettings(sigma=0.7, gamma=0.3, background=(0.1, 0.9), znear=1.0, zfar=5.0)
    dists, zbuf, colors = torch.randn(1, 1, 1, 3) * 2, 1 + 3 * torch.rand(1, 1, 1, 3), torch.rand(1, 1, 1, 3, 2)
    out = softmax_rgb_blend(colors, _frags(dists, zbuf, [[[[0, 1, 2]]]]), s)
    p = torch.sigmoid(-dists[0, 0, 0] / 0.7)
    zi = (5.0 - zbuf[0, 0, 0]) / 4.0
    w = p * torch.exp((zi - zi.max()) / 0.3)
    delta = math.exp((1e-10 - float(zi.max())) / 0.3)
    rgb = ((w[:, None] * colors[0, 0, 0]).sum(0) + delta * torch.tensor([0.1, 0.9])) / (w.sum() + delta)
    torch.testing.assert_close(out[0, 0, 0, :2], rgb)
    torch.testing.assert_close(out[0, 0, 0, 2], 1 - torch.prod(1 - p))


def test_blend_gradcheck():
    torch.manual_seed(1)
    p2f = torch.tensor([[[[0, 1, -1], [2, -1, -1]], [[-1, -1, -1], [3, 4, 5]]]])
    dists = torch.randn(1, 2, 2, 3, dtype=torch.float64, requires_grad=True)
    zbuf = (1 + 3 * torch.rand(1, 2, 2, 3, dtype=torch.float64)).requires_grad_()
    colors = torch.rand(1, 2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    s = SoftBlendSettings(sigma=0.8, gamma=0.2, background=(0.3, 0.2, 0.1), znear=0.5, zfar=6.0)

    def soft(d, z, c):
        return softmax_rgb_blend(c, _frags(d, z, p2f), s)

    def sil(d):
        return sigmoid_alpha_blend(_frags(d, zbuf.detach(), p2f), 0.6)

    def dibr(d):
        return dibr_alpha_blend(_frags(d, zbuf.detach(), p2f), 0.6)

    assert torch.autograd.gradcheck(soft, (dists, zbuf, colors))
    assert torch.autograd.gradcheck(sil, (dists,))
    assert torch.autograd.gradcheck(dibr, (dists,))


def test_soft_settings_validation():
    with pytest.raises(ShapeError):
        SoftBlendSettings(sigma=0.0)
    with pytest.raises(ShapeError):
        SoftBlendSettings(znear=2.0, zfar=1.0)
    frags = _frags(torch.zeros(1, 1, 1, 1), torch.ones(1, 1, 1, 1), [[[[0]]]])
    with pytest.raises(ShapeError):
        softmax_rgb_blend(torch.ones(1, 1, 1, 1, 2), frags, SoftBlendSettings())
