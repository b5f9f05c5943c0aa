"""The supervised fit loop: it learns, and a run resumed from its state file is bit-identical."""

import pytest
import torch
from torch import nn

from gan2d.errors import CheckpointError, ConfigError
from gan2d.train.supervised import STATE_FILE, FitConfig, fit, learning_rate

pytestmark = pytest.mark.usefixtures("one_thread")


def _problem():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 16), nn.Dropout(0.2), nn.Linear(16, 2))
    target = torch.randn(3, 2)

    def batches(g):
        x = torch.randn(32, 3, generator=g)
        return x, x @ target

    def loss(model, batch):
        e = ((model(batch[0]) - batch[1]) ** 2).mean()
        return e, {"mse": e.item()}

    return net, batches, loss


def test_fit_learns_and_schedules():
    net, batches, loss = _problem()
    first = loss(net, batches(torch.Generator().manual_seed(99)))[1]["mse"]
    stats = fit(net, batches, loss, FitConfig(steps=300, lr=0.02, warmup=10), progress=False)
    assert stats["mse"] < 0.1 * first
    cfg = FitConfig(steps=100, lr=1.0, warmup=10)
    assert learning_rate(cfg, 0) == pytest.approx(0.1) and learning_rate(cfg, 9) == pytest.approx(1.0)
    assert learning_rate(cfg, 100) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ConfigError):
        FitConfig(steps=0)


def test_resume_after_a_kill_is_bit_exact(tmp_path):
    net_a, batches, loss = _problem()
    fit(net_a, batches, loss, FitConfig(steps=40, lr=0.01, checkpoint_every=10), tmp_path / "a", progress=False)
    net_b, _, _ = _problem()
    fit(net_b, batches, loss, FitConfig(steps=20, lr=0.01, checkpoint_every=10), tmp_path / "b", progress=False)
    net_c, _, _ = _problem()  # a fresh process: only the state file carries over
    fit(net_c, batches, loss, FitConfig(steps=40, lr=0.01, checkpoint_every=10), tmp_path / "b", progress=False)
    for p, q in zip(net_a.state_dict().values(), net_c.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    (tmp_path / "b" / STATE_FILE).write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="cannot resume"):
        fit(net_c, batches, loss, FitConfig(steps=50), tmp_path / "b", progress=False)
