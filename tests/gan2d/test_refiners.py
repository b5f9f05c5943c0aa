import dataclasses
import json

import pytest
import torch

from gan2d.data.toy import disc_images
from gan2d.errors import ConfigError, ShapeError
from gan2d.losses.reconstruction import l1_loss
from gan2d.nets.encoder import ImageEncoder, ImageEncoderConfig
from gan2d.nets.patchgan import MultiScalePatchGAN, PatchGANConfig
from gan2d.nets.pix2pixhd import Pix2PixHDConfig, Pix2PixHDGenerator
from gan2d.nets.spade_generator import SPADEGenerator, SPADEGeneratorConfig
from gan2d.nets.unet import UNet, UNetConfig
from gan2d.train.config import TrainConfig
from gan2d.train.loop import train
from gan2d.train.refiner_task import RefinerLossConfig, RefinerTask

SPADE_SMALL = SPADEGeneratorConfig(label_channels=2, resolution=16, base_channels=4, num_upsampling=2, spade_hidden=8)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_spade_generator_plain_and_vae():
    torch.manual_seed(0)
    G = SPADEGenerator(SPADE_SMALL)
    label = torch.randn(2, 2, 16, 16)
    out = G(label)
    assert out.shape == (2, 3, 16, 16) and out.abs().max() <= 1
    assert not torch.allclose(G(label), G(label.flip(-1)))  # output follows the layout
    with pytest.raises(ConfigError):
        G.encode(out)
    with pytest.raises(ShapeError):
        G(torch.randn(2, 2, 8, 8))
    vae = SPADEGenerator(dataclasses.replace(SPADE_SMALL, use_vae=True, z_dim=6))
    mu, logvar = vae.encode(out.detach())
    assert mu.shape == logvar.shape == (2, 6)
    assert not torch.allclose(vae(label, mu), vae(label, mu + 1.0))  # z changes the style
    assert "style_encoder.head.weight" in vae.state_dict()


def test_pix2pixhd_global_and_local():
    torch.manual_seed(0)
    cfg = Pix2PixHDConfig(in_channels=2, base_channels=4, num_downsampling=2, num_blocks=1)
    G = Pix2PixHDGenerator(cfg)
    x = torch.randn(2, 2, 16, 16)
    y = G(x)
    assert y.shape == (2, 3, 16, 16) and y.abs().max() < 1 and y.std() > 0.1  # tanh image, not collapsed
    assert torch.allclose(G(x[1:]), y[1:], atol=1e-5)  # instance norm: each image on its own, whatever the batch
    # Fully convolutional: without normalization, shifting the input by 8 pixels (a multiple of the 4x
    # downsampling) shifts the output by 8 wherever the receptive field stays inside both images.
    conv = Pix2PixHDGenerator(dataclasses.replace(cfg, norm="none"))
    x = torch.randn(1, 2, 64, 64)
    assert torch.allclose(conv(torch.roll(x, 8, dims=-1))[..., 28:44], conv(x)[..., 20:36], atol=1e-5)
    local = Pix2PixHDGenerator(dataclasses.replace(cfg, local_enhancer=True, num_local_blocks=1))
    assert local(torch.randn(1, 2, 32, 32)).shape == (1, 3, 32, 32)
    assert local.global_trunk[1].out_channels == 8  # global generator runs at 2x width
    with pytest.raises(ShapeError, match="divisible by 8"):
        local(torch.randn(1, 2, 20, 20))


def test_unet_skips_carry_full_resolution_detail():
    torch.manual_seed(0)
    net = UNet(UNetConfig(in_channels=1, out_channels=1, base_channels=4, depth=3, norm="none"))
    x = torch.zeros(1, 1, 32, 32, requires_grad=True)
    net(x)[0, 0, 10, 10].backward()
    g = x.grad[0, 0].abs()
    # the full-resolution skip path makes the output depend most on nearby input pixels
    assert g[8:13, 8:13].sum() > 0.2 * g.sum()
    with pytest.raises(ShapeError):
        net(torch.zeros(1, 1, 20, 20))


