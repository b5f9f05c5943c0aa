"""Surface material constants used by the lit shading models."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from render3d.errors import ShapeError
from render3d.shading.broadcast import Vec3, as_batch_param


@dataclass(frozen=True)
class Materials:
    """Material of every mesh in a batch (values are shared, or `[B, 3]` tensors per mesh).

    Shaded color: `albedo · (ambient_color · ambient_light + diffuse_color · diffuse_light)
    + specular_color · specular_light` (the specular term only for "phong").

    Attributes:
        base_color: albedo of meshes that have neither a texture nor vertex colors.
        ambient_color: reflectance for ambient light.
        diffuse_color: reflectance for diffuse (Lambertian) light.
        specular_color: reflectance of the Blinn-Phong highlight (not tinted by the albedo).
        shininess: Blinn-Phong exponent (> 0), a float or `[B]`; about 4× a Phong exponent for the same highlight.

    Raises:
        ShapeError: a color that is not a float, 3 values or `[1 or B, 3]`; shininess ≤ 0.

    Example:
        >>> Materials(specular_color=(0.0, 0.0, 0.0)).shininess
        32.0
    """

    base_color: Vec3 = (0.8, 0.8, 0.8)
    ambient_color: Vec3 = (1.0, 1.0, 1.0)
    diffuse_color: Vec3 = (1.0, 1.0, 1.0)
    specular_color: Vec3 = (0.25, 0.25, 0.25)
    shininess: float | torch.Tensor = 32.0

    def __post_init__(self) -> None:
        for name in ("base_color", "ambient_color", "diffuse_color", "specular_color"):
            as_batch_param(getattr(self, name), 3, name)
        s = self.shininess
        bad = bool((torch.as_tensor(s) <= 0).any()) if isinstance(s, torch.Tensor) else not (math.isfinite(s) and s > 0)
        if bad:
            raise ShapeError(f"shininess must be > 0, got {s}")

    def tensors(self) -> dict[str, torch.Tensor]:
        """Every field as an `[N, 3]` (colors) or `[N, 1]` (shininess) tensor, N = 1 or B."""
        out = {name: as_batch_param(getattr(self, name), 3, name)
               for name in ("base_color", "ambient_color", "diffuse_color", "specular_color")}
        shininess = torch.as_tensor(self.shininess)
        out["shininess"] = (shininess if shininess.is_floating_point() else shininess.float()).reshape(-1, 1)
        return out
