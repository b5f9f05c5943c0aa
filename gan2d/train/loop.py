"""The phase-based training loop shared by every GAN task.

A task supplies networks, optimizers and an ordered list of `Phase`s (StyleGAN2: `D_main`,
`D_reg`, `G_main`, `G_reg`). Each step the loop draws one minibatch and runs every phase that is
due (a phase with `interval=k` runs on steps 0, k, 2k, …: lazy regularization), then updates the
generator EMA, logs, writes samples and snapshots.

Exact resume: the data order is a pure function of (seed, images seen) and every phase reseeds
torch's RNG from (seed, step, phase, micro-batch), so a run resumed from a snapshot draws the same
latents, noise and augmentations as an uninterrupted one and ends with bit-identical weights on CPU.

The global batch does not depend on the number of processes: each step splits `batch_size` into
`batch_size / micro_batch` micro-batches, numbered across processes (process r runs micro-batches
r·a … r·a + a − 1, accumulating their gradients, with a = micro-batches per process). Micro-batch m
holds the same items and draws the same random numbers whatever the process count, buffers are
averaged over micro-batches as over processes (`gan2d.train.accumulate`), so P processes × a rounds
train the same weights as 1 × P·a, up to float rounding; an elastic restart on fewer or more
processes continues the same run. Every item is seen once per epoch by exactly one process
(`gan2d.data.sampler.InfiniteSampler`).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from gan2d.data.sampler import InfiniteSampler
from gan2d.errors import ConfigError
from gan2d.train.accumulate import as_separate_processes
from gan2d.train.config import TrainConfig
from gan2d.train.distributed import (
    DistInfo,
    average_buffers,
    average_gradients,
    average_scalars,
    barrier,
    broadcast_module,
)
from gan2d.train.elastic import is_elastic_restart, mark_elastic_run
from gan2d.train.ema import ema_beta, update_ema
from gan2d.train.reporting import StatsWriter, save_image_grid
from gan2d.train.snapshot import LoopState, latest_snapshot, load_snapshot, save_snapshot

Batch = tuple[torch.Tensor, ...]
PhaseLoss = Callable[[Batch], tuple[torch.Tensor, dict[str, torch.Tensor]]]


@dataclass
class Phase:
    """One optimization phase.

    Args:
        name: e.g. "D_main", "G_reg"; prefixes its stats.
        module: the network whose parameters this phase updates (all others are frozen during it).
        optimizer: the optimizer of `module`.
        loss: maps the minibatch to (scalar loss, named scalar stats).
        interval: run every `interval` steps (lazy regularization; the loss should be scaled by it).
        mixed_precision: allow bf16 autocast (regularizers that differentiate gradients stay fp32).
        start_kimg: the phase waits until this many thousand images have been shown (a generator's phases
            wait while a discriminator started fresh against it learns).
    """

    name: str
    module: nn.Module
    optimizer: torch.optim.Optimizer
    loss: PhaseLoss
    interval: int = 1
    mixed_precision: bool = True
    start_kimg: float = 0.0


class GANTask(Protocol):
    """What the loop needs from a task (see `StyleGAN2Task`, `RefinerTask`)."""

    networks: dict[str, nn.Module]
    """Every network, trained and averaged; saved as `{name}.safetensors` in each snapshot."""
    optimizers: dict[str, torch.optim.Optimizer]
    aux: dict[str, nn.Module]
    """Modules with training state that are not networks (e.g. the path-length mean)."""
    ema_pairs: list[tuple[str, str]]
    """(trained network, its EMA copy) names."""
    phases: list[Phase]
    sample_columns: int | None
    """Columns of the sample grid (None: square-ish)."""

    def samples(self) -> torch.Tensor:
        """A fixed `[N, C, H, W]` batch to look at (from fixed latents / inputs), in [-1, 1]."""
        ...


@dataclass
class RunResult:
    """Where a finished run left things."""

    steps: int
    nimg: int
    run_dir: Path
    last_snapshot: Path | None
    last_stats: dict[str, float]
    rank: int = 0


def micro_seed(seed: int, step: int, phase: int, micro: int) -> int:
    """The torch seed of one phase on one micro-batch of one step (the micro-batch numbered across
    processes): distinct per draw, the same whatever the process count, stable across resumes."""
    return (seed * 1_000_003 + step * 7919 + phase * 6_700_417 + micro * 104_729) % (2**63 - 1)


def split_batch(config: TrainConfig, info: DistInfo) -> tuple[int, int]:
    """(micro-batch size, micro-batches per process) of a step.

    Raises:
        ConfigError: `batch_size` does not split evenly into processes × micro-batches.
    """
    if config.batch_size % info.world_size:
        raise ConfigError(f"batch_size {config.batch_size} is not divisible by {info.world_size} processes")
    share = config.batch_size // info.world_size
    micro = config.micro_batch or share
    if share % micro:
        raise ConfigError(f"batch_size {config.batch_size} over {info.world_size} processes is {share} per process, "
                          f"not a multiple of micro_batch {micro}")
    return micro, share // micro


def _batches(dataset: torch.utils.data.Dataset, config: TrainConfig, info: DistInfo, start: int,
             micro: int) -> Iterator[Batch]:
    # One block of the global stream per process per step: its share of the global batch.
    sampler = InfiniteSampler(len(dataset), config.seed, info.rank, info.world_size, start,
                              chunk=config.batch_size // info.world_size)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=micro,
        sampler=sampler,
        num_workers=config.num_workers,
        pin_memory=info.device.type == "cuda",
        persistent_workers=config.num_workers > 0,
    )
    for batch in loader:
        yield tuple(t.to(info.device, non_blocking=True) for t in batch)


def _run_phase(phase: Phase, task: GANTask, batches: Sequence[Batch], config: TrainConfig, info: DistInfo,
               seeds: Sequence[int] | None = None) -> dict[str, float]:
    """One optimizer step of `phase` over this process' micro-batches (gradients accumulated, then
    averaged over processes); `seeds[a]` seeds torch's RNG before micro-batch a's loss."""
    # Freeze the other phases' networks: no wasted parameter gradients when G's loss runs through D.
    for other in {id(p.module): p.module for p in task.phases}.values():
        other.requires_grad_(other is phase.module)
    phase.optimizer.zero_grad(set_to_none=True)
    autocast = config.mixed_precision and phase.mixed_precision and info.device.type == "cuda"

    def micro_step(a: int) -> dict[str, torch.Tensor]:
        if seeds is not None:
            torch.manual_seed(seeds[a])
        with torch.autocast("cuda", dtype=torch.bfloat16) if autocast else contextlib.nullcontext():
            loss, stats = phase.loss(batches[a])
        (loss / len(batches)).backward()  # the mean over micro-batches, as over processes
        return {"loss": loss.detach(), **{k: v.detach() for k, v in stats.items()}}

    parts = as_separate_processes([*task.networks.values(), *task.aux.values()], len(batches), micro_step)
    stats = {k: torch.stack([torch.as_tensor(p[k], dtype=torch.float64) for p in parts]).mean() for k in parts[0]}
    average_gradients(phase.module, info)
    params = [p for p in phase.module.parameters() if p.grad is not None]
    for p in params:
        torch.nan_to_num_(p.grad, nan=0.0, posinf=1e5, neginf=-1e5)  # one bad batch must not poison the weights
    if config.grad_clip is not None and params:
        stats = {**stats, "grad_norm": torch.nn.utils.clip_grad_norm_(params, config.grad_clip)}
    phase.optimizer.step()
    return {f"{phase.name}/{k}": float(v.detach()) for k, v in stats.items()}


def _restore(task: GANTask, run_dir: Path, resume: bool) -> tuple[LoopState, Path | None]:
    snapshot = latest_snapshot(run_dir / "checkpoints")
    if resume or (snapshot is not None and is_elastic_restart(run_dir)):
        if snapshot is None:
            raise ConfigError(f"nothing to resume: {run_dir / 'checkpoints'} holds no snapshot")
        return load_snapshot(snapshot, task.networks, task.optimizers, task.aux), snapshot
    if snapshot is not None:
        raise ConfigError(f"{run_dir} already holds a training run; resume it or choose a new output folder")
    return LoopState(), None


def _place(task: GANTask, info: DistInfo) -> None:
    """Move everything to the device and make every process start from rank 0's state."""
    for module in [*task.networks.values(), *task.aux.values()]:
        module.to(info.device)
        broadcast_module(module, info)
    for opt in task.optimizers.values():  # optimizer state loaded on the CPU follows its parameters
        for s in opt.state.values():
            for k, v in s.items():
                if isinstance(v, torch.Tensor) and k != "step":
                    s[k] = v.to(info.device)


