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


GATE_BIAS = 2.0  # the coarse stage starts by passing visible splat colors through (gate ≈ 0.88)


class Pc2ImgModel(nn.Module):
    """The three stages; `forward(channels)` maps `SplatBuffers.channels()` (reordered, see
    `tools.pc2img.pipeline.net_input`) to `Stages`.

    The coarse stage predicts a color, an alpha and a per-pixel gate: its image is
    `g · splat color + (1 − g) · predicted color` with `g = gate · visibility` (0 off the splat), so
    well-sampled visible surfaces keep their own colors, points the visibility stage calls hidden are
    replaced, and the net spends itself on holes, hidden points and outlines. The refiner predicts a
    residual over the coarse image and alpha (its last layer starts at zero: step 0 refines nothing).

    Example:
        >>> m = Pc2ImgModel(Pc2ImgConfig())
        >>> out = m(torch.zeros(1, m.config.splat_channels, 16, 16))
        >>> out.rgb.shape, out.visibility.shape
        (torch.Size([1, 3, 16, 16]), torch.Size([1, 1, 16, 16]))
    """

    def __init__(self, config: Pc2ImgConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or Pc2ImgConfig()
        n, f2 = c.splat_channels, c.factor**2

        def unet(cin: int, cout: int, base: int) -> ShuffleUNet:
            return ShuffleUNet(ShuffleUNetConfig(cin, cout, base, 8 * base, c.depth, c.factor, "none", "none"))

        self.visibility = unet(n, 1, c.vis_channels)
        self.coarse = unet(n + 1, 5, c.coarse_channels)
        with torch.no_grad():  # the gate's output channel group (pixel-shuffled: f² conv channels)
            self.coarse.out.bias[4 * f2:5 * f2].fill_(GATE_BIAS)
        if c.refiner_arch == "unet":
            self.refiner: nn.Module = unet(n + 5, 4, c.refiner_channels)
        else:
            self.refiner = SPADERefiner(SPADERefinerConfig(4, n + 1, 4, base_channels=2 * c.refiner_channels,
                                                           factor=c.factor, spade_hidden=c.refiner_channels))
        nn.init.zeros_(self.refiner.out.weight)
        nn.init.zeros_(self.refiner.out.bias)

    def forward(self, channels: torch.Tensor) -> Stages:
        """channels: `[B, splat_channels, H, W]` → `Stages` (any H, W)."""
        occ = channels[:, :1]
        logits = self.visibility(channels)
        vis = torch.sigmoid(logits) * occ
        # detached: the visibility stage learns visibility (from its own target), not whatever helps the
        # image losses downstream (InvSfM trains VisibNet on its own too)
        x = torch.cat([channels, (vis * 2 - occ).detach()], 1)
        c = self.coarse(x)
        # a splat color passes through only where the visibility stage says its point is seen
        gate = torch.sigmoid(c[:, 4:5]) * vis.detach()
        splat_rgb = (channels[:, 2:5] + 1) * 0.5
        coarse_rgb = gate * splat_rgb + (1 - gate) * (torch.tanh(c[:, :3]) + 1) * 0.5
        coarse_alpha = (torch.tanh(c[:, 3:4]) + 1) * 0.5
        coarse = torch.cat([coarse_rgb, coarse_alpha], 1) * 2 - 1
        if self.config.refiner_arch == "unet":
            residual = torch.tanh(self.refiner(torch.cat([x, coarse], 1)))
        else:
            residual = self.refiner(coarse, x)
        rgb = (coarse_rgb + 0.5 * residual[:, :3]).clamp(0, 1)
        alpha = (coarse_alpha + 0.5 * residual[:, 3:4]).clamp(0, 1)
        return Stages(vis, logits, coarse_rgb, coarse_alpha, rgb, alpha)
