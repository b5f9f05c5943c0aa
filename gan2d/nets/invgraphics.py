"""Inverse-graphics encoder: one image → shape, texture, camera and lighting of a mesh on a template.

A residual trunk (`MultiHeadEncoder`) reads the image and gives a shared feature vector; linear heads
give a shape code, a texture code, four camera numbers, 27 lighting numbers and four placement numbers
(log scale, translation); two decoders turn the codes into per-vertex offsets of a fixed template
(an MLP) and an equirectangular texture map (a small conv upsampler, circular in longitude). The
codes are exposed on their own (`encode` / `decode_shape` / `decode_texture`) so another network (the
GAN's attribute mapping) can consume or produce them. This module knows nothing of meshes or cameras:
what the numbers mean is decided by whoever renders them (`tools.invgraphics`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan2d.errors import ConfigError, ShapeError
from gan2d.layers.norms import NormKind
from gan2d.nets.regressor import MultiHeadEncoder, MultiHeadEncoderConfig

KIND = "gan2d.inverse_graphics"
CAMERA_DIM, LIGHT_DIM, PLACEMENT_DIM = 4, 27, 4


@dataclass(frozen=True)
class InverseGraphicsConfig:
    """Network settings.

    Args:
        num_verts: template vertices the shape decoder displaces.
        offset_channels: numbers per vertex: 3 (a free offset) or 1 (a displacement along the template's
            direction, which keeps a star-shaped surface and is easier to learn).
        in_channels: input channels (RGB + mask: 4).
        resolution: input side (power of two >= 8).
        base_channels: trunk channels at full resolution, doubled per halving up to `max_channels`.
        max_channels: trunk channel cap.
        shape_dim: shape code width.
        texture_dim: texture code width.
        hidden: width of the shape decoder's hidden layer.
        texture_size: (height, width) of the texture map; each a power of two >= 8, width = 2·height
            (equirectangular: longitude spans twice the latitude range).
        texture_channels: channels of the texture decoder's first (4×8 or larger) map.
        norm: trunk normalization ("batch" keeps absolute colors, which instance norm would remove).
    """

    num_verts: int = 642
    offset_channels: int = 3
    in_channels: int = 4
    resolution: int = 64
    base_channels: int = 24
    max_channels: int = 192
    shape_dim: int = 64
    texture_dim: int = 64
    hidden: int = 256
    texture_size: tuple[int, int] = (32, 64)
    texture_channels: int = 96
    norm: NormKind = "batch"

    def __post_init__(self) -> None:
        object.__setattr__(self, "texture_size", tuple(int(s) for s in self.texture_size))
        th, tw = self.texture_size
        if th < 8 or th & (th - 1) or tw != 2 * th:
            raise ConfigError(f"texture_size must be (h, 2h) with h a power of two >= 8, got {self.texture_size}")
        if self.offset_channels not in (1, 3):
            raise ConfigError(f"offset_channels must be 1 or 3, got {self.offset_channels}")
        if min(self.num_verts, self.shape_dim, self.texture_dim, self.hidden, self.texture_channels) < 1:
            raise ConfigError(f"InverseGraphicsConfig values must be positive: {self}")
        self.trunk()  # validates resolution, channels and norm

    def trunk(self) -> MultiHeadEncoderConfig:
        """The trunk's config: one head per predicted quantity."""
        heads = (("shape", self.shape_dim), ("texture", self.texture_dim), ("camera", CAMERA_DIM),
                 ("light", LIGHT_DIM), ("placement", PLACEMENT_DIM))
        return MultiHeadEncoderConfig(heads=heads, in_channels=self.in_channels, resolution=self.resolution,
                                      base_channels=self.base_channels, max_channels=self.max_channels, norm=self.norm)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {**dataclasses.asdict(self), "texture_size": list(self.texture_size)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InverseGraphicsConfig:
        """Inverse of `to_dict`; unknown keys raise `ConfigError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict):
            raise ConfigError(f"InverseGraphicsConfig must be a dict, got {type(data).__name__}")
        if set(data) - names:
            raise ConfigError(f"unknown InverseGraphicsConfig fields: {sorted(set(data) - names)}")
        values = dict(data)
        if "texture_size" in values:
            values["texture_size"] = tuple(values["texture_size"])
        return cls(**values)


class _CircularConv(nn.Module):
    """3×3 conv padded circularly along the width (longitude wraps) and by replication along the height."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (1, 1, 0, 0), mode="circular")
        return self.conv(F.pad(x, (0, 0, 1, 1), mode="replicate"))


class TextureDecoder(nn.Module):
    """Texture code `[B, T]` → equirectangular map `[B, 3, th, tw]` in (0, 1).

    A linear base color of the code is added to the map's logits everywhere (zero at start): the
    upsampler alone learned one mean albedo for every input.
    """

    def __init__(self, code_dim: int, size: tuple[int, int], channels: int) -> None:
        super().__init__()
        th, _ = size
        self.ups = max(0, th.bit_length() - 3)  # from a 4×8 seed up to th×tw
        self.channels = channels
        self.seed = nn.Linear(code_dim, channels * 4 * 8)
        widths = [max(16, channels // 2**i) for i in range(self.ups + 1)]
        self.convs = nn.ModuleList(_CircularConv(widths[i], widths[i + 1]) for i in range(self.ups))
        self.out = nn.Conv2d(widths[-1], 3, 1)
        self.base = nn.Linear(code_dim, 3)
        nn.init.zeros_(self.base.weight)
        nn.init.zeros_(self.base.bias)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.seed(code), 0.2).view(-1, self.channels, 4, 8)
        for conv in self.convs:
            x = F.leaky_relu(conv(F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)), 0.2)
        return torch.sigmoid(self.out(x) + self.base(code)[:, :, None, None])


def mean_color(images: torch.Tensor) -> torch.Tensor:
    """`[B, C, R, R]` network input (RGB in [-1, 1], then the mask in [-1, 1] when C > 3) → `[B, 3]` mean
    RGB over the mask (the whole image without one)."""
    rgb = images[:, :3]
    if images.shape[1] < 4:
        return rgb.mean((2, 3))
    w = (images[:, 3:4] + 1) / 2
    return (rgb * w).sum((2, 3)) / w.sum((2, 3)).clamp(min=1e-6)


class InverseGraphicsNet(nn.Module):
    """Image → {shape_code, texture_code, offsets, texture, camera, light, placement}.

    Example:
        >>> net = InverseGraphicsNet(InverseGraphicsConfig(num_verts=12, resolution=16, base_channels=8,
        ...                                                 max_channels=16, texture_size=(8, 16))).eval()
        >>> out = net(torch.randn(2, 4, 16, 16))
        >>> out["offsets"].shape, out["texture"].shape, out["camera"].shape, out["light"].shape
        (torch.Size([2, 12, 3]), torch.Size([2, 3, 8, 16]), torch.Size([2, 4]), torch.Size([2, 9, 3]))
    """

    def __init__(self, config: InverseGraphicsConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or InverseGraphicsConfig()
        self.trunk = MultiHeadEncoder(c.trunk())
        self.shape_decoder = nn.Sequential(nn.Linear(c.shape_dim, c.hidden), nn.LeakyReLU(0.2),
                                           nn.Linear(c.hidden, c.offset_channels * c.num_verts))
        self.texture_decoder = TextureDecoder(c.texture_dim, c.texture_size, c.texture_channels)
        # The object's mean color enters the texture code directly. Learned through the trunk alone, the
        # code never came to depend on hue (a pink, a blue and a yellow shape all got albedo ≈ (0.4, 0.4,
        # 0.38) after 12 kimg, the color gradient averaging out over each batch), so shapes rendered grey.
        self.color_code = nn.Linear(3, c.texture_dim)
        # Start from the template itself, a mid-grey texture and neutral camera/light/placement: the
        # renderer then sees a plausible object from step 0 instead of a random spiky one.
        for head in (self.shape_decoder[-1], *self.trunk.heads.values()):
            nn.init.zeros_(head.bias)
            head.weight.data.mul_(0.1)

    def encode(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images `[B, in_channels, R, R]` → codes and raw heads: shape `[B, S]`, texture `[B, T]`,
        camera `[B, 4]`, light `[B, 27]`, placement `[B, 4]`."""
        if images.ndim != 4 or images.shape[1:] != (self.config.in_channels, self.config.resolution,
                                                    self.config.resolution):
            r = self.config.resolution
            raise ShapeError(f"InverseGraphicsNet: images must be [B, {self.config.in_channels}, {r}, {r}], "
                             f"got {tuple(images.shape)}")
        h = self.trunk(images)
        return {**h, "texture": h["texture"] + self.color_code(mean_color(images))}

    def decode_shape(self, shape_code: torch.Tensor) -> torch.Tensor:
        """`[B, S]` → per-vertex offsets `[B, V, offset_channels]`."""
        return self.shape_decoder(shape_code).view(-1, self.config.num_verts, self.config.offset_channels)

    def decode_texture(self, texture_code: torch.Tensor) -> torch.Tensor:
        """`[B, T]` → texture map `[B, 3, th, tw]` in (0, 1)."""
        return self.texture_decoder(texture_code)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images `[B, in_channels, R, R]` → every prediction (see the class docstring); light is `[B, 9, 3]`."""
        h = self.encode(images)
        return {"shape_code": h["shape"], "texture_code": h["texture"], "offsets": self.decode_shape(h["shape"]),
                "texture": self.decode_texture(h["texture"]), "camera": h["camera"],
                "light": h["light"].view(-1, 9, 3), "placement": h["placement"]}
