import json

import pytest
import torch

from gan2d.data.toy import TensorImageDataset, disc_images
from gan2d.errors import ConfigError
from gan2d.train.config import TrainConfig
from gan2d.train.loop import train
from gan2d.train.stylegan2_task import StyleGAN2LossConfig, StyleGAN2Task
from tests.gan2d.toy_nets import ToyDiscriminator, ToyGenerator

LOSS = StyleGAN2LossConfig(r1_interval=2, pl_interval=3, diffaug=("color", "translation", "cutout"), num_samples=4)


pytestmark = pytest.mark.usefixtures("one_thread")


def _task(cfg: TrainConfig) -> StyleGAN2Task:
    torch.manual_seed(123)  # identical initial weights in every run
    return StyleGAN2Task(ToyGenerator(), ToyDiscriminator(), cfg, LOSS)


def _cfg(kimg: float) -> TrainConfig:
    return TrainConfig(
        total_kimg=kimg,
        batch_size=8,
        lr_g=0.002,
        lr_d=0.002,
        ema_kimg=0.05,
        log_every=2,
        sample_every_kimg=0.04,
        checkpoint_every_kimg=0.04,
        progress=False,
        seed=7,
    )


def test_resume_is_exact(tmp_path):
    data = TensorImageDataset(disc_images(20, 16))  # 20 is not a multiple of 8: resume crosses an epoch boundary
    full = _task(_cfg(0.096))
    train(full, data, _cfg(0.096), tmp_path / "full")

    part = _task(_cfg(0.048))
    res = train(part, data, _cfg(0.048), tmp_path / "split")
    assert res.steps == 6
    resumed = _task(_cfg(0.096))  # fresh objects: everything must come from the snapshot
    res2 = train(resumed, data, _cfg(0.096), tmp_path / "split", resume=True)
    assert res2.steps == 12 and res2.nimg == 96

    for name in ("G", "D", "G_ema"):
        a, b = full.networks[name].state_dict(), resumed.networks[name].state_dict()
        for k in a:
            assert torch.equal(a[k], b[k]), f"{name}.{k} differs after resume"
    assert torch.equal(full.pl.mean, resumed.pl.mean)
    sa, sb = full.optimizers["G"].state_dict()["state"], resumed.optimizers["G"].state_dict()["state"]
    assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)
    # the stats file of the resumed run has each step once
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / "stats.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6, 8, 10, 12]
    # and the weights changed at all (so the comparison above is meaningful)
    fresh = _task(_cfg(0.096))
    assert not torch.equal(fresh.G.mapping.net[0].weight, full.G.mapping.net[0].weight)


def test_resume_guards(tmp_path):
    data = TensorImageDataset(disc_images(8, 16))
    with pytest.raises(ConfigError, match="nothing to resume"):
        train(_task(_cfg(0.008)), data, _cfg(0.008), tmp_path / "run", resume=True)
    train(_task(_cfg(0.008)), data, _cfg(0.008), tmp_path / "run")
    with pytest.raises(ConfigError, match="already holds"):
        train(_task(_cfg(0.008)), data, _cfg(0.008), tmp_path / "run")


def test_refiner_resume_is_exact_with_spectral_norm(tmp_path):
    from gan2d.nets.patchgan import MultiScalePatchGAN, PatchGANConfig
    from gan2d.nets.unet import UNet, UNetConfig
    from gan2d.train.refiner_task import RefinerLossConfig, RefinerTask

    y = disc_images(12, 16)
    x = y.mean(dim=1, keepdim=True)

    class Pairs(torch.utils.data.Dataset):
        def __len__(self):
            return 12

        def __getitem__(self, i):
            return x[i], y[i]

    def task(cfg):
        torch.manual_seed(5)
        G = UNet(UNetConfig(in_channels=1, base_channels=4, depth=2))
        D = MultiScalePatchGAN(PatchGANConfig(in_channels=4, base_channels=4, num_layers=2, norm="spectral"))
        return RefinerTask(G, D, cfg, RefinerLossConfig(num_samples=2), (x, y))

    def cfg(kimg):
        return TrainConfig(total_kimg=kimg, batch_size=4, ema_kimg=0.02, log_every=1, sample_every_kimg=0,
                           checkpoint_every_kimg=0, progress=False)  # fmt: skip

    full = task(cfg(0.024))
    train(full, Pairs(), cfg(0.024), tmp_path / "full")
    train(task(cfg(0.012)), Pairs(), cfg(0.012), tmp_path / "split")
    resumed = task(cfg(0.024))
    train(resumed, Pairs(), cfg(0.024), tmp_path / "split", resume=True)
    for name in ("G", "D", "G_ema"):
        a, b = full.networks[name].state_dict(), resumed.networks[name].state_dict()
        assert any("_u" in k for k in a) or name != "D"  # spectral-norm power-iteration state is checkpointed
        for k in a:
            assert torch.equal(a[k], b[k]), f"{name}.{k} differs after resume"
