import math

import pytest
import torch

from gan2d.errors import ShapeError
from gan2d.losses.adversarial import (
    gradient_penalty,
    hinge_d_loss,
    hinge_g_loss,
    logistic_d_loss,
    logistic_g_loss,
    lsgan_d_loss,
    lsgan_g_loss,
    wgan_d_loss,
    wgan_g_loss,
)

REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-0.5, 1.5, 0.0])


def sp(x: float) -> float:
    return math.log1p(math.exp(x))


def test_logistic_known_values():
    d = sum(sp(f) for f in FAKE.tolist()) / 3 + sum(sp(-r) for r in REAL.tolist()) / 3
    g = sum(sp(-f) for f in FAKE.tolist()) / 3
    assert logistic_d_loss(REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    assert logistic_g_loss(FAKE).item() == pytest.approx(g, rel=1e-6)
    # non-saturating: gradient wrt a very negative fake logit stays near -1/B, not 0
    f = torch.tensor([-20.0], requires_grad=True)
    logistic_g_loss(f).backward()
    assert f.grad.item() == pytest.approx(-1.0, abs=1e-6)


def test_lsgan_known_values():
    d = 0.5 * ((1.0 + 4.0 + 0.25) / 3) + 0.5 * ((0.25 + 2.25 + 0.0) / 3)
    assert lsgan_d_loss(REAL, FAKE).item() == pytest.approx(d)
    assert lsgan_g_loss(FAKE).item() == pytest.approx(0.5 * (2.25 + 0.25 + 1.0) / 3)


def test_hinge_known_values():
    # relu(1 - r) = [0, 2, 0.5]; relu(1 + f) = [0.5, 2.5, 1]
    assert hinge_d_loss(REAL, FAKE).item() == pytest.approx(2.5 / 3 + 4.0 / 3)
    assert hinge_g_loss(FAKE).item() == pytest.approx(-1.0 / 3)


def test_wgan_known_values():
    assert wgan_d_loss(REAL, FAKE).item() == pytest.approx(1.0 / 3 - 1.5 / 3)
    assert wgan_g_loss(FAKE).item() == pytest.approx(-1.0 / 3)


def test_gradient_penalty_linear_critic_closed_form():
    # critic(x) = w·x has gradient w everywhere: penalty = (|w| - 1)^2
    w = torch.tensor([3.0, 4.0])
    gp = gradient_penalty(lambda x: x @ w, torch.randn(5, 2), torch.randn(5, 2))
    assert gp.item() == pytest.approx(16.0)


def test_gradient_penalty_matches_finite_differences():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    real, fake = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    alpha = torch.rand(4, dtype=torch.float64)
    gp = gradient_penalty(net, real, fake, alpha=alpha)
    mixed = alpha[:, None] * real + (1 - alpha[:, None]) * fake
    eps = 1e-6
    expected = 0.0
    for i in range(4):
        grad = []
        for j in range(3):
            e = torch.zeros(3, dtype=torch.float64)
            e[j] = eps
            grad.append((net(mixed[i] + e) - net(mixed[i] - e)).item() / (2 * eps))
        expected += (math.sqrt(sum(g * g for g in grad)) - 1.0) ** 2 / 4
    assert gp.item() == pytest.approx(expected, rel=1e-6)
    # the penalty is differentiable wrt the critic's parameters (double backward)
    gp.backward()
    assert net[0].weight.grad is not None and net[0].weight.grad.abs().sum() > 0


def test_gradient_penalty_rejects_mismatched_shapes():
    with pytest.raises(ShapeError, match="real"):
        gradient_penalty(lambda x: x.sum(1), torch.zeros(2, 3), torch.zeros(3, 3))
