"""The layer core: equalized-LR linear/conv, modulated conv, AdaIN, SPADE, noise injection, minibatch-stddev,
self-attention and normalization factories (each imported on first use)."""

from gan2d._lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(["AdaIN", "adaptive_instance_norm"], "gan2d.layers.adain"),
    **dict.fromkeys(["SelfAttention", "spatial_self_attention"], "gan2d.layers.attention"),
    **dict.fromkeys(["EqualConv2d", "EqualLinear"], "gan2d.layers.equalized"),
    **dict.fromkeys(["MinibatchStd", "minibatch_stddev"], "gan2d.layers.mbstd"),
    **dict.fromkeys(["ModulatedConv2d", "ToRGB"], "gan2d.layers.modulated"),
    **dict.fromkeys(["NOISE_MODES", "NoiseInjection", "make_noise"], "gan2d.layers.noise"),
    **dict.fromkeys(["make_norm", "maybe_spectral_norm"], "gan2d.layers.norms"),
    **dict.fromkeys(["SPADE", "SPADEConfig", "spade_modulate"], "gan2d.layers.spade"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
