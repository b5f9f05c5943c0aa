import numpy as np
import pytest
import torch

from gan2d.errors import ShapeError
from gan2d.losses.feature_matching import feature_matching_loss
from gan2d.losses.reconstruction import (
    cycle_consistency_loss,
    gaussian_window,
    kl_divergence,
    l1_loss,
    l2_loss,
    psnr,
    ssim,
    ssim_loss,
)


def test_l1_l2_cycle_known():
    a, b = torch.tensor([[1.0, -1.0]]), torch.tensor([[0.0, 1.0]])
    assert l1_loss(a, b).item() == pytest.approx(1.5)
    assert l2_loss(a, b).item() == pytest.approx(2.5)
    assert cycle_consistency_loss(a, b).item() == pytest.approx(1.5)
    with pytest.raises(ShapeError):
        l1_loss(a, b.T)


def test_ssim_identical_is_one():
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(ssim(x, x), torch.ones(2))
    assert ssim_loss(x, x).item() == pytest.approx(0.0, abs=1e-6)


def test_ssim_matches_skimage():
    skm = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (24, 20))
    b = np.clip(a + rng.normal(0, 0.3, a.shape), -1, 1)
    ref = skm.structural_similarity(a, b, data_range=2.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    ours = ssim(torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None], data_range=2.0)
    assert ours.item() == pytest.approx(ref, abs=1e-9)


def test_ssim_constant_shift_formula():
    # two constant images: SSIM reduces to the luminance term (2 m1 m2 + c1) / (m1^2 + m2^2 + c1)
    a, b = torch.full((1, 1, 11, 11), 0.2), torch.full((1, 1, 11, 11), -0.4)
    c1 = (0.01 * 2.0) ** 2
    expected = (2 * 0.2 * -0.4 + c1) / (0.04 + 0.16 + c1)
    assert ssim(a, b).item() == pytest.approx(expected, rel=1e-4)


def test_gaussian_window_normalized():
    g = gaussian_window(11, 1.5)
    assert g.sum().item() == pytest.approx(1.0)
    assert g.argmax().item() == 5


def test_kl_known():
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, np.log(2.0)]])
    expected = 0.5 * (1.0 + 0.0) + 0.5 * (2.0 - 1.0 - np.log(2.0))
    assert kl_divergence(mu, logvar).item() == pytest.approx(expected, rel=1e-6)


def test_psnr_known():
    a = torch.zeros(1, 1, 2, 2)
    assert psnr(a, a + 0.2).item() == pytest.approx(10 * np.log10(4.0 / 0.04), rel=1e-5)


def test_feature_matching_skips_logits_and_averages_scales():
    fake = [
        [torch.ones(1, 2, 2, 2), torch.full((1, 1, 2, 2), 5.0)],
        [torch.full((1, 3, 1, 1), 3.0), torch.zeros(1, 1)],
    ]
    real = [[torch.zeros(1, 2, 2, 2), torch.zeros(1, 1, 2, 2)], [torch.zeros(1, 3, 1, 1), torch.zeros(1, 1)]]
    assert feature_matching_loss(fake, real).item() == pytest.approx((1.0 + 3.0) / 2)
    assert feature_matching_loss(fake, real, include_last=True).item() == pytest.approx((1 + 5 + 3) / 2)
    with pytest.raises(ShapeError):
        feature_matching_loss(fake, real[:1])
