"""Scene objects: geometry source, transform, material and per-object render flags."""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field, model_validator

from scenes.assets import AssetParams, TextureParams
from scenes.spectypes import AssetPath, Color, Positive, PositiveVec3, Spec, Unit, Vec3
from scenes.transforms import compose, euler_to_matrix, look_at_rotation, quaternion_to_matrix


class TransformSpec(Spec):
    """Object → world placement `T @ R @ S`.

    Attributes:
        translation: position of the object's origin in world space.
        rotation_euler_deg: extrinsic X, Y, Z rotations in degrees (`R = Rz Ry Rx`).
        rotation_quat: `(w, x, y, z)`, normalized on use.
        look_at: a world point the object's +Z axis turns toward (with its +Y toward `up`).
        up: the up hint for `look_at`.
        scale: one positive factor or one per axis.

    At most one of `rotation_euler_deg`, `rotation_quat`, `look_at` may be given.
    """

    translation: Vec3 = (0.0, 0.0, 0.0)
    rotation_euler_deg: Vec3 | None = None
    rotation_quat: tuple[float, float, float, float] | None = None
    look_at: Vec3 | None = None
    up: Vec3 = (0.0, 1.0, 0.0)
    scale: Positive | PositiveVec3 = 1.0

    @model_validator(mode="after")
    def _one_rotation(self) -> TransformSpec:
        given = [k for k in ("rotation_euler_deg", "rotation_quat", "look_at") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one rotation, got {', '.join(given)}")
        return self

    def matrix(self) -> torch.Tensor:
        """`[4, 4]` object → world matrix."""
        if self.rotation_euler_deg is not None:
            rot = euler_to_matrix(self.rotation_euler_deg)
        elif self.rotation_quat is not None:
            rot = quaternion_to_matrix(self.rotation_quat)
        elif self.look_at is not None:
            rot = look_at_rotation(self.translation, self.look_at, self.up)
        else:
            rot = torch.eye(3)
        scale = (self.scale,) * 3 if isinstance(self.scale, float | int) else self.scale
        return compose(rot, self.translation, scale)


class MaterialSpec(Spec):
    """Surface appearance.

    Attributes:
        base_color: RGB in [0, 1], used when there is no texture (and for point clouds without colors).
        texture: an image file mapped by the mesh UVs (replaces the mesh's own texture).
        procedural_texture: a generated texture (checker / noise / gradient) mapped by the UVs.
        texture_size: pixel size of a procedural texture.
        model: `phong` uses ambient/diffuse/specular/shininess as given; `metallic_roughness`
            derives them (a rasterizer approximation, no reflections): specular color =
            lerp(0.04, base color, metallic), shininess = 2 / roughness⁴ − 2, ambient and diffuse
            scaled by 1 − 0.8·metallic (a rough stand-in for the environment a metal reflects).
        ambient, diffuse, specular: reflectance weights in [0, 1].
        shininess: Blinn-Phong exponent (about 4× a Phong exponent for the same highlight).
        metallic, roughness: metallic-roughness parameters in [0, 1].
    """

    base_color: Color = (0.8, 0.8, 0.8)
    texture: AssetPath | None = None
    procedural_texture: TextureParams | None = None
    texture_size: Annotated[int, Field(ge=2, le=4096)] = 256
    model: Literal["phong", "metallic_roughness"] = "phong"
    ambient: Unit = 1.0
    diffuse: Unit = 1.0
    specular: Unit = 0.2
    shininess: Positive = 32.0
    metallic: Unit = 0.0
    roughness: Annotated[float, Field(ge=0.05, le=1.0)] = 0.5

    @model_validator(mode="after")
    def _one_texture(self) -> MaterialSpec:
        if self.texture is not None and self.procedural_texture is not None:
            raise ValueError("give either texture or procedural_texture, not both")
        return self

    def phong_terms(self) -> tuple[float, float, tuple[float, float, float], float]:
        """(ambient, diffuse, specular RGB, shininess) after the metallic-roughness mapping."""
        if self.model == "phong":
            return self.ambient, self.diffuse, (self.specular,) * 3, self.shininess
        keep = 1.0 - 0.8 * self.metallic
        specular = tuple(0.04 + (c - 0.04) * self.metallic for c in self.base_color)
        shininess = max(1.0, 2.0 / self.roughness**4 - 2.0)
        return self.ambient * keep, self.diffuse * keep, specular, shininess


class RenderFlags(Spec):
    """Per-object switches.

    Attributes:
        visible: drawn at all.
        in_mask: counted in the mask and instance outputs (False for floors, backdrops).
        shading: `scene` follows the render settings; `unlit` shows the base color/texture as is.
        cull_backfaces: skip triangles seen from behind.
    """

    visible: bool = True
    in_mask: bool = True
    shading: Literal["scene", "unlit", "lambert", "phong"] = "scene"
    cull_backfaces: bool = False


class ObjectSpec(Spec):
    """One object: exactly one of `mesh` (file), `points` (point-cloud file) or `procedural`.

    Attributes:
        name: unique within the scene.
        mesh: a mesh file (OBJ/PLY/GLB/STL/OFF), relative to the scene file.
        points: a point-cloud file (PLY/PCD/XYZ/NPY), relative to the scene file.
        procedural: asset parameters with a `type` (sphere, icosphere, box, cylinder, cone, torus,
            capsule, plane, superquadric, head).
        point_radius: splat radius in world units for `points` (the file's own radii when None).
        instance_id: label in the instance output (1-based position in `objects` when None).
    """

    name: Annotated[str, Field(min_length=1, max_length=128)]
    mesh: AssetPath | None = None
    points: AssetPath | None = None
    procedural: AssetParams | None = None
    point_radius: Positive | None = None
    instance_id: Annotated[int, Field(ge=1, le=255)] | None = None
    transform: TransformSpec = TransformSpec()
    material: MaterialSpec = MaterialSpec()
    flags: RenderFlags = RenderFlags()

    @model_validator(mode="after")
    def _one_source(self) -> ObjectSpec:
        given = [k for k in ("mesh", "points", "procedural") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"object {self.name!r} needs exactly one of mesh, points, procedural; "
                             f"got {', '.join(given) or 'none'}")
        if self.point_radius is not None and self.points is None:
            raise ValueError("point_radius applies to point-cloud objects only")
        if self.points is not None and (self.material.texture or self.material.procedural_texture):
            raise ValueError("point clouds take their colors from the file (or base_color), not a texture")
        return self
