"""A small supervised training loop for encoders and regressors (image → parameters), resumable exactly.

Every step draws its minibatch from a callback given a generator seeded by (seed, step), and reseeds
torch's global RNG from the same pair before the loss (dropout, augmentation), so a run resumed from its
state file repeats an uninterrupted one bit for bit on CPU. Adam with a linear warm-up and cosine decay.
The state file (`fit_state.pt`: model, optimizer, step, last stats) holds only tensors and plain
containers, is written atomically, and is read with `weights_only=True`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gan2d.errors import CheckpointError, ConfigError
from gan2d.io import atomic_write

STATE_FILE = "fit_state.pt"
Batch = tuple[torch.Tensor, ...]
BatchFn = Callable[[torch.Generator], Batch]
LossFn = Callable[[nn.Module, Batch], tuple[torch.Tensor, dict[str, float]]]


@dataclass(frozen=True)
class FitConfig:
    """Loop settings.

    Args:
        steps: optimizer steps.
        lr: peak Adam learning rate.
        warmup: linear warm-up steps.
        weight_decay: decoupled weight decay (AdamW) coefficient.
        seed: seeds every minibatch draw and step.
        checkpoint_every: steps between state files (0: only at the end).
        log_every: steps between progress updates.
    """

    steps: int = 2000
    lr: float = 2e-3
    warmup: int = 100
    weight_decay: float = 0.0
    seed: int = 0
    checkpoint_every: int = 250
    log_every: int = 25

    def __post_init__(self) -> None:
        if self.steps < 1 or not self.lr > 0 or self.warmup < 0 or self.weight_decay < 0:
            raise ConfigError(f"FitConfig needs steps >= 1, lr > 0, warmup >= 0, weight_decay >= 0: {self}")
        if self.checkpoint_every < 0 or self.log_every < 1:
            raise ConfigError("checkpoint_every must be >= 0 and log_every >= 1")


def learning_rate(config: FitConfig, step: int) -> float:
    """Warm-up then cosine decay to 0 at `config.steps`.

    Example:
        >>> learning_rate(FitConfig(steps=100, lr=1.0, warmup=0), 50)
        0.5
    """
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    t = (step - config.warmup) / max(1, config.steps - config.warmup)
    return config.lr * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))


def _save_state(path: Path, model: nn.Module, opt: torch.optim.Optimizer, step: int, stats: dict[str, float]) -> None:
    state = {"step": step, "model": model.state_dict(), "optimizer": opt.state_dict(), "stats": stats}
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def _load_state(path: Path, model: nn.Module, opt: torch.optim.Optimizer) -> tuple[int, dict[str, float]]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        return int(state["step"]), dict(state["stats"])
    except Exception as e:
        raise CheckpointError(f"cannot resume from {path}: {e}") from e


def fit(model: nn.Module, batches: BatchFn, loss_fn: LossFn, config: FitConfig, run_dir: str | Path | None = None,
        progress: bool = True) -> dict[str, float]:
    """Train `model` for `config.steps` steps (continuing from `run_dir/fit_state.pt` when present).

    Args:
        model: the network (left in train mode during steps, eval mode on return).
        batches: draws one minibatch from the step's seeded generator.
        loss_fn: (model, batch) → (scalar loss, named float stats).
        config: loop settings.
        run_dir: where the state file lives; None trains without checkpoints.
        progress: show a progress bar.

    Returns:
        The stats of the last step (averaged over the last `log_every` steps).

    Example:
        >>> _ = torch.manual_seed(0)  # the initial weights (an unlucky draw near -1 needs more than 300 steps)
        >>> net = nn.Linear(1, 1)
        >>> def data(g): x = torch.randn(16, 1, generator=g); return x, 3 * x
        >>> def loss(m, b): e = ((m(b[0]) - b[1]) ** 2).mean(); return e, {"mse": float(e.detach())}
        >>> fit(net, data, loss, FitConfig(steps=300, lr=0.05, warmup=0), progress=False)["mse"] < 1e-3
        True
    """
    from tqdm import tqdm

    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    state_path = Path(run_dir) / STATE_FILE if run_dir is not None else None
    step, stats = 0, {}
    if state_path is not None:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        if state_path.is_file():
            step, stats = _load_state(state_path, model, opt)
    bar = tqdm(total=config.steps, initial=step, disable=not progress, unit="step", dynamic_ncols=True)
    model.train()
    window: dict[str, list[float]] = {}
    while step < config.steps:
        seed = (config.seed * 1_000_003 + step * 7919) % (2**63 - 1)
        batch = batches(torch.Generator().manual_seed(seed))
        torch.manual_seed(seed)
        for group in opt.param_groups:
            group["lr"] = learning_rate(config, step)
        opt.zero_grad(set_to_none=True)
        loss, step_stats = loss_fn(model, batch)
        loss.backward()
        opt.step()
        step += 1
        for k, v in {"loss": float(loss.detach()), **step_stats}.items():
            window.setdefault(k, []).append(v)
        if step % config.log_every == 0 or step == config.steps:
            stats = {k: sum(v) / len(v) for k, v in window.items()}
            window.clear()
            bar.set_postfix({k: f"{v:.4f}" for k, v in stats.items()})
        bar.update(1)
        if state_path is not None and (step == config.steps or
                                       (config.checkpoint_every and step % config.checkpoint_every == 0)):
            _save_state(state_path, model, opt, step, stats)
    bar.close()
    model.eval()
    return stats
