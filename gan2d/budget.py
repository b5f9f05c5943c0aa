"""Build a network from an untrusted configuration without letting the configuration allocate at will.

A checkpoint's config (or a foreign pickle's attributes) decides how large the network is, and the
network is built before its weights are loaded: a 200-byte header asking for a 10⁶-wide mapping
network would allocate terabytes before any shape check ran. `build_within` counts the elements
every tensor factory (`torch.empty`, `zeros`, `ones`, `randn`, `rand`, `full`) is asked for while the
network is built, and stops *before* the allocation that would pass the limit; the caller sets the
limit from what the checkpoint file actually holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch.overrides import TorchFunctionMode

from gan2d.errors import CheckpointError

T = TypeVar("T")
_FACTORIES = {torch.empty, torch.zeros, torch.ones, torch.randn, torch.rand, torch.full}
SLACK = 1 << 20  # elements: buffers that are not saved (filters, caches) and tiny helpers


def _requested(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    size = kwargs.get("size", args[0] if args and not isinstance(args[0], int) else args)
    if isinstance(size, int):
        size = (size,)
    return math.prod(int(d) for d in size if isinstance(d, int | torch.SymInt))


class _Budget(TorchFunctionMode):
    def __init__(self, limit: int, what: str) -> None:
        super().__init__()
        self.limit, self.what, self.used = limit, what, 0

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if func in _FACTORIES:
            self.used += _requested(args, kwargs)
            if self.used > self.limit:
                raise CheckpointError(f"{self.what} needs over {self.limit:,} values, more than the checkpoint "
                                      "holds (refused before allocating)")
        return func(*args, **kwargs)


def build_within(build: Callable[[], T], held: int, what: str) -> T:
    """Call `build()` (which constructs a network) allowing its tensors at most `held + SLACK` elements.

    Args:
        build: constructs the network.
        held: elements the checkpoint holds (the network must fit in them to load strictly).
        what: names the network in the error, e.g. "the stylegan2.generator config".

    Raises:
        CheckpointError: the network would need more elements than allowed.

    Example:
        >>> build_within(lambda: torch.nn.Linear(4, 2), held=10, what="a layer").weight.shape
        torch.Size([2, 4])
        >>> build_within(lambda: torch.zeros(10**12), held=10, what="a layer")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        gan2d.errors.CheckpointError: a layer needs over 1,048,586 values, more than the checkpoint holds (refused ...
    """
    with _Budget(held + SLACK, what):
        return build()
