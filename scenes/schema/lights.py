"""Scene lights: ambient, directional, point and a spherical-harmonics environment."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from scenes.spectypes import Color, Spec, Vec3

Intensity = Annotated[float, Field(ge=0.0, le=1e4)]


class AmbientLightSpec(Spec):
    """Uniform light from every direction."""

    type: Literal["ambient"] = "ambient"
    color: Color = (1.0, 1.0, 1.0)
    intensity: Intensity = 0.3


class DirectionalLightSpec(Spec):
    """Parallel light; `direction` is where the light travels (from the light toward the scene)."""

    type: Literal["directional"] = "directional"
    direction: Vec3 = (-0.3, -0.5, -1.0)
    color: Color = (1.0, 1.0, 1.0)
    intensity: Intensity = 0.8

    @field_validator("direction")
    @classmethod
    def _nonzero(cls, v: Vec3) -> Vec3:
        if sum(c * c for c in v) < 1e-12:
            raise ValueError("direction must be a non-zero vector")
        return v


class PointLightSpec(Spec):
    """Light radiating from `position` (no distance falloff unless the shader applies one)."""

    type: Literal["point"] = "point"
    position: Vec3 = (2.0, 2.0, 2.0)
    color: Color = (1.0, 1.0, 1.0)
    intensity: Intensity = 0.8


class SHLightSpec(Spec):
    """Environment light: 9 RGB second-order real spherical-harmonics radiance coefficients in
    world space, in the basis order of `render3d.shading.sh` (L00, L1-1, L10, L11, L2-2, L2-1, L20,
    L21, L22); a constant environment of radiance 1 is `[[3.5449, ...], [0, 0, 0], ...]`."""

    type: Literal["sh"] = "sh"
    coefficients: Annotated[tuple[Vec3, ...], Field(min_length=9, max_length=9)]


LightSpec = Annotated[AmbientLightSpec | DirectionalLightSpec | PointLightSpec | SHLightSpec,
                      Field(discriminator="type")]

DEFAULT_LIGHTS: tuple = (AmbientLightSpec(), DirectionalLightSpec())
"""The rig used when a scene lists no lights: soft ambient plus a key light from the upper right."""