def test_image_encoder():
    torch.manual_seed(0)
    enc = ImageEncoder(ImageEncoderConfig(in_channels=3, resolution=32, out_dim=7, base_channels=4))
    x = torch.randn(3, 3, 32, 32, requires_grad=True)
    z = enc(x)
    assert z.shape == (3, 7) and (z[0] - z[1]).abs().max() > 0.05  # different images, different codes
    assert torch.allclose(enc(x[1:2]), z[1:2], atol=1e-5)  # each image is encoded on its own
    z[0].sum().backward()
    assert x.grad[0, :, 0, 0].abs().sum() > 0  # one global code: even a corner pixel reaches it
    assert x.grad[1:].abs().max() == 0  # and no other image does
    assert len(enc.blocks) == 3  # 32 → 16 → 8 → 4
    with pytest.raises(ShapeError):
        enc(torch.randn(1, 3, 16, 16))
    with pytest.raises(ConfigError):
        ImageEncoderConfig(resolution=48)
    assert ImageEncoderConfig(**json.loads(json.dumps(enc.config.to_dict()))) == enc.config


def _pairs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    target = disc_images(n, 16, seed)
    gray = target.mean(dim=1, keepdim=True)
    return torch.nn.functional.avg_pool2d(gray, 3, 1, 1), target  # input: blurred luminance → target: color


class _Pairs(torch.utils.data.Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def test_refiner_training_learns_colorization(tmp_path):
    torch.manual_seed(0)
    x, y = _pairs(128, 0)
    cfg = TrainConfig(
        total_kimg=0.48,
        batch_size=8,
        lr_g=0.002,
        lr_d=0.002,
        betas_g=(0.5, 0.99),
        betas_d=(0.5, 0.99),
        ema_kimg=0.1,
        log_every=20,
        sample_every_kimg=0,
        checkpoint_every_kimg=0,
        progress=False,
    )
    G = UNet(UNetConfig(in_channels=1, base_channels=8, depth=2))
    D = MultiScalePatchGAN(PatchGANConfig(in_channels=4, base_channels=8, num_layers=2, num_scales=2))
    task = RefinerTask(G, D, cfg, RefinerLossConfig(adversarial="hinge", num_samples=4), (x, y))
    tx, ty = _pairs(64, 1)
    with torch.no_grad():
        before = l1_loss(task.G_ema(tx), ty).item()
    res = train(task, _Pairs(x, y), cfg, tmp_path)
    with torch.no_grad():
        after = l1_loss(task.G_ema(tx), ty).item()
    assert after < 0.45 * before, (before, after)
    assert {"G_main/fm", "G_main/l1", "G_main/adv", "D_main/loss"} <= set(res.last_stats)
    grid = sorted((tmp_path / "samples").glob("*.png"))[-1]
    from PIL import Image

    assert Image.open(grid).size == (4 * 16, 3 * 16)  # inputs / outputs / targets rows


def test_refiner_task_vae_and_lsgan_step(tmp_path):
    torch.manual_seed(0)
    x, y = _pairs(8, 0)
    x = x.expand(-1, 2, -1, -1).contiguous()
    cfg = TrainConfig(
        total_kimg=0.008, batch_size=4, log_every=1, sample_every_kimg=0, checkpoint_every_kimg=0, progress=False
    )
    G = SPADEGenerator(dataclasses.replace(SPADE_SMALL, use_vae=True, z_dim=4))
    D = MultiScalePatchGAN(PatchGANConfig(in_channels=5, base_channels=4, num_layers=1, num_scales=1, norm="instance"))
    task = RefinerTask(G, D, cfg, RefinerLossConfig(adversarial="lsgan", num_samples=2), (x, y))
    res = train(task, _Pairs(x, y), cfg, tmp_path)
    assert res.steps == 2 and "G_main/kl" in res.last_stats
    with pytest.raises(ConfigError, match="perceptual"):
        RefinerTask(G, D, cfg, RefinerLossConfig(perceptual_weight=1.0), (x, y))
