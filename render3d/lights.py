"""Light sources for shading, as modules whose parameters are registered buffers.

Every light answers, for surface points and unit normals `[B, ..., 3]` in world space:

- `ambient(points)`: direction-less light, scaled by the material's ambient color;
- `diffuse(points, normals)`: Lambertian light, `Σ radiance · max(0, n·l)`, scaled by the albedo;
- `specular(points, normals, view_dirs, shininess)`: Blinn-Phong highlight
  `Σ radiance · max(0, n·h)^shininess` with `h = normalize(l + v)`, only where `n·l > 0`;
- `incident(points)`: for lights with a direction, the unit direction toward the light and the
  color arriving at each point (None for ambient and environment lights).

Light parameters are `[1 or B, ...]`: one light for every image, or one per image.
A light's color is the value a white surface facing it shows (π is folded into the color, as is
customary in rasterizers); `SHLight` follows the same convention (see there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from render3d.errors import ShapeError
from render3d.shading.broadcast import Vec3, as_batch_param, per_batch
from render3d.shading.sh import sh_irradiance


class LightTerms(NamedTuple):
    """The three light terms at each point, each `[B, ..., 3]`."""

    ambient: torch.Tensor
    diffuse: torch.Tensor
    specular: torch.Tensor


def _check_points(points: torch.Tensor, normals: torch.Tensor | None = None) -> None:
    if points.dim() < 2 or points.shape[-1] != 3:
        raise ShapeError(f"points must be [B, ..., 3], got {list(points.shape)}")
    if normals is not None and normals.shape != points.shape:
        raise ShapeError(f"normals must match points {list(points.shape)}, got {list(normals.shape)}")


class Light(nn.Module):
    """Base of all lights: defaults contribute nothing; directional lights implement `incident`."""

    def incident(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """`(to_light, radiance)`, both `[B, ..., 3]`, or None for lights without a direction."""
        return None

    def ambient(self, points: torch.Tensor) -> torch.Tensor:
        """`[B, ..., 3]` ambient light at `points: [B, ..., 3]`."""
        _check_points(points)
        return torch.zeros_like(points)

    def diffuse(self, points: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
        """`[B, ..., 3]` cosine-weighted light `radiance · max(0, n·l)`."""
        _check_points(points, normals)
        inc = self.incident(points)
        if inc is None:
            return torch.zeros_like(points)
        to_light, radiance = inc
        return radiance * (normals * to_light).sum(-1, keepdim=True).clamp(min=0.0)

    def specular(
        self, points: torch.Tensor, normals: torch.Tensor, view_dirs: torch.Tensor, shininess: torch.Tensor
    ) -> torch.Tensor:
        """`[B, ..., 3]` Blinn-Phong highlight.

        Args:
            points: `[B, ..., 3]` world points.
            normals: `[B, ..., 3]` unit normals.
            view_dirs: `[B, ..., 3]` unit directions from the points toward the camera.
            shininess: exponent, broadcastable to `[B, ..., 1]`. Blinn-Phong's half-vector lobe
                is wider than Phong's reflection lobe: about 4× Phong's exponent gives a similar
                highlight.
        """
        _check_points(points, normals)
        inc = self.incident(points)
        if inc is None:
            return torch.zeros_like(points)
        to_light, radiance = inc
        half = nn.functional.normalize(to_light + view_dirs, dim=-1, eps=1e-8)
        lit = ((normals * to_light).sum(-1, keepdim=True) > 0).to(points.dtype)
        n_dot_h = (normals * half).sum(-1, keepdim=True).clamp(min=0.0)
        return radiance * lit * n_dot_h.pow(shininess)

    def forward(
        self, points: torch.Tensor, normals: torch.Tensor, view_dirs: torch.Tensor, shininess: torch.Tensor
    ) -> LightTerms:
        """All three terms at once (see the module docstring)."""
        return LightTerms(self.ambient(points), self.diffuse(points, normals),
                          self.specular(points, normals, view_dirs, shininess))


class AmbientLight(Light):
    """Uniform direction-less light.

    Args:
        color: RGB, a float, 3 values or `[1 or B, 3]`.

    Example:
        >>> AmbientLight(0.5).ambient(torch.zeros(1, 2, 3))[0, 0].tolist()
        [0.5, 0.5, 0.5]
    """

    def __init__(self, color: Vec3 = 1.0) -> None:
        super().__init__()
        self.register_buffer("color", as_batch_param(color, 3, "color"))

    def ambient(self, points: torch.Tensor) -> torch.Tensor:
        _check_points(points)
        return per_batch(self.color, points, "color").expand_as(points)


class DirectionalLight(Light):
    """A light at infinity.

    Args:
        direction: the direction the light travels (world), e.g. `(-1, 0, 0)` lights surfaces
            facing +X; 3 values or `[1 or B, 3]`; normalized here.
        color: RGB, a float, 3 values or `[1 or B, 3]`.

    Raises:
        ShapeError: bad shapes or a zero direction.

    Example:
        >>> light = DirectionalLight((0.0, 0.0, -1.0))
        >>> light.diffuse(torch.zeros(1, 1, 3), torch.tensor([[[0.0, 0.0, 1.0]]]))[0, 0].tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, direction: Vec3, color: Vec3 = 1.0) -> None:
        super().__init__()
        d = as_batch_param(direction, 3, "direction")
        if bool((d.norm(dim=-1) < 1e-12).any()):
            raise ShapeError("DirectionalLight direction must be non-zero")
        self.register_buffer("direction", nn.functional.normalize(d, dim=-1))
        self.register_buffer("color", as_batch_param(color, 3, "color"))

    def incident(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_points(points)
        to_light = -per_batch(self.direction, points, "direction").expand_as(points)
        return to_light, per_batch(self.color, points, "color").expand_as(points)


class PointLight(Light):
    """A point light with optional distance attenuation.

    The color arriving at distance d is `color / (a0 + a1 d + a2 d²)` with
    `attenuation = (a0, a1, a2)`; the default `(1, 0, 0)` does not attenuate.

    Args:
        position: world position, 3 values or `[1 or B, 3]`.
        color: RGB, a float, 3 values or `[1 or B, 3]`.
        attenuation: constant, linear and quadratic coefficients (non-negative, not all 0).

    Raises:
        ShapeError: bad shapes or attenuation.

    Example:
        >>> light = PointLight((0.0, 0.0, 2.0), attenuation=(0.0, 0.0, 1.0))
        >>> light.diffuse(torch.zeros(1, 1, 3), torch.tensor([[[0.0, 0.0, 1.0]]]))[0, 0].tolist()
        [0.25, 0.25, 0.25]
    """

    def __init__(self, position: Vec3, color: Vec3 = 1.0, attenuation: Sequence[float] = (1.0, 0.0, 0.0)) -> None:
        super().__init__()
        att = as_batch_param(attenuation, 3, "attenuation")
        if att.shape[0] != 1 or bool((att < 0).any()) or float(att.sum()) <= 0:
            raise ShapeError(f"attenuation must be 3 non-negative values, not all 0, got {list(attenuation)}")
        self.register_buffer("position", as_batch_param(position, 3, "position"))
        self.register_buffer("color", as_batch_param(color, 3, "color"))
        self.register_buffer("attenuation", att[0])

    def incident(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_points(points)
        offset = per_batch(self.position, points, "position") - points
        dist = offset.norm(dim=-1, keepdim=True)
        a = self.attenuation.to(points)
        falloff = a[0] + a[1] * dist + a[2] * dist * dist
        to_light = offset / dist.clamp(min=1e-12)
        return to_light, per_batch(self.color, points, "color") / falloff


class SHLight(Light):
    """Diffuse environment light from 2nd-order real SH radiance coefficients.

    `diffuse = E(n) / π`, with `E` the Ramamoorthi–Hanrahan irradiance (`render3d.shading.sh`,
    basis order documented there): the outgoing radiance of a white Lambertian surface, so a
    uniform environment of radiance 1 shades white as 1, like an `AmbientLight(1)`. The result is
    not clamped at 0. No specular term.

    Args:
        coeffs: `[1 or B, 9, 3]` RGB radiance coefficients in world space.

    Raises:
        ShapeError: bad shape.

    Example:
        >>> c = torch.zeros(1, 9, 3); c[0, 0] = 1 / 0.282095
        >>> out = SHLight(c).diffuse(torch.zeros(1, 1, 3), torch.tensor([[[1.0, 0, 0]]]))
        >>> [round(v, 4) for v in out[0, 0].tolist()]
        [1.0, 1.0, 1.0]
    """

    def __init__(self, coeffs: torch.Tensor) -> None:
        super().__init__()
        coeffs = torch.as_tensor(coeffs)
        if coeffs.dim() != 3 or coeffs.shape[1:] != (9, 3):
            raise ShapeError(f"SH coeffs must be [1 or B, 9, 3], got {list(coeffs.shape)}")
        # Kept as given (not detached): lighting predicted by a network stays in its graph.
        self.register_buffer("coeffs", coeffs if coeffs.is_floating_point() else coeffs.float())

    def diffuse(self, points: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
        _check_points(points, normals)
        return sh_irradiance(normals, self.coeffs) / torch.pi


class Lights(Light):
    """Several lights acting together: every term is the sum over the members.

    Args:
        lights: the member lights.

    Example:
        >>> both = Lights(AmbientLight(0.25), DirectionalLight((0.0, -1.0, 0.0), 0.5))
        >>> both(torch.zeros(1, 1, 3), torch.tensor([[[0.0, 1.0, 0.0]]]), torch.tensor([[[0.0, 1.0, 0.0]]]),
        ...      torch.tensor(8.0)).diffuse[0, 0].tolist()
        [0.5, 0.5, 0.5]
    """

    def __init__(self, *lights: Light) -> None:
        super().__init__()
        if not all(isinstance(light, Light) for light in lights):
            raise ShapeError("Lights members must be Light modules")
        self.members = nn.ModuleList(lights)

    def ambient(self, points: torch.Tensor) -> torch.Tensor:
        _check_points(points)
        return sum((light.ambient(points) for light in self.members), torch.zeros_like(points))

    def diffuse(self, points: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
        _check_points(points, normals)
        return sum((light.diffuse(points, normals) for light in self.members), torch.zeros_like(points))

    def specular(
        self, points: torch.Tensor, normals: torch.Tensor, view_dirs: torch.Tensor, shininess: torch.Tensor
    ) -> torch.Tensor:
        _check_points(points, normals)
        return sum((light.specular(points, normals, view_dirs, shininess) for light in self.members),
                   torch.zeros_like(points))
