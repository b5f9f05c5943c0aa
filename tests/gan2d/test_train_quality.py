"""The real StyleGAN2 networks trained with the full objective on toy discs reach a measurable quality bar (slow)."""

import pytest
import torch

from gan2d.data.toy import TensorImageDataset, disc_images
from gan2d.metrics.frechet import moment_distance, random_feature_distance
from gan2d.nets.stylegan2 import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig
from gan2d.train.config import TrainConfig
from gan2d.train.loop import train
from gan2d.train.stylegan2_task import StyleGAN2LossConfig, StyleGAN2Task


@pytest.mark.slow
def test_stylegan2_learns_discs(tmp_path):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        arch = dict(img_resolution=16, channel_base=512, channel_max=32)
        G = Generator(GeneratorConfig(**arch, z_dim=32, w_dim=32, mapping_layers=2))
        D = Discriminator(DiscriminatorConfig(**arch))
        cfg = TrainConfig(total_kimg=6.4, batch_size=16, ema_kimg=0.5, log_every=50, sample_every_kimg=1.6,
                          checkpoint_every_kimg=0, progress=False)  # fmt: skip
        task = StyleGAN2Task(G, D, cfg, StyleGAN2LossConfig(r1_gamma=0.1, pl_weight=2.0, diffaug=("translation",)))
        ref = disc_images(256, 16, seed=99)
        z = torch.randn(256, 32)

        def measure() -> tuple[float, float]:
            with torch.no_grad():
                fake = task.G_ema(z, noise_mode="const")
            return random_feature_distance(ref, fake), moment_distance(ref, fake)

        rfd0, mom0 = measure()
        train(task, TensorImageDataset(disc_images(1024, 16)), cfg, tmp_path)
        rfd1, mom1 = measure()
        print(f"StyleGAN2 16px, 400 steps: RFD {rfd0:.2f} -> {rfd1:.2f}, moments {mom0:.3f} -> {mom1:.3f}")
        assert rfd1 < 0.1 * rfd0
        assert mom1 < 0.2 * mom0
    finally:
        torch.set_num_threads(n)
