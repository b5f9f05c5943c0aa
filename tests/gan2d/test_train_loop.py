import json

import pytest
import torch
from PIL import Image

from gan2d.data.toy import TensorImageDataset, disc_images
from gan2d.errors import ConfigError
from gan2d.metrics.frechet import moment_distance, random_feature_distance
from gan2d.train.config import TrainConfig
from gan2d.train.diffaug import diff_augment, rand_translation
from gan2d.train.ema import ema_beta, update_ema
from gan2d.train.loop import train
from gan2d.train.stylegan2_task import StyleGAN2LossConfig, StyleGAN2Task, lazy_adam
from tests.gan2d.toy_nets import ToyDiscriminator, ToyGenerator

pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(**kw) -> TrainConfig:
    base = dict(
        batch_size=8, lr_g=0.002, lr_d=0.002, log_every=1, sample_every_kimg=0, checkpoint_every_kimg=0, progress=False
    )
    return TrainConfig(**{**base, **kw})


def test_phases_follow_their_intervals_and_outputs_exist(tmp_path):
    torch.manual_seed(0)
    cfg = _cfg(total_kimg=0.048, grad_clip=1.0, sample_every_kimg=0.024)
    task = StyleGAN2Task(
        ToyGenerator(), ToyDiscriminator(), cfg, StyleGAN2LossConfig(r1_interval=4, pl_interval=3, num_samples=6)
    )
    calls = {p.name: 0 for p in task.phases}
    for phase in task.phases:
        inner = phase.loss

        def counted(batch, inner=inner, name=phase.name):
            calls[name] += 1
            return inner(batch)

        phase.loss = counted
    res = train(task, TensorImageDataset(disc_images(16, 16)), cfg, tmp_path)
    assert res.steps == 6 and res.nimg == 48
    assert calls == {"D_main": 6, "D_reg": 2, "G_main": 6, "G_reg": 2}  # steps 0,4 and 0,3
    lines = [json.loads(s) for s in (tmp_path / "stats.jsonl").read_text().splitlines()]
    assert [rec["step"] for rec in lines] == [1, 2, 3, 4, 5, 6]
    assert "D_reg/loss" in lines[0] and "D_reg/loss" not in lines[1] and "G_main/grad_norm" in lines[0]
    assert json.loads((tmp_path / "train_config.json").read_text())["batch_size"] == 8
    grids = sorted((tmp_path / "samples").glob("*.png"))
    assert [g.name for g in grids] == ["step-0000003.png", "step-0000006.png"]
    assert Image.open(grids[0]).size == (3 * 16, 2 * 16)  # 6 samples in a 3-column grid
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == "snapshot-000000048"


def test_lazy_adam_correction():
    opt = lazy_adam([torch.nn.Parameter(torch.zeros(1))], 0.002, (0.0, 0.99), 16)
    c = 16 / 17
    assert opt.param_groups[0]["lr"] == pytest.approx(0.002 * c)
    assert opt.param_groups[0]["betas"][1] == pytest.approx(0.99**c)


def test_ema_beta_and_update():
    assert ema_beta(32, 10.0, 10**6, None) == pytest.approx(0.5 ** (32 / 10000))
    assert ema_beta(32, 10.0, 100, 0.05) == pytest.approx(0.5 ** (32 / 5))  # ramp-up caps the half-life
    assert ema_beta(32, 0.0, 100, None) == 0.0
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    expected = b.weight.detach() + 0.25 * (a.weight.detach() - b.weight.detach())
    update_ema(a, b, 0.25)
    torch.testing.assert_close(a.weight, expected)


def test_diffaugment_is_differentiable_and_valid():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    y = diff_augment(x, ("color", "translation", "cutout"))
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    shifted = rand_translation(torch.ones(64, 1, 16, 16))
    assert shifted.max() == 1 and (shifted == 0).any()  # zero fill, no wrap-around of content
    with pytest.raises(ConfigError):
        diff_augment(x, ("rotate",))


def test_config_validation():
    with pytest.raises(ConfigError):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError):
        TrainConfig(betas_d=(0.5, 1.0))
    cfg = TrainConfig(lr_d=0.004, betas_g=(0.5, 0.9))
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ConfigError, match="unknown"):
        TrainConfig.from_dict({"lr": 1})


