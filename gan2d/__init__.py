"""gan2d: the shared GAN layer, network, loss and training core. Images are `[B, C, H, W]` in [-1, 1].

The names below are the verbs a user needs; each is imported on first use, so `import gan2d` is cheap.
Layers live in `gan2d.layers`, networks in `gan2d.nets`, the training engine in `gan2d.train`.

Example:
    >>> import torch, gan2d
    >>> G = gan2d.Generator(gan2d.GeneratorConfig(img_resolution=8, z_dim=4, w_dim=4, channel_base=32,
    ...                                           channel_max=4, mapping_layers=1))
    >>> tuple(G(torch.zeros(1, 4), noise_mode="const").shape)
    (1, 3, 8, 8)
"""

from gan2d._lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(["Discriminator", "DiscriminatorConfig", "Generator", "GeneratorConfig"], "gan2d.nets.stylegan2"),
    **dict.fromkeys(["SPADEGenerator", "SPADEGeneratorConfig"], "gan2d.nets.spade_generator"),
    **dict.fromkeys(["Pix2PixHDConfig", "Pix2PixHDGenerator"], "gan2d.nets.pix2pixhd"),
    **dict.fromkeys(["UNet", "UNetConfig"], "gan2d.nets.unet"),
    **dict.fromkeys(["MultiScalePatchGAN", "PatchGANConfig"], "gan2d.nets.patchgan"),
    **dict.fromkeys(["ImageEncoder", "ImageEncoderConfig"], "gan2d.nets.encoder"),
    **dict.fromkeys(["VGGConfig", "VGGFeatures"], "gan2d.nets.vgg"),
    **dict.fromkeys(["load_checkpoint", "load_network", "save_checkpoint", "save_network"], "gan2d.checkpoint"),
    "load_stylegan2_pkl": "gan2d.importers.stylegan2_pkl",
    "load_rosinality": "gan2d.importers.rosinality",
    **dict.fromkeys(["ImageFolderDataset", "ZipImageDataset", "open_image_dataset"], "gan2d.data.images"),
    "PairedFolderDataset": "gan2d.data.paired",
    # the loop itself is `gan2d.train.train`: a top-level `train` would be shadowed by the subpackage
    **dict.fromkeys(["RefinerLossConfig", "RefinerTask", "StyleGAN2LossConfig", "StyleGAN2Task", "TrainConfig"],
                    "gan2d.train"),
    **dict.fromkeys(["hinge_d_loss", "hinge_g_loss", "logistic_d_loss", "logistic_g_loss", "lsgan_d_loss",
                     "lsgan_g_loss", "wgan_d_loss", "wgan_g_loss", "gradient_penalty"], "gan2d.losses.adversarial"),
    **dict.fromkeys(["r1_penalty", "path_lengths"], "gan2d.losses.regularizers"),
    "feature_matching_loss": "gan2d.losses.feature_matching",
    "PerceptualLoss": "gan2d.losses.perceptual",
    **dict.fromkeys(["kl_divergence", "l1_loss", "psnr", "ssim"], "gan2d.losses.reconstruction"),
    **dict.fromkeys(["CheckpointError", "ConfigError", "Gan2DError", "ShapeError"], "gan2d.errors"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
