"""The pc2img networks: learned visibility → coarse image → refiner, over a multi-channel splat.

InvSfM's three stages (Pittaluga et al. 2019) on the project's cores: the splat is
`render3d.points.multichannel`, the nets are `gan2d` pixel-unshuffled U-Nets (or a SPADE refiner).

- visibility: splat channels → one logit per pixel: is the nearest splatted point really seen? (trained
  on its own target only: its output enters the next stages detached)
- coarse: channels + visibility → RGB + alpha.
- refiner: channels + visibility + coarse → RGB + alpha (trained adversarially).

Colors are straight (not premultiplied) in [0, 1]; `composite` puts them over any background.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import torch
from torch import nn

from gan2d.nets.shuffle_unet import ShuffleUNet, ShuffleUNetConfig
from gan2d.nets.spade_refiner import SPADERefiner, SPADERefinerConfig
from render3d.points.multichannel import MultiChannelSettings
from tools.errors import ToolError

RefinerArch = Literal["unet", "spade"]


@dataclass(frozen=True)
class Pc2ImgConfig:
    """Everything that defines a pc2img model (saved beside its weights).

    Args:
        splat: how clouds are splatted.
        spacing_k: neighbours of the k-NN spacing the splat radius comes from.
        feature_channels: per-point features splatted (3 = colors; per-scene models add descriptors).
        vis_channels / coarse_channels / refiner_channels: base widths of the three nets.
        depth: U-Net depth of every stage (below the unshuffled resolution).
        factor: pixel-unshuffle factor of every stage.
        refiner_arch: "unet" or "spade".
    """

    splat: MultiChannelSettings = field(default_factory=MultiChannelSettings)
    spacing_k: int = 4
    feature_channels: int = 3
    vis_channels: int = 8
    coarse_channels: int = 16
    refiner_channels: int = 16
    depth: int = 3
    factor: int = 2
    refiner_arch: RefinerArch = "unet"

    def __post_init__(self) -> None:
        if self.refiner_arch not in ("unet", "spade"):
            raise ToolError(f"refiner_arch must be unet or spade, got {self.refiner_arch!r}")
        if min(self.spacing_k, self.feature_channels, self.vis_channels, self.coarse_channels,
               self.refiner_channels, self.depth, self.factor) < 1:
            raise ToolError(f"Pc2ImgConfig values must be positive: {self}")

    @property
    def splat_channels(self) -> int:
        return MultiChannelSettings.num_channels(self.feature_channels, self.splat.points_per_pixel)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Pc2ImgConfig:
        """Inverse of `to_dict`.

        Raises:
            ToolError: unknown or missing keys, bad values.
        """
        try:
            d = dict(d)
            splat = MultiChannelSettings(**d.pop("splat"))
            return cls(splat=splat, **d)
        except (TypeError, KeyError, ValueError) as e:
            raise ToolError(f"not a pc2img model config ({e})") from e


class Stages(NamedTuple):
    """Every stage's output, `[B, 1|3, H, W]` in [0, 1] (straight color)."""

    visibility: torch.Tensor
    visibility_logits: torch.Tensor
    coarse_rgb: torch.Tensor
    coarse_alpha: torch.Tensor
    rgb: torch.Tensor
    alpha: torch.Tensor


def composite(rgb: torch.Tensor, alpha: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """`rgb: [B, 3, H, W]` over `background: [3]` (or `[B, 3]`) with `alpha: [B, 1, H, W]`."""
    bg = background.to(rgb).reshape(-1, 3, 1, 1)
    return rgb * alpha + bg * (1 - alpha)


def _to_unit(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """tanh output `[B, 4, H, W]` → RGB and alpha in [0, 1]."""
    y = (x + 1) * 0.5
    return y[:, :3], y[:, 3:4]


class Pc2ImgModel(nn.Module):
    """The three stages; `forward(channels)` maps `SplatBuffers.channels()` (reordered, see
    `tools.pc2img.pipeline.net_input`) to `Stages`.

    Example:
        >>> m = Pc2ImgModel(Pc2ImgConfig())
        >>> out = m(torch.zeros(1, m.config.splat_channels, 16, 16))
        >>> out.rgb.shape, out.visibility.shape
        (torch.Size([1, 3, 16, 16]), torch.Size([1, 1, 16, 16]))
    """

    def __init__(self, config: Pc2ImgConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or Pc2ImgConfig()
        n = c.splat_channels

        def unet(cin: int, base: int, activation: str) -> ShuffleUNet:
            return ShuffleUNet(ShuffleUNetConfig(cin, 1 if activation == "none" else 4, base, 8 * base, c.depth,
                                                 c.factor, "none", activation))

        self.visibility = unet(n, c.vis_channels, "none")
        self.coarse = unet(n + 1, c.coarse_channels, "tanh")
        if c.refiner_arch == "unet":
            self.refiner: nn.Module = unet(n + 5, c.refiner_channels, "tanh")
        else:
            self.refiner = SPADERefiner(SPADERefinerConfig(4, n + 1, 4, base_channels=2 * c.refiner_channels,
                                                           factor=c.factor, spade_hidden=c.refiner_channels))

    def forward(self, channels: torch.Tensor) -> Stages:
        """channels: `[B, splat_channels, H, W]` → `Stages` (any H, W)."""
        occ = channels[:, :1]
        logits = self.visibility(channels)
        vis = torch.sigmoid(logits) * occ
        # detached: the visibility stage learns visibility (from its own target), not whatever helps the
        # image losses downstream (InvSfM trains VisibNet on its own too)
        x = torch.cat([channels, (vis * 2 - occ).detach()], 1)
        coarse = self.coarse(x)
        if self.config.refiner_arch == "unet":
            refined = self.refiner(torch.cat([x, coarse], 1))
        else:
            refined = self.refiner(coarse, x)
        coarse_rgb, coarse_alpha = _to_unit(coarse)
        rgb, alpha = _to_unit(refined)
        return Stages(vis, logits, coarse_rgb, coarse_alpha, rgb, alpha)
