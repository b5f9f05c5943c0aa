"""Gradient accumulation and data sharding: the micro-batches of a step, and the items of an epoch, do not
depend on how many processes share the work (the equal weights themselves: test_torchrun_elastic)."""

import itertools

import pytest
import torch

from gan2d.data.sampler import InfiniteSampler
from gan2d.errors import ConfigError
from gan2d.train.accumulate import as_separate_processes
from gan2d.train.config import TrainConfig
from gan2d.train.distributed import DistInfo
from gan2d.train.loop import micro_seed, split_batch

N, BATCH, MICRO, STEPS = 10, 8, 2, 6  # the epoch (10) ends inside a step (8)


def _micro_batches(world: int, start_step: int = 0) -> list[list[list[int]]]:
    """Per step, the micro-batches in global order, as the loop draws them with `world` processes."""
    cfg = TrainConfig(batch_size=BATCH, micro_batch=MICRO, seed=5)
    streams = []
    for r in range(world):
        info = DistInfo(r, world)
        micro, rounds = split_batch(cfg, info)
        sampler = InfiniteSampler(N, cfg.seed, r, world, start_step * BATCH, chunk=BATCH // world)
        items = list(itertools.islice(sampler, (STEPS - start_step) * rounds * micro))
        streams.append([items[k:k + micro] for k in range(0, len(items), micro)])
    rounds = len(streams[0]) // (STEPS - start_step)
    return [[m for r in range(world) for m in streams[r][s * rounds:(s + 1) * rounds]]
            for s in range(STEPS - start_step)]


def test_micro_batches_do_not_depend_on_the_process_count_and_resume_exactly() -> None:
    one = _micro_batches(1)
    assert _micro_batches(2) == _micro_batches(4) == one
    assert _micro_batches(2, start_step=3) == one[3:]  # a resumed (or elastically restarted) run continues


def test_every_item_is_seen_once_per_epoch() -> None:
    for world in (1, 2, 4):
        flat = [i for step in _micro_batches(world) for m in step for i in m]
        epochs = [flat[e * N:(e + 1) * N] for e in range(len(flat) // N)]
        assert len(epochs) == STEPS * BATCH // N
        assert all(sorted(e) == list(range(N)) for e in epochs), world
        assert epochs[0] != epochs[1]  # reshuffled each epoch


def test_micro_seeds_and_split_errors() -> None:
    seeds = {micro_seed(0, s, p, m) for s in range(50) for p in range(4) for m in range(8)}
    assert len(seeds) == 50 * 4 * 8
    assert split_batch(TrainConfig(batch_size=8, micro_batch=2), DistInfo(1, 2)) == (2, 2)
    assert split_batch(TrainConfig(batch_size=8), DistInfo(0, 2)) == (4, 1)
    with pytest.raises(ConfigError, match="not divisible by 3 processes"):
        split_batch(TrainConfig(batch_size=8), DistInfo(0, 3))
    with pytest.raises(ConfigError, match="6 per process, not a multiple of micro_batch 4"):
        split_batch(TrainConfig(batch_size=12, micro_batch=4), DistInfo(0, 2))
    for bad in (8, 3, 0):
        with pytest.raises(ConfigError, match=r"micro_batch must divide batch_size \(4\)"):
            TrainConfig(batch_size=4, micro_batch=bad)


def test_micro_batches_update_buffers_as_separate_processes() -> None:
    bn = torch.nn.BatchNorm1d(2, momentum=0.5)
    lin = torch.nn.Linear(2, 1)
    data = [torch.tensor([[0.0, 1.0], [2.0, 3.0]]), torch.tensor([[4.0, 5.0], [6.0, 9.0]])]

    def micro(a: int) -> float:
        loss = lin(bn(data[a])).sum() / 2
        loss.backward()
        return float(loss)

    as_separate_processes([bn, lin], 2, micro)
    # Each micro-batch moved the running mean half-way from 0 to its own mean; the buffers end as
    # two processes' would after averaging: not as two updates in a row.
    torch.testing.assert_close(bn.running_mean, torch.tensor([(0.5 + 2.5) / 2, (1.0 + 3.5) / 2]))
    assert bn.num_batches_tracked.item() == 1
    assert lin.weight.grad is not None  # gradients accumulate as usual
