import pytest
import torch

from gan2d.errors import ConfigError, ShapeError
from gan2d.losses.regularizers import PathLengthRegularizer, lazy_due, path_lengths, r1_loss, r1_penalty


def _critic() -> torch.nn.Module:
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.Softplus(), torch.nn.Flatten(), torch.nn.Linear(4 * 9, 1)
    ).double()


def test_r1_matches_finite_differences():
    net = _critic()
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    pen = r1_penalty(net(x), x)
    eps = 1e-6
    for b in range(2):
        sq = 0.0
        for idx in range(18):
            e = torch.zeros(18, dtype=torch.float64)
            e[idx] = eps
            e = e.view(2, 3, 3)
            xb = x[b].detach()
            g = (net((xb + e)[None]) - net((xb - e)[None])).item() / (2 * eps)
            sq += g * g
        assert pen[b].item() == pytest.approx(sq, rel=1e-6)


def test_r1_loss_scaling_and_double_backward():
    net = _critic()
    x = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    logits = net(x)
    pen = r1_penalty(logits, x).mean()
    loss = r1_loss(net(x), x, gamma=10.0, interval=16)
    assert loss.item() == pytest.approx(pen.item() * 5.0 * 16)
    loss.backward()
    assert net[0].weight.grad is not None and net[0].weight.grad.abs().sum() > 0  # bias of the last layer has none


def test_r1_requires_grad_input():
    with pytest.raises(ShapeError, match="requires_grad"):
        r1_penalty(torch.zeros(2), torch.zeros(2, 1, 2, 2))


def test_lazy_due():
    assert [lazy_due(s, 4) for s in range(6)] == [True, False, False, False, True, False]
    with pytest.raises(ConfigError):
        lazy_due(0, 0)


def test_path_lengths_linear_generator():
    # img = A w (per sample): J^T y = A^T y, so the length is |A^T y|
    a = torch.randn(12, 5, dtype=torch.float64)
    ws = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    img = (ws @ a.T).view(3, 1, 3, 4)
    y = torch.randn_like(img)
    lengths = path_lengths(img, ws, y)
    expected = (y.view(3, 12) @ a).norm(dim=1)
    torch.testing.assert_close(lengths, expected)


def test_path_length_regularizer_running_mean():
    reg = PathLengthRegularizer(weight=2.0, decay=0.5)
    ws = torch.randn(4, 3, requires_grad=True)
    img = (ws * 2.0).view(4, 3, 1, 1)  # J = 2 I, so |J^T y| = 2 |y|
    y = torch.randn_like(img)
    lengths = 2.0 * y.view(4, 3).norm(dim=1)
    loss = reg(img, ws, y, interval=4)
    target = 0.5 * lengths.mean()
    assert reg.mean.item() == pytest.approx(target.item(), rel=1e-5)
    assert loss.item() == pytest.approx(((lengths - target) ** 2).mean().item() * 2.0 * 4, rel=1e-5)
    reg.eval()
    reg(img, ws, y)
    assert reg.mean.item() == pytest.approx(target.item(), rel=1e-5)  # eval mode leaves the mean alone
