import numpy as np
import pytest
import torch
from scipy import linalg

from gan2d.data.toy import disc_images
from gan2d.errors import ShapeError
from gan2d.metrics.frechet import (
    RandomFeatureConfig,
    RandomFeatureNet,
    frechet_distance,
    gaussian_fit,
    image_moments,
    moment_distance,
    random_feature_distance,
)


def test_frechet_matches_scipy_sqrtm_formula():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2, m1, m2 = a @ a.T, b @ b.T, rng.normal(size=6), rng.normal(size=6)
    ref = ((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(np.real(linalg.sqrtm(s1 @ s2)))
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(ref, rel=1e-8)
    assert frechet_distance(m1, s1, m1, s1) == pytest.approx(0.0, abs=1e-8)
    # singular covariances (rank 1) stay finite and exact: 1D Gaussians N(0, 1) vs N(0, 4) → (1 - 2)^2
    e = np.zeros((3, 3))
    e[0, 0] = 1.0
    assert frechet_distance(np.zeros(3), e, np.zeros(3), 4 * e) == pytest.approx(1.0)
    with pytest.raises(ShapeError):
        frechet_distance(m1, s1, m2[:3], s2)


def test_random_feature_net_is_fixed_by_seed():
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    a = RandomFeatureNet(RandomFeatureConfig(width=8, depth=2, seed=1))(x)
    b = RandomFeatureNet(RandomFeatureConfig(width=8, depth=2, seed=1))(x)
    c = RandomFeatureNet(RandomFeatureConfig(width=8, depth=2, seed=2))(x)
    assert a.shape == (4, 32) and torch.equal(a, b) and not torch.equal(a, c)


def test_distances_rank_distributions():
    real, other_real = disc_images(160, 16, 0), disc_images(160, 16, 1)
    blurred = torch.nn.functional.avg_pool2d(real, 3, 1, 1)
    noise = torch.randn_like(real) * 0.3
    same = random_feature_distance(real, other_real)
    assert same < random_feature_distance(real, blurred) < random_feature_distance(real, noise)
    assert moment_distance(real, other_real) < moment_distance(real, noise)


def test_moments_and_fit():
    x = torch.zeros(2, 1, 4, 4)
    x[:, :, :, 2:] = 1.0  # one vertical edge per row: |dx| = 1 at 1 of 3 columns
    m = image_moments(x)
    assert m[0].item() == pytest.approx(0.5) and m[2].item() == pytest.approx(1 / 3)
    mu, cov = gaussian_fit(torch.tensor([[0.0, 1.0], [2.0, 3.0]]))
    np.testing.assert_allclose(mu, [1.0, 2.0])
    np.testing.assert_allclose(cov, [[2.0, 2.0], [2.0, 2.0]])
