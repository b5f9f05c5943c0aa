"""Networks: StyleGAN2 (`gan2d.nets.stylegan2`), SPADE / pix2pixHD / U-Net refiners, the multi-scale
PatchGAN, image encoders and VGG features (each imported on first use)."""

from gan2d._lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(["Discriminator", "DiscriminatorConfig", "Generator", "GeneratorConfig", "MappingNetwork",
                     "SynthesisNetwork"], "gan2d.nets.stylegan2"),
    **dict.fromkeys(["ImageEncoder", "ImageEncoderConfig"], "gan2d.nets.encoder"),
    **dict.fromkeys(["MultiScalePatchGAN", "NLayerDiscriminator", "PatchGANConfig"], "gan2d.nets.patchgan"),
    **dict.fromkeys(["Pix2PixHDConfig", "Pix2PixHDGenerator"], "gan2d.nets.pix2pixhd"),
    **dict.fromkeys(["SPADEGenerator", "SPADEGeneratorConfig"], "gan2d.nets.spade_generator"),
    **dict.fromkeys(["UNet", "UNetConfig"], "gan2d.nets.unet"),
    **dict.fromkeys(["VGGConfig", "VGGFeatures"], "gan2d.nets.vgg"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
