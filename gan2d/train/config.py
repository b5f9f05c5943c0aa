"""`TrainConfig`: the settings of the training loop itself, shared by every task (StyleGAN2, refiner)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from gan2d.errors import ConfigError


def check_finite(config: Any) -> None:
    """Refuse NaN or infinite float fields of the dataclass `config` (tuples of floats included).

    Range checks alone let NaN through: every comparison with NaN is False.

    Raises:
        ConfigError: naming the first non-finite field.

    Example:
        >>> check_finite(TrainConfig(lr_g=float("nan")))
        Traceback (most recent call last):
        ...
        gan2d.errors.ConfigError: TrainConfig.lr_g must be a finite number, got nan
    """
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        values = value if isinstance(value, tuple) else (value,)
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            raise ConfigError(f"{type(config).__name__}.{f.name} must be a finite number, got {value}")


@dataclass(frozen=True)
class TrainConfig:
    """Loop settings. Lengths are in real images shown (summed over processes), like StyleGAN's kimg.

    Args:
        total_kimg: stop after this many thousand real images.
        batch_size: global minibatch; split evenly over processes.
        micro_batch: images per forward/backward pass; each process accumulates the gradients of
            `batch_size / (processes × micro_batch)` of them per step, so the global batch and the
            trained weights do not depend on the process count (None: one pass per process per step).
        lr_g: generator Adam learning rate.
        lr_d: discriminator Adam learning rate (a different value gives TTUR).
        betas_g: generator Adam betas.
        betas_d: discriminator Adam betas.
        ema_kimg: half-life of the generator EMA in thousands of images (0 disables the EMA update).
        ema_rampup: if set, the half-life is capped at `cur_nimg * ema_rampup` early in training.
        grad_clip: max global gradient norm per phase (None: no clipping).
        mixed_precision: run the main phases under bfloat16 autocast on CUDA (ignored on CPU).
        seed: seeds the data order and every step's random draws.
        num_workers: DataLoader worker processes.
        log_every: steps between stats lines (JSONL + progress bar).
        sample_every_kimg: thousands of images between sample grids (0: only at the end).
        checkpoint_every_kimg: thousands of images between checkpoints (0: only at the end).
        progress: show a progress bar on rank 0.
    """

    total_kimg: float = 100.0
    batch_size: int = 16
    micro_batch: int | None = None
    lr_g: float = 0.0025
    lr_d: float = 0.0025
    betas_g: tuple[float, float] = (0.0, 0.99)
    betas_d: tuple[float, float] = (0.0, 0.99)
    ema_kimg: float = 10.0
    ema_rampup: float | None = 0.05
    grad_clip: float | None = None
    mixed_precision: bool = True
    seed: int = 0
    num_workers: int = 0
    log_every: int = 10
    sample_every_kimg: float = 5.0
    checkpoint_every_kimg: float = 10.0
    progress: bool = True

    def __post_init__(self) -> None:
        check_finite(self)
        if self.total_kimg <= 0 or self.batch_size <= 0:
            raise ConfigError(f"total_kimg and batch_size must be positive, got {self.total_kimg}, {self.batch_size}")
        if self.micro_batch is not None and not (0 < self.micro_batch <= self.batch_size
                                                 and self.batch_size % self.micro_batch == 0):
            raise ConfigError(f"micro_batch must divide batch_size ({self.batch_size}), got {self.micro_batch}")
        if self.lr_g <= 0 or self.lr_d <= 0:
            raise ConfigError(f"learning rates must be positive, got lr_g={self.lr_g}, lr_d={self.lr_d}")
        for name in ("betas_g", "betas_d"):
            b = getattr(self, name)
            if len(b) != 2 or not all(0.0 <= x < 1.0 for x in b):
                raise ConfigError(f"{name} must be two numbers in [0, 1), got {b}")
            object.__setattr__(self, name, (float(b[0]), float(b[1])))
        if self.ema_kimg < 0 or (self.ema_rampup is not None and self.ema_rampup <= 0):
            raise ConfigError("ema_kimg must be >= 0 and ema_rampup positive or None")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError(f"grad_clip must be positive or None, got {self.grad_clip}")
        if self.log_every <= 0 or self.num_workers < 0:
            raise ConfigError("log_every must be positive and num_workers >= 0")
        if self.sample_every_kimg < 0 or self.checkpoint_every_kimg < 0:
            raise ConfigError("sample_every_kimg and checkpoint_every_kimg must be >= 0")

    @property
    def total_images(self) -> int:
        """Training length in images."""
        return round(self.total_kimg * 1000)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of `to_dict`; unknown keys raise `ConfigError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown TrainConfig fields: {unknown}")
        values = dict(data)
        for name in ("betas_g", "betas_d"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)
