"""Multi-process training through `torch.distributed`, launched with `torchrun` (gloo on CPU, nccl on GPU).

Gradients are averaged with one flattened all-reduce per phase instead of wrapping networks in
DistributedDataParallel, because the regularization phases differentiate through gradients
(R1, path length), which DDP's bucketing hooks do not support.
Under torchrun the process group meets through `gan2d.train.elastic.attempt_store`, so workers
that torchrun restarts (elastic runs) never read the addresses of the workers they replace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: `rank` of `world_size` processes, running on `device`."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """True on the process that writes logs, samples and checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1


def init_distributed(device: str | None = None) -> DistInfo:
    """Join the process group described by torchrun's environment, or return a single-process `DistInfo`.

    Args:
        device: "cpu", "cuda" or None (CUDA when available). With CUDA each process takes
            `cuda:LOCAL_RANK` and the backend is nccl; on CPU it is gloo.

    Returns:
        This process' `DistInfo`.
    """
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world <= 1:
        return DistInfo(0, 1, dev)
    if not dist.is_initialized():
        from gan2d.train.elastic import attempt_store

        backend = "nccl" if use_cuda else "gloo"
        store = attempt_store()
        if store is None:  # launched some other way: the standard env:// rendezvous
            dist.init_process_group(backend=backend)
        else:
            dist.init_process_group(backend=backend, store=store, rank=int(os.environ["RANK"]), world_size=world)
    return DistInfo(dist.get_rank(), dist.get_world_size(), dev)


def shutdown_distributed() -> None:
    """Leave the process group if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def average_gradients(module: nn.Module, info: DistInfo) -> None:
    """Average the gradients of `module`'s trainable parameters over processes.

    A parameter with a gradient on some process counts as 0 on the others; one with a gradient on
    none keeps none, as in a single process, so the optimizer skips it there too (an R1 penalty
    reaches no output bias: Adam must not move it with momentum on some process counts only).
    """
    params = [p for p in module.parameters() if p.requires_grad]
    if not info.distributed or not params:
        return
    has = torch.tensor([p.grad is not None for p in params], dtype=torch.float32, device=info.device)
    dist.all_reduce(has)
    params = [p for p, n in zip(params, has.tolist(), strict=True) if n > 0]
    if not params:
        return
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def average_buffers(module: nn.Module, info: DistInfo) -> None:
    """Average floating-point buffers over processes (tracked w average, path-length mean, batch-norm stats).

    Each rank updates these from its own minibatch; averaging keeps the ranks identical and makes
    the statistics those of the global batch.
    """
    bufs = [b for b in module.buffers() if b.is_floating_point()]
    if not info.distributed or not bufs:
        return
    flat = torch.cat([b.detach().flatten() for b in bufs])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for b in bufs:
        b.copy_(flat[offset : offset + b.numel()].view_as(b))
        offset += b.numel()


def broadcast_module(module: nn.Module, info: DistInfo) -> None:
    """Copy rank 0's parameters and buffers to every process."""
    if not info.distributed:
        return
    for t in [*module.parameters(), *module.buffers()]:
        dist.broadcast(t.data, src=0)


def average_scalars(values: dict[str, float], info: DistInfo) -> dict[str, float]:
    """Mean of each named scalar over processes (keys must agree on every rank)."""
    if not info.distributed or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    t /= info.world_size
    return dict(zip(keys, t.tolist(), strict=True))


def barrier(info: DistInfo) -> None:
    """Wait for every process (no-op when single)."""
    if info.distributed:
        dist.barrier()
