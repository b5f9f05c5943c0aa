"""The public surface of gan2d: the exported names are pinned, each resolves to the object of its module,
and importing the packages loads no torch (the names are imported on first use)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import gan2d
import gan2d.layers
import gan2d.nets
from gan2d.checkpoint import load_network
from gan2d.nets.stylegan2.generator import Generator
from gan2d.train.loop import train

SURFACE = {
    "gan2d": [
        "CheckpointError", "ConfigError", "Discriminator", "DiscriminatorConfig", "Gan2DError", "Generator",
        "GeneratorConfig", "ImageEncoder", "ImageEncoderConfig", "ImageFolderDataset", "MultiScalePatchGAN",
        "PairedFolderDataset", "PatchGANConfig", "PerceptualLoss", "Pix2PixHDConfig", "Pix2PixHDGenerator",
        "RefinerLossConfig", "RefinerTask", "SPADEGenerator", "SPADEGeneratorConfig", "ShapeError",
        "StyleGAN2LossConfig", "StyleGAN2Task", "TrainConfig", "UNet", "UNetConfig", "VGGConfig", "VGGFeatures",
        "ZipImageDataset", "feature_matching_loss", "gradient_penalty", "hinge_d_loss", "hinge_g_loss",
        "kl_divergence", "l1_loss", "load_checkpoint", "load_network", "load_rosinality", "load_stylegan2_pkl",
        "logistic_d_loss", "logistic_g_loss", "lsgan_d_loss", "lsgan_g_loss", "open_image_dataset", "path_lengths",
        "psnr", "r1_penalty", "save_checkpoint", "save_network", "ssim", "wgan_d_loss", "wgan_g_loss",
    ],
    "gan2d.layers": [
        "AdaIN", "EqualConv2d", "EqualLinear", "MinibatchStd", "ModulatedConv2d", "NOISE_MODES", "NoiseInjection",
        "SPADE", "SPADEConfig", "SelfAttention", "ToRGB", "adaptive_instance_norm", "make_noise", "make_norm",
        "maybe_spectral_norm", "minibatch_stddev", "spade_modulate", "spatial_self_attention",
    ],
    "gan2d.nets": [
        "Discriminator", "DiscriminatorConfig", "Generator", "GeneratorConfig", "ImageEncoder", "ImageEncoderConfig",
        "MappingNetwork", "MultiScalePatchGAN", "NLayerDiscriminator", "PatchGANConfig", "Pix2PixHDConfig",
        "Pix2PixHDGenerator", "SPADEGenerator", "SPADEGeneratorConfig", "SynthesisNetwork", "UNet", "UNetConfig",
        "VGGConfig", "VGGFeatures",
    ],
}
PACKAGES = {"gan2d": gan2d, "gan2d.layers": gan2d.layers, "gan2d.nets": gan2d.nets}


@pytest.mark.parametrize("name", sorted(SURFACE))
def test_exports_are_pinned_and_resolve(name):
    pkg = PACKAGES[name]
    assert pkg.__all__ == SURFACE[name]
    assert sorted(dir(pkg)) == SURFACE[name]
    for export in pkg.__all__:
        obj = getattr(pkg, export)
        assert getattr(obj, "__module__", name).startswith("gan2d"), export
        assert getattr(pkg, export) is obj  # cached after the first lookup


def test_names_are_the_defining_modules_objects():
    assert gan2d.Generator is gan2d.nets.Generator is Generator
    assert gan2d.load_network is load_network and gan2d.train.train is train


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        gan2d.Nope  # noqa: B018


def test_importing_the_packages_loads_no_torch():
    code = "import json, sys, gan2d, gan2d.layers, gan2d.nets, gan2d.errors; print(json.dumps('torch' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert json.loads(out) is False
