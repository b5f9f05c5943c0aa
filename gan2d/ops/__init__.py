"""Stateless tensor ops of the StyleGAN2 family: FIR resampling, bias+activation, (modulated) resampling conv."""

from gan2d.ops.bias_act import DEFAULT_GAIN, Activation, bias_act, bias_act_reference
from gan2d.ops.conv2d_resample import conv2d_resample, conv2d_resample_reference
from gan2d.ops.modulated_conv2d import modulated_conv2d
from gan2d.ops.upfirdn2d import downsample2d, setup_filter, upfirdn2d, upfirdn2d_reference, upsample2d

__all__ = [
    "DEFAULT_GAIN",
    "Activation",
    "bias_act",
    "bias_act_reference",
    "conv2d_resample",
    "conv2d_resample_reference",
    "downsample2d",
    "modulated_conv2d",
    "setup_filter",
    "upfirdn2d",
    "upfirdn2d_reference",
    "upsample2d",
]
