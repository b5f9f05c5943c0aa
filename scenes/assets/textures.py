"""Procedural texture images: checker, fractal value noise, gradients.

Each texture is a frozen parameter model (usable in a scene file under `material.procedural_texture`)
and `make_texture(params, size) -> [size, size, 3]` float32 in [0, 1], row 0 at the top.
Noise is seeded, so the same parameters give the same image on every run and machine.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field

from scenes.spectypes import Color, Positive, Spec


class CheckerParams(Spec):
    """`squares` × `squares` checkerboard of `color_a` (top-left) and `color_b`."""

    type: Literal["checker"] = "checker"
    squares: Annotated[int, Field(ge=1, le=1024)] = 8
    color_a: Color = (0.9, 0.9, 0.9)
    color_b: Color = (0.15, 0.15, 0.15)


class NoiseParams(Spec):
    """Fractal value noise blending `color_a` → `color_b`; `scale` = lattice cells across the
    image at the coarsest octave, each further octave doubles the frequency and halves the weight."""

    type: Literal["noise"] = "noise"
    seed: Annotated[int, Field(ge=0)] = 0
    scale: Positive = 4.0
    octaves: Annotated[int, Field(ge=1, le=8)] = 4
    color_a: Color = (0.2, 0.2, 0.2)
    color_b: Color = (0.9, 0.9, 0.9)


class GradientParams(Spec):
    """Linear gradient along texture `u` or `v`, or radial from the center."""

    type: Literal["gradient"] = "gradient"
    direction: Literal["u", "v", "radial"] = "v"
    color_a: Color = (0.1, 0.1, 0.4)
    color_b: Color = (0.9, 0.8, 0.3)


TextureParams = Annotated[CheckerParams | NoiseParams | GradientParams, Field(discriminator="type")]


def _blend(t: torch.Tensor, a: Color, b: Color) -> torch.Tensor:
    ca, cb = torch.tensor(a), torch.tensor(b)
    return ca + (cb - ca) * t[..., None].clamp(0, 1)


def value_noise(size: int, scale: float, octaves: int, generator: torch.Generator) -> torch.Tensor:
    """`[size, size]` fractal value noise in [0, 1]: bicubic-upsampled random lattices summed over octaves."""
    total = torch.zeros(size, size)
    weight_sum = 0.0
    for o in range(octaves):
        cells = max(1, round(scale * 2**o))
        lattice = torch.rand(1, 1, cells + 1, cells + 1, generator=generator)
        up = torch.nn.functional.interpolate(lattice, size=(size, size), mode="bicubic", align_corners=True)
        total += up[0, 0] * 0.5**o
        weight_sum += 0.5**o
    return (total / weight_sum).clamp(0, 1)


def make_texture(params: CheckerParams | NoiseParams | GradientParams, size: int = 256) -> torch.Tensor:
    """Render a procedural texture.

    Args:
        params: one of the texture parameter models.
        size: image side in pixels.

    Returns:
        `[size, size, 3]` float32 in [0, 1].

    Example:
        >>> make_texture(CheckerParams(squares=2, color_a=(1, 0, 0)), 4)[0, 0].tolist()
        [1.0, 0.0, 0.0]
    """
    ys, xs = torch.meshgrid((torch.arange(size) + 0.5) / size, (torch.arange(size) + 0.5) / size, indexing="ij")
    if isinstance(params, CheckerParams):
        t = ((xs * params.squares).floor() + (ys * params.squares).floor()) % 2
        return _blend(t, params.color_a, params.color_b)
    if isinstance(params, NoiseParams):
        g = torch.Generator().manual_seed(params.seed)
        return _blend(value_noise(size, params.scale, params.octaves, g), params.color_a, params.color_b)
    if params.direction == "u":
        t = xs
    elif params.direction == "v":
        t = 1 - ys  # v grows upward while image rows grow downward
    else:
        t = ((xs - 0.5) ** 2 + (ys - 0.5) ** 2).sqrt() / 0.5**0.5
    return _blend(t, params.color_a, params.color_b)