def test_tiny_gan_learns_discs(tmp_path):
    """~100 steps of the full StyleGAN2 objective on toy nets: the random-feature FD drops several-fold."""
    torch.manual_seed(0)
    cfg = _cfg(total_kimg=1.6, batch_size=16, ema_kimg=0.5, log_every=50)
    task = StyleGAN2Task(
        ToyGenerator(),
        ToyDiscriminator(),
        cfg,
        StyleGAN2LossConfig(r1_gamma=1.0, r1_interval=4, pl_weight=0.0, style_mixing_prob=0.0),
    )
    ref = disc_images(256, 16, seed=99)
    z = torch.randn(256, 8)

    def measure() -> tuple[float, float]:
        with torch.no_grad():
            fake = task.G_ema(z, noise_mode="const")
        return random_feature_distance(ref, fake), moment_distance(ref, fake)

    rfd0, mom0 = measure()
    train(task, TensorImageDataset(disc_images(512, 16)), cfg, tmp_path)
    rfd1, mom1 = measure()
    floor = random_feature_distance(ref, disc_images(256, 16, seed=5))  # two real sets
    assert rfd1 < 0.25 * rfd0, (rfd0, rfd1)
    assert mom1 < 0.4 * mom0, (mom0, mom1)
    assert floor < rfd1  # sanity: real vs real is the best achievable


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_mixed_precision_steps(tmp_path):
    from gan2d.train.distributed import DistInfo

    torch.manual_seed(0)
    cfg = _cfg(total_kimg=0.032, mixed_precision=True)
    task = StyleGAN2Task(ToyGenerator(), ToyDiscriminator(), cfg, StyleGAN2LossConfig(r1_interval=2, pl_interval=2))
    res = train(task, TensorImageDataset(disc_images(16, 16)), cfg, tmp_path, DistInfo(device=torch.device("cuda")))
    assert res.steps == 4
    assert all(torch.isfinite(torch.tensor(v)) for v in res.last_stats.values())
    assert next(task.G_ema.parameters()).device.type == "cuda"


def test_conditional_stylegan2_task_with_real_networks(tmp_path):
    from gan2d.nets.stylegan2 import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig

    torch.manual_seed(0)
    arch = dict(img_resolution=8, channel_base=64, channel_max=8, c_dim=2)
    G = Generator(GeneratorConfig(**arch, z_dim=8, w_dim=8, mapping_layers=1))
    D = Discriminator(DiscriminatorConfig(**arch, mapping_layers=1))
    cfg = _cfg(total_kimg=0.008, batch_size=4)
    task = StyleGAN2Task(G, D, cfg, StyleGAN2LossConfig(r1_interval=1, pl_interval=1, num_samples=4))

    class Labeled(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return disc_images(8, 8)[i], torch.nn.functional.one_hot(torch.tensor(i % 2), 2).float()

    w_avg0 = G.mapping.w_avg.clone()
    res = train(task, Labeled(), cfg, tmp_path)
    assert res.steps == 2 and {"D_reg/loss", "G_reg/loss", "G_reg/pl_mean"} <= set(res.last_stats)
    assert not torch.equal(G.mapping.w_avg, w_avg0)  # D_main tracks the w average
    torch.testing.assert_close(task.sample_c, torch.eye(2).repeat(2, 1))
    assert task.samples().shape == (4, 3, 8, 8)


def test_grad_clip_nan_guard_and_ttur():
    from types import SimpleNamespace

    from gan2d.train.distributed import DistInfo
    from gan2d.train.loop import Phase, _run_phase

    lin = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(lin.parameters(), lr=1.0)
    before = torch.cat([p.detach().flatten() for p in lin.parameters()])
    phase = Phase("G_main", lin, opt, lambda batch: (1e6 * lin(batch[0]).sum(), {}))
    task = SimpleNamespace(phases=[phase], networks={"G": lin}, aux={})
    stats = _run_phase(phase, task, [(torch.ones(2, 3),)], _cfg(total_kimg=1, grad_clip=0.01), DistInfo())
    after = torch.cat([p.detach().flatten() for p in lin.parameters()])
    assert (after - before).norm().item() == pytest.approx(0.01, rel=1e-4)  # SGD step = clipped gradient
    assert stats["G_main/grad_norm"] > 1e5  # the reported norm is the one before clipping

    nan_phase = Phase("D_main", lin, opt, lambda batch: (lin(batch[0]).sum() * float("nan"), {}))
    _run_phase(nan_phase, SimpleNamespace(phases=[nan_phase], networks={"D": lin}, aux={}), [(torch.ones(1, 3),)],
               _cfg(total_kimg=1), DistInfo())
    assert all(torch.isfinite(p).all() for p in lin.parameters())  # NaN gradients are zeroed, not applied

    cfg = _cfg(total_kimg=1, lr_g=0.001, lr_d=0.004, betas_g=(0.5, 0.9), betas_d=(0.0, 0.99))
    task = StyleGAN2Task(ToyGenerator(), ToyDiscriminator(), cfg, StyleGAN2LossConfig(r1_gamma=0.0, pl_weight=0.0))
    assert task.optimizers["G"].param_groups[0]["lr"] == 0.001 and task.optimizers["D"].param_groups[0]["lr"] == 0.004
    assert task.optimizers["G"].param_groups[0]["betas"] == (0.5, 0.9)
    assert [p.name for p in task.phases] == ["D_main", "G_main"]  # no regularization phases when disabled
