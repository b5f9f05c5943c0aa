"""Perceptual losses on VGG activations: weighted L1 (pix2pixHD) and an LPIPS-style learned-linear distance.

The functional forms take lists of activations, so any feature extractor works; the modules pair
them with a `VGGFeatures` whose weights the user loaded from a file.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from gan2d.errors import CheckpointError, ConfigError, ShapeError
from gan2d.nets.vgg import VGGFeatures, load_state_file

PIX2PIXHD_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)


def _check_lists(name: str, a: list[torch.Tensor], b: list[torch.Tensor], n: int) -> None:
    if len(a) != len(b) or len(a) != n:
        raise ShapeError(f"{name}: got {len(a)} and {len(b)} feature maps for {n} layer weights")
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x.shape != y.shape:
            raise ShapeError(f"{name}: layer {i} shapes {tuple(x.shape)} and {tuple(y.shape)} differ")


def weighted_feature_l1(
    feats_a: list[torch.Tensor], feats_b: list[torch.Tensor], weights: tuple[float, ...]
) -> torch.Tensor:
    """`Σ_l w_l · mean|a_l - b_l|` — the perceptual loss of pix2pixHD / SPADE.

    Example:
        >>> weighted_feature_l1([torch.ones(1, 2, 2, 2)], [torch.zeros(1, 2, 2, 2)], (0.5,))
        tensor(0.5000)
    """
    _check_lists("weighted_feature_l1", feats_a, feats_b, len(weights))
    total = feats_a[0].new_zeros(())
    for w, a, b in zip(weights, feats_a, feats_b, strict=True):
        total = total + w * (a - b).abs().mean()
    return total


def normalize_channels(feat: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Divide each pixel's feature vector by its L2 norm over channels: `[B, C, H, W]` → same."""
    return feat / (feat.square().sum(dim=1, keepdim=True).sqrt() + eps)


def lpips_distance(
    feats_a: list[torch.Tensor], feats_b: list[torch.Tensor], channel_weights: list[torch.Tensor]
) -> torch.Tensor:
    """LPIPS-form distance per image: `Σ_l mean_hw Σ_c w_lc (â_lchw - b̂_lchw)²` with channel-normalized â, b̂.

    Args:
        feats_a: per layer `[B, C_l, H_l, W_l]`.
        feats_b: same shapes.
        channel_weights: per layer `[C_l]` non-negative weights (all ones gives the unlearned variant).

    Returns:
        `[B]` distances (0 for identical inputs).
    """
    _check_lists("lpips_distance", feats_a, feats_b, len(channel_weights))
    total = feats_a[0].new_zeros(feats_a[0].shape[0])
    for w, a, b in zip(channel_weights, feats_a, feats_b, strict=True):
        if w.shape != (a.shape[1],):
            raise ShapeError(f"lpips_distance: weights {tuple(w.shape)} for {a.shape[1]} channels")
        diff = (normalize_channels(a) - normalize_channels(b)).square()
        total = total + (diff * w.view(1, -1, 1, 1)).sum(dim=1).mean(dim=(1, 2))
    return total


class PerceptualLoss(nn.Module):
    """Weighted L1 between VGG activations of two image batches (images in [-1, 1]).

    Args:
        vgg: a (frozen) feature extractor.
        layer_weights: one weight per returned layer; defaults to pix2pixHD's (1/32 … 1) when it has 5 layers.

    Example:
        >>> from gan2d.nets.vgg import VGGConfig
        >>> loss = PerceptualLoss(VGGFeatures(VGGConfig(16, ("relu1_2",))), (1.0,))
        >>> value = loss(torch.zeros(1, 3, 16, 16), torch.ones(1, 3, 16, 16))
    """

    def __init__(self, vgg: VGGFeatures, layer_weights: tuple[float, ...] | None = None) -> None:
        super().__init__()
        n = len(vgg.config.layers)
        if layer_weights is None:
            if n != len(PIX2PIXHD_WEIGHTS):
                raise ConfigError(f"PerceptualLoss: give layer_weights for {n} VGG layers")
            layer_weights = PIX2PIXHD_WEIGHTS
        if len(layer_weights) != n:
            raise ConfigError(f"PerceptualLoss: {len(layer_weights)} weights for {n} VGG layers")
        self.vgg = vgg
        self.layer_weights = tuple(layer_weights)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """pred, target: `[B, 3, H, W]` → scalar. The target's features are not differentiated."""
        with torch.no_grad():
            target_feats = self.vgg(target)
        return weighted_feature_l1(self.vgg(pred), target_feats, self.layer_weights)


class LPIPSLoss(nn.Module):
    """LPIPS-style distance: channel-normalized VGG features, squared differences, per-channel linear weights.

    The weights are a buffer per layer, all ones by default; `load_linear_weights` reads the learned
    ones from a file — either our own keys `lin{l}` of shape `[C_l]` or the official LPIPS layout
    `lin{l}.model.1.weight` of shape `[1, C_l, 1, 1]`.

    Args:
        vgg: a (frozen) feature extractor; LPIPS-VGG uses relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
    """

    def __init__(self, vgg: VGGFeatures) -> None:
        super().__init__()
        self.vgg = vgg
        for i, c in enumerate(vgg.channels):
            self.register_buffer(f"lin{i}", torch.ones(c))

    def channel_weights(self) -> list[torch.Tensor]:
        """The per-layer `[C_l]` weights."""
        return [getattr(self, f"lin{i}") for i in range(len(self.vgg.channels))]

    def load_linear_weights(self, path: str | Path) -> None:
        """Load per-channel weights from `.safetensors` / `.pth`.

        Raises:
            CheckpointError: missing file, missing layer, wrong channel count, or negative weights.
        """
        state = load_state_file(path)
        for i, c in enumerate(self.vgg.channels):
            w = state.get(f"lin{i}", state.get(f"lin{i}.model.1.weight"))
            if w is None:
                raise CheckpointError(f"{path}: no weights for layer {i} ('lin{i}' or 'lin{i}.model.1.weight')")
            w = w.reshape(-1)
            if w.numel() != c:
                raise CheckpointError(f"{path}: layer {i} has {w.numel()} weights, the VGG layer has {c} channels")
            if (w < 0).any():
                raise CheckpointError(f"{path}: layer {i} has negative weights; LPIPS weights are non-negative")
            getattr(self, f"lin{i}").copy_(w)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a, b: `[B, 3, H, W]` in [-1, 1] → `[B]` distances."""
        return lpips_distance(self.vgg(a), self.vgg(b), self.channel_weights())
