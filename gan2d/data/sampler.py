"""A resumable infinite shuffling sampler: the item order is a pure function of (seed, position)."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from gan2d.errors import ConfigError


class InfiniteSampler(torch.utils.data.Sampler[int]):
    """Yields dataset indices forever; epoch e is `randperm(n)` seeded with `seed + e`.

    The global stream is dealt to the processes in blocks of `chunk` positions (block k goes to rank
    k mod world_size), so every position, hence every item of an epoch, is seen by exactly one
    process; `start` skips the first `start` positions of the global stream, so a resumed run
    continues with exactly the items an uninterrupted run would have seen. The training loop deals
    one block per process per step (its share of the global batch), so the items of micro-batch m
    of a step do not depend on how many processes share the step.

    Args:
        length: dataset size n.
        seed: shuffling seed.
        rank: this process' rank.
        world_size: number of processes.
        start: global position to start from (images already consumed by all ranks together).
        chunk: consecutive positions per block (1: round-robin by position).

    Example:
        >>> list(zip(range(4), InfiniteSampler(3, seed=0)))[0][1] in range(3)
        True
    """

    def __init__(self, length: int, seed: int = 0, rank: int = 0, world_size: int = 1, start: int = 0,
                 chunk: int = 1) -> None:
        if length <= 0:
            raise ConfigError("InfiniteSampler: the dataset is empty")
        if not 0 <= rank < world_size or start < 0 or chunk < 1:
            raise ConfigError(f"InfiniteSampler: bad rank/world_size/start/chunk {rank}/{world_size}/{start}/{chunk}")
        self.length = length
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.start = start
        self.chunk = chunk

    def _perm(self, epoch: int) -> list[int]:
        g = torch.Generator().manual_seed(self.seed + epoch)
        return torch.randperm(self.length, generator=g).tolist()

    def __iter__(self) -> Iterator[int]:
        pos = self.start
        epoch = pos // self.length
        perm = self._perm(epoch)
        while True:
            owner = (pos // self.chunk) % self.world_size
            if owner != self.rank:  # jump to this rank's next block
                pos = (pos // self.chunk + (self.rank - owner) % self.world_size) * self.chunk
                continue
            e = pos // self.length
            if e != epoch:
                epoch, perm = e, self._perm(e)
            yield perm[pos % self.length]
            pos += 1
