"""Attribute mapping ("StyleGAN-R"): 3D properties (camera, shape code, texture code) → a generator's W+.

Zhang et al. 2020 ("Image GANs meet Differentiable Rendering for Inverse Graphics and Interpretable
3D Neural Rendering") drive a StyleGAN with the properties an inverse-graphics network reads off its
images, so the GAN becomes a neural renderer: change the camera, keep the object. Here the view
layers of W+ (the first `camera_layers` styles, where StyleGAN keeps pose and coarse shape) come from
an MLP of the camera and the shape code, the remaining layers from an MLP of the shape and texture
codes; both predict residuals around the generator's average `w_avg`, so an untrained mapping renders
the average face.

A generator whose view is a label (`gan2d.nets.stylegan2.ViewConditionedMapping`) takes its camera
through that label, so its mapping has no camera head (`camera_layers=0`, `camera_dim=0`): shape and
texture codes alone give all of its label-free styles, and the camera cannot leak into the identity.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from gan2d.errors import ConfigError, ShapeError

KIND = "gan2d.attribute_mapping"


@dataclass(frozen=True)
class AttributeMappingConfig:
    """Mapping settings.

    Args:
        camera_dim: camera features (e.g. normalized yaw, pitch, roll, log distance); 0 with `camera_layers=0`.
        shape_dim: shape code width.
        texture_dim: texture code width.
        w_dim: the generator's style width.
        num_ws: the generator's number of styles (W+ layers).
        camera_layers: leading styles driven by the camera (and shape); the rest by shape and texture. 0: a
            label-free mapping (the generator takes the camera as its view label).
        hidden: MLP width.
        depth: hidden layers per MLP.
    """

    camera_dim: int = 4
    shape_dim: int = 64
    texture_dim: int = 64
    w_dim: int = 512
    num_ws: int = 10
    camera_layers: int = 4
    hidden: int = 256
    depth: int = 2

    def __post_init__(self) -> None:
        if min(self.shape_dim, self.texture_dim, self.w_dim, self.num_ws, self.hidden, self.depth) < 1:
            raise ConfigError(f"AttributeMappingConfig values must be positive: {self}")
        if not 0 <= self.camera_layers < self.num_ws:
            raise ConfigError(f"camera_layers must be within 0..num_ws-1 ({self.num_ws - 1}), got {self.camera_layers}")
        if (self.camera_dim > 0) != (self.camera_layers > 0) or self.camera_dim < 0:
            raise ConfigError(f"camera_dim must be positive with camera_layers > 0 and 0 without (label-free), got "
                              f"camera_dim {self.camera_dim}, camera_layers {self.camera_layers}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttributeMappingConfig:
        """Inverse of `to_dict`; unknown keys raise `ConfigError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or set(data) - names:
            raise ConfigError(f"not an AttributeMappingConfig: {data!r}"[:200])
        return cls(**data)


def _mlp(cin: int, hidden: int, depth: int, cout: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(cin if i == 0 else hidden, hidden), nn.LeakyReLU(0.2)]
    out = nn.Linear(hidden, cout)
    nn.init.zeros_(out.weight)  # start at w_avg: the generator's average object
    nn.init.zeros_(out.bias)
    return nn.Sequential(*layers, out)


class AttributeMapping(nn.Module):
    """(shape `[B, S]`, texture `[B, T]`, camera `[B, C]` or None when label-free) → ws `[B, num_ws, w_dim]`.

    Args:
        config: sizes.
        w_avg: `[w_dim]` the generator's average w (a buffer; zeros when None).

    Example:
        >>> m = AttributeMapping(AttributeMappingConfig(shape_dim=3, texture_dim=2, w_dim=8, num_ws=6, hidden=16))
        >>> m(torch.zeros(2, 3), torch.zeros(2, 2), torch.zeros(2, 4)).shape
        torch.Size([2, 6, 8])
        >>> free = AttributeMapping(AttributeMappingConfig(camera_dim=0, shape_dim=3, texture_dim=2, w_dim=8, num_ws=6,
        ...                                                camera_layers=0, hidden=16))
        >>> free(torch.zeros(2, 3), torch.zeros(2, 2)).shape
        torch.Size([2, 6, 8])
    """

    def __init__(self, config: AttributeMappingConfig, w_avg: torch.Tensor | None = None) -> None:
        super().__init__()
        self.config = c = config
        self.view = _mlp(c.camera_dim + c.shape_dim, c.hidden, c.depth, c.camera_layers * c.w_dim) \
            if c.camera_layers else None
        self.identity = _mlp(c.shape_dim + c.texture_dim, c.hidden, c.depth, (c.num_ws - c.camera_layers) * c.w_dim)
        avg = torch.zeros(c.w_dim) if w_avg is None else w_avg.detach().float().reshape(-1)
        if avg.shape != (c.w_dim,):
            raise ShapeError(f"w_avg must be [{c.w_dim}], got {list(avg.shape)}")
        self.register_buffer("w_avg", avg.clone())

    @property
    def label_free(self) -> bool:
        """The mapping reads no camera: its generator takes the view as a label."""
        return self.view is None

    def forward(self, shape: torch.Tensor, texture: torch.Tensor, camera: torch.Tensor | None = None) -> torch.Tensor:
        c = self.config
        B = shape.shape[0]
        if shape.shape != (B, c.shape_dim) or texture.shape != (B, c.texture_dim):
            raise ShapeError(f"AttributeMapping needs shape [B, {c.shape_dim}], texture [B, {c.texture_dim}]; got "
                             f"{list(shape.shape)}, {list(texture.shape)}")
        rest = self.identity(torch.cat([shape, texture], 1)).view(B, c.num_ws - c.camera_layers, c.w_dim)
        if self.view is None:
            if camera is not None:
                raise ShapeError("a label-free AttributeMapping reads no camera (its generator takes the view label)")
            return self.w_avg + rest
        if camera is None or camera.shape != (B, c.camera_dim):
            raise ShapeError(f"AttributeMapping needs camera [B, {c.camera_dim}], got "
                             f"{None if camera is None else list(camera.shape)}")
        view = self.view(torch.cat([camera, shape], 1)).view(B, c.camera_layers, c.w_dim)
        return self.w_avg + torch.cat([view, rest], 1)
