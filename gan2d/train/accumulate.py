"""Gradient accumulation that trains like more processes: micro-batches as separate processes.

A process that runs a micro-batches of a step must end where a processes running one each would
(after `gan2d.train.distributed.average_buffers`): gradients are the mean over micro-batches (the
caller scales each loss by 1/a), and buffers that forward passes update (the tracked w average, the
path-length mean, spectral-norm power iterations, batch-norm statistics) must not be updated a times
in a row. So each micro-batch starts from the buffers the step started with, and the buffers end as
the mean over micro-batches (non-float buffers, e.g. counters, as the last micro-batch left them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
from torch import nn

T = TypeVar("T")


def as_separate_processes(modules: Sequence[nn.Module], n: int, fn: Callable[[int], T]) -> list[T]:
    """Run `fn(0)`, …, `fn(n - 1)`, each from the same buffers of `modules`; leave their mean.

    Args:
        modules: every module whose buffers a forward pass may update.
        n: number of micro-batches.
        fn: runs micro-batch a (forward and backward).

    Returns:
        `[fn(0), …, fn(n - 1)]`.

    Example:
        >>> bn = nn.BatchNorm1d(1, momentum=1.0)  # the running mean becomes the batch mean
        >>> data = [torch.tensor([[1.0], [3.0]]), torch.tensor([[5.0], [7.0]])]
        >>> _ = as_separate_processes([bn], 2, lambda a: bn(data[a]))
        >>> bn.running_mean  # (2 + 6) / 2, as two processes averaging their statistics
        tensor([4.])
    """
    if n == 1:
        return [fn(0)]
    buffers = list({id(b): b for m in modules for b in m.buffers()}.values())
    start = [b.detach().clone() for b in buffers]
    sums = [torch.zeros_like(b) if b.is_floating_point() else None for b in buffers]
    out = []
    for a in range(n):
        if a:
            with torch.no_grad():
                for b, s0 in zip(buffers, start, strict=True):
                    b.copy_(s0)
        out.append(fn(a))
        with torch.no_grad():
            for b, s in zip(buffers, sums, strict=True):
                if s is not None:
                    s += b
    with torch.no_grad():
        for b, s in zip(buffers, sums, strict=True):
            if s is not None:
                b.copy_(s / n)
    return out
