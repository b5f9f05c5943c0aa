"""The procedural asset library: primitives, superquadrics, the parametric head, textures.

Every asset is a frozen parameter model (a scene file's `procedural:` block) with a `type` tag;
`build_asset(params)` turns any of them into a `MeshData` and, for assets that paint their own
texture (the head), a texture image.

Example:
    >>> mesh, texture = build_asset(TorusParams(major=0.6))
    >>> texture is None
    True
"""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field

from scenes.assets.geometry import MeshData
from scenes.assets.head import head
from scenes.assets.head_params import HeadParams
from scenes.assets.primitives import (
    BoxParams,
    CapsuleParams,
    ConeParams,
    CylinderParams,
    IcosphereParams,
    PlaneParams,
    SphereParams,
    TorusParams,
    box,
    capsule,
    cone,
    cylinder,
    icosphere,
    plane,
    sphere,
    torus,
)
from scenes.assets.superquadric import SuperquadricParams, superquadric
from scenes.assets.textures import CheckerParams, GradientParams, NoiseParams, TextureParams, make_texture

AssetParams = Annotated[
    SphereParams | IcosphereParams | BoxParams | CylinderParams | ConeParams | TorusParams | CapsuleParams
    | PlaneParams | SuperquadricParams | HeadParams,
    Field(discriminator="type"),
]

_BUILDERS = {
    SphereParams: sphere, IcosphereParams: icosphere, BoxParams: box, CylinderParams: cylinder, ConeParams: cone,
    TorusParams: torus, CapsuleParams: capsule, PlaneParams: plane, SuperquadricParams: superquadric,
}


def build_asset(params: AssetParams) -> tuple[MeshData, torch.Tensor | None]:
    """Build a procedural asset.

    Args:
        params: any asset parameter model.

    Returns:
        (the surface in its local frame, its own `[Ht, Wt, 3]` texture or None).
    """
    if isinstance(params, HeadParams):
        return head(params)
    return _BUILDERS[type(params)](params), None


__all__ = [
    "AssetParams", "BoxParams", "CapsuleParams", "CheckerParams", "ConeParams", "CylinderParams", "GradientParams",
    "HeadParams", "IcosphereParams", "MeshData", "NoiseParams", "PlaneParams", "SphereParams", "SuperquadricParams",
    "TextureParams", "TorusParams", "build_asset", "make_texture",
]