def train(
    task: GANTask,
    dataset: torch.utils.data.Dataset,
    config: TrainConfig,
    run_dir: str | Path,
    info: DistInfo | None = None,
    resume: bool = False,
    keep_snapshots: int = 3,
) -> RunResult:
    """Train `task` on `dataset` until `config.total_kimg`, writing into `run_dir`.

    Writes (rank 0): `train_config.json`, `stats.jsonl`, `samples/step-NNNNNNN.png` and
    `checkpoints/snapshot-*/` (see `gan2d.train.snapshot`).

    Args:
        task: networks, optimizers and phases.
        dataset: items are tuples of tensors (collated into the minibatch the phases get).
        config: loop settings.
        run_dir: output folder.
        info: process placement (single process on CPU when None).
        resume: continue from `run_dir/checkpoints/latest`.
        keep_snapshots: how many snapshots to keep on disk.

    Returns:
        A `RunResult`.

    A worker restarted by torchrun's elastic agent (`gan2d.train.distributed.is_elastic_restart`)
    resumes from the latest snapshot without being asked to.

    Raises:
        ConfigError: batch size not divisible into processes × micro-batches, `resume` without a
            snapshot, or a run directory that already holds snapshots when not resuming.
    """
    info = info or DistInfo()
    run_dir = Path(run_dir)
    micro, rounds = split_batch(config, info)
    state, snapshot = _restore(task, run_dir, resume)
    resume = resume or snapshot is not None
    _place(task, info)

    stats_writer = None
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        mark_elastic_run(run_dir)
        (run_dir / "train_config.json").write_text(json.dumps(config.to_dict(), indent=2))
        stats_writer = StatsWriter(run_dir / "stats.jsonl", state.step if resume else None)
    total = config.total_images
    sample_every = round(config.sample_every_kimg * 1000) or total
    ckpt_every = round(config.checkpoint_every_kimg * 1000) or total
    bar = None
    if info.is_main and config.progress:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=min(state.nimg, total), unit="img", dynamic_ncols=True)

    accum: dict[str, list[float]] = {}
    last: dict[str, float] = {}
    last_snapshot = snapshot
    t0 = time.perf_counter()
    batches = _batches(dataset, config, info, state.nimg, micro)
    first = info.rank * rounds  # this process' first micro-batch of every step
    while state.nimg < total:
        micro_batches = [next(batches) for _ in range(rounds)]
        for p, phase in enumerate(task.phases):
            if state.step % phase.interval == 0 and state.nimg >= phase.start_kimg * 1000:
                seeds = [micro_seed(config.seed, state.step, p, first + a) for a in range(rounds)]
                for k, v in _run_phase(phase, task, micro_batches, config, info, seeds).items():
                    accum.setdefault(k, []).append(v)
        for module in [*task.networks.values(), *task.aux.values()]:
            average_buffers(module, info)
        prev_nimg = state.nimg
        state.nimg += config.batch_size
        state.step += 1
        beta = ema_beta(config.batch_size, config.ema_kimg, state.nimg, config.ema_rampup)
        for src, ema in task.ema_pairs:
            update_ema(task.networks[ema], task.networks[src], beta)
        if bar is not None:
            bar.update(min(state.nimg, total) - min(prev_nimg, total))
        done = state.nimg >= total
        if state.step % config.log_every == 0 or done:
            means = average_scalars({k: sum(v) / len(v) for k, v in accum.items()}, info)
            accum.clear()
            elapsed = time.perf_counter() - t0
            last = {**means, "step": state.step, "kimg": state.nimg / 1000, "sec": round(elapsed, 3)}
            if stats_writer is not None:
                stats_writer.write(last)
            if bar is not None:
                bar.set_postfix({k.split("/")[0] + "/loss": f"{v:.3f}" for k, v in means.items() if k.endswith("loss")})
        if info.is_main and (state.nimg // sample_every != prev_nimg // sample_every or done):
            with torch.no_grad():
                save_image_grid(task.samples(), run_dir / "samples" / f"step-{state.step:07d}.png", task.sample_columns)
        if state.nimg // ckpt_every != prev_nimg // ckpt_every or done:
            if info.is_main:
                last_snapshot = save_snapshot(
                    run_dir / "checkpoints", state, task.networks, task.optimizers, task.aux, keep_snapshots
                )
            barrier(info)
    batches.close()  # releases the DataLoader (and its worker processes)
    if bar is not None:
        bar.close()
    return RunResult(state.step, state.nimg, run_dir, last_snapshot, last, info.rank)
