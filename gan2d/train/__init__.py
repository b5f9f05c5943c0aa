"""The training engine: a phase-based loop (`D_main`, `D_reg`, `G_main`, `G_reg`) shared by every GAN task.

Example:
    >>> from gan2d.train import TrainConfig, StyleGAN2Task, StyleGAN2LossConfig, train  # doctest: +SKIP
    >>> cfg = TrainConfig(total_kimg=10)  # doctest: +SKIP
    >>> task = StyleGAN2Task(G, D, cfg, StyleGAN2LossConfig(diffaug=("translation",)))  # doctest: +SKIP
    >>> train(task, open_image_dataset("data", 64), cfg, "runs/sg2")  # doctest: +SKIP
"""

from gan2d.train.config import TrainConfig
from gan2d.train.distributed import DistInfo, init_distributed, shutdown_distributed
from gan2d.train.loop import GANTask, Phase, RunResult, train
from gan2d.train.refiner_task import RefinerLossConfig, RefinerTask
from gan2d.train.stylegan2_task import StyleGAN2LossConfig, StyleGAN2Task

__all__ = [
    "DistInfo",
    "GANTask",
    "Phase",
    "RefinerLossConfig",
    "RefinerTask",
    "RunResult",
    "StyleGAN2LossConfig",
    "StyleGAN2Task",
    "TrainConfig",
    "init_distributed",
    "shutdown_distributed",
    "train",
]
