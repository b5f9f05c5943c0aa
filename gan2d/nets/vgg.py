"""VGG16/19 feature extractor with torchvision's parameter layout; weights come only from a file the user names.

The `features` Sequential has the same indices as torchvision's `vgg16().features` /
`vgg19().features`, so a torchvision state dict (`features.0.weight`, ...; `classifier.*` is
ignored) loads as is, from a `.pth` (read with `weights_only=True`, no code runs) or a
`.safetensors` file. Nothing is ever downloaded.

Inputs are gan2d images in [-1, 1]; they are mapped to [0, 1] and normalized with the ImageNet
mean/std the weights were trained with (this equals LPIPS' own scaling layer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from gan2d.errors import CheckpointError, ConfigError, ShapeError

_CFG: dict[int, list[int]] = {
    16: [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
    19: [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg_layer_names(depth: int) -> dict[str, int]:
    """Map "relu{block}_{conv}" / "conv{block}_{conv}" / "pool{block}" to indices in `features`.

    Example:
        >>> vgg_layer_names(16)["relu2_2"]
        8
    """
    if depth not in _CFG:
        raise ConfigError(f"VGG depth must be 16 or 19, got {depth}")
    names: dict[str, int] = {}
    index, block, conv = 0, 1, 1
    for width in _CFG[depth]:
        if width == 0:
            names[f"pool{block}"] = index
            index += 1
            block, conv = block + 1, 1
        else:
            names[f"conv{block}_{conv}"] = index
            names[f"relu{block}_{conv}"] = index + 1
            index += 2
            conv += 1
    return names


@dataclass(frozen=True)
class VGGConfig:
    """Which VGG and which activations to return.

    Args:
        depth: 16 or 19.
        layers: activation names in network order, e.g. ("relu1_2", "relu2_2", "relu3_3", "relu4_3").
    """

    depth: int = 16
    layers: tuple[str, ...] = field(default=("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"))

    def __post_init__(self) -> None:
        names = vgg_layer_names(self.depth)
        unknown = [n for n in self.layers if n not in names]
        if unknown or not self.layers:
            raise ConfigError(f"VGG{self.depth}: unknown or empty layers {unknown or list(self.layers)}")
        indices = [names[n] for n in self.layers]
        if indices != sorted(set(indices)):
            raise ConfigError(f"VGG layers must be distinct and in network order, got {self.layers}")


def build_vgg_features(depth: int) -> nn.Sequential:
    """torchvision's `vgg{depth}().features` architecture (3×3 convs + ReLU, 2×2 max pools), random init."""
    layers: list[nn.Module] = []
    in_ch = 3
    for width in _CFG[depth]:
        if width == 0:
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_ch, width, kernel_size=3, padding=1), nn.ReLU(inplace=False)]
            in_ch = width
    return nn.Sequential(*layers)


def load_state_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a tensor state dict from `.safetensors` or a torch `.pth`/`.pt` (tensors only, no pickled code).

    Raises:
        CheckpointError: the file is missing, unreadable, or not a flat dict of tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path} (weights are never downloaded; pass a local file)")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"cannot read weights file {path}: {e}") from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a flat dict of tensors")
    return state


class VGGFeatures(nn.Module):
    """Returns the requested VGG activations of an image batch.

    Args:
        config: depth and layers; the network is truncated after the deepest requested layer.

    Example:
        >>> vgg = VGGFeatures(VGGConfig(16, ("relu1_2", "relu2_2")))
        >>> [f.shape[1] for f in vgg(torch.zeros(1, 3, 32, 32))]
        [64, 128]
    """

    def __init__(self, config: VGGConfig | None = None) -> None:
        super().__init__()
        self.config = config or VGGConfig()
        names = vgg_layer_names(self.config.depth)
        self._taps = [names[n] for n in self.config.layers]
        full = build_vgg_features(self.config.depth)
        self.features = nn.Sequential(*list(full.children())[: self._taps[-1] + 1])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    @property
    def channels(self) -> list[int]:
        """Channel count of each returned activation."""
        out, width = [], 3
        for i, layer in enumerate(self.features):
            if isinstance(layer, nn.Conv2d):
                width = layer.out_channels
            if i in self._taps:
                out.append(width)
        return out

    @classmethod
    def from_file(cls, path: str | Path, config: VGGConfig | None = None) -> VGGFeatures:
        """Build, load torchvision-format weights from `path`, freeze, and set eval mode.

        Raises:
            CheckpointError: missing file, missing keys, or shapes that do not fit this VGG.
        """
        net = cls(config)
        net.load_weights(path)
        net.requires_grad_(False)
        return net.eval()

    def load_weights(self, path: str | Path) -> None:
        """Load the `features.*` tensors of a torchvision VGG state dict (extra keys are ignored)."""
        state = load_state_file(path)
        own = self.features.state_dict()
        missing = [f"features.{k}" for k in own if f"features.{k}" not in state]
        if missing:
            raise CheckpointError(
                f"{path} is not a VGG{self.config.depth} state dict: missing {missing[:4]}"
                f"{' ...' if len(missing) > 4 else ''}"
            )
        for k, v in own.items():
            src = state[f"features.{k}"]
            if src.shape != v.shape:
                raise CheckpointError(
                    f"{path}: features.{k} has shape {tuple(src.shape)}, VGG{self.config.depth} needs {tuple(v.shape)}"
                )
        self.features.load_state_dict({k: state[f"features.{k}"].to(v.dtype) for k, v in own.items()})

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """images: `[B, 3, H, W]` in [-1, 1] → one `[B, C_l, H_l, W_l]` tensor per requested layer."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ShapeError(f"VGGFeatures: images must be [B, 3, H, W], got {tuple(images.shape)}")
        x = ((images + 1.0) * 0.5 - self.mean) / self.std
        outputs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self._taps:
                outputs.append(x)
        return outputs
