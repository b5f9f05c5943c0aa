"""Shading as pure functions: the lit models of per-fragment albedo, geometry, lights and material,
and `shade_fragments`, the whole per-fragment color stage that `Shader` and the render tasks share.

Inputs are `[B, ..., 3]` world-space tensors (typically `[B, H, W, K, 3]` fragments). The
unlit model is the albedo itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.render_settings import Shading
from render3d.shading.attributes import fragment_albedo, fragment_normals, fragment_points
from render3d.shading.broadcast import per_batch
from render3d.shading.materials import Materials
from render3d.structures import Meshes
from render3d.texture import FilterMode, WrapMode

if TYPE_CHECKING:
    from render3d.lights import Light


def _check(albedo: torch.Tensor, points: torch.Tensor, normals: torch.Tensor) -> None:
    if points.dim() < 2 or points.shape[-1] != 3 or normals.shape != points.shape:
        raise ShapeError(f"points and normals must both be [B, ..., 3], got {list(points.shape)} and "
                         f"{list(normals.shape)}")
    if albedo.shape != points.shape:
        raise ShapeError(f"albedo must be RGB shaped like points {list(points.shape)}, got {list(albedo.shape)}")


def lambert(
    albedo: torch.Tensor, points: torch.Tensor, normals: torch.Tensor, lights: Light, materials: Materials
) -> torch.Tensor:
    """Lambertian (diffuse + ambient) shading.

    `albedo · (ambient_color · ambient + diffuse_color · Σ radiance · max(0, n·l))`.

    Args:
        albedo: `[B, ..., 3]` surface color.
        points: `[B, ..., 3]` world positions.
        normals: `[B, ..., 3]` unit world normals.
        lights: any `render3d.lights.Light` (a `Lights` for several).
        materials: material colors (shared or per mesh).

    Returns:
        `[B, ..., 3]` shaded color (not clamped).

    Raises:
        ShapeError: mismatched shapes.

    Example:
        >>> from render3d.lights import DirectionalLight
        >>> n = torch.tensor([[[0.0, 0.0, 1.0]]])
        >>> lambert(torch.full((1, 1, 3), 0.5), torch.zeros(1, 1, 3), n, DirectionalLight((0, 0, -1.0)),
        ...         Materials())[0, 0].tolist()
        [0.5, 0.5, 0.5]
    """
    _check(albedo, points, normals)
    m = materials.tensors()
    ka = per_batch(m["ambient_color"], points, "ambient_color")
    kd = per_batch(m["diffuse_color"], points, "diffuse_color")
    return albedo * (ka * lights.ambient(points) + kd * lights.diffuse(points, normals))


def phong(
    albedo: torch.Tensor,
    points: torch.Tensor,
    normals: torch.Tensor,
    view_dirs: torch.Tensor,
    lights: Light,
    materials: Materials,
) -> torch.Tensor:
    """Blinn-Phong shading: `lambert(...) + specular_color · Σ radiance · max(0, n·h)^shininess`.

    The highlight uses the half vector `h = normalize(l + v)` (Blinn-Phong), is white-ish (not
    tinted by the albedo) and is zero where the light is behind the surface.

    Args:
        albedo: `[B, ..., 3]` surface color.
        points: `[B, ..., 3]` world positions.
        normals: `[B, ..., 3]` unit world normals.
        view_dirs: `[B, ..., 3]` unit directions from each point toward the camera.
        lights: any `render3d.lights.Light`.
        materials: material colors and shininess.

    Returns:
        `[B, ..., 3]` shaded color (not clamped).

    Raises:
        ShapeError: mismatched shapes.

    Example:
        >>> from render3d.lights import DirectionalLight
        >>> n = torch.tensor([[[0.0, 0.0, 1.0]]])
        >>> phong(torch.full((1, 1, 3), 0.5), torch.zeros(1, 1, 3), n, n, DirectionalLight((0, 0, -1.0)),
        ...       Materials(specular_color=(0.25, 0.25, 0.25)))[0, 0].tolist()
        [0.75, 0.75, 0.75]
    """
    if view_dirs.shape != points.shape:
        raise ShapeError(f"view_dirs must match points {list(points.shape)}, got {list(view_dirs.shape)}")
    m = materials.tensors()
    ks = per_batch(m["specular_color"], points, "specular_color")
    shininess = per_batch(m["shininess"], points, "shininess")
    return lambert(albedo, points, normals, lights, materials) + ks * lights.specular(
        points, normals, view_dirs, shininess)


def view_directions(cameras: Cameras, points: torch.Tensor) -> torch.Tensor:
    """`[B, ..., 3]` unit directions from world `points: [B, ..., 3]` toward each camera.

    Orthographic cameras look along their +z axis everywhere, so the direction is `-z`.

    Example:
        >>> from render3d.cameras import intrinsics_from_fov, look_at
        >>> R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
        >>> cams = Cameras(intrinsics_from_fov(60, 8, 8)[None], R, t, 8, 8)
        >>> torch.allclose(view_directions(cams, torch.zeros(1, 1, 3)), torch.tensor([0.0, 0.0, 1.0]))
        True
    """
    if points.shape[0] != len(cameras):
        raise ShapeError(f"{len(cameras)} cameras for a batch of {points.shape[0]} images")
    shape = (points.shape[0], *([1] * (points.dim() - 2)), 3)
    if cameras.orthographic:
        return (-cameras.R[:, 2, :]).reshape(shape).to(points).expand_as(points)
    eye = cameras.centers().reshape(shape).to(points)
    return nn.functional.normalize(eye - points, dim=-1, eps=1e-12)


def shade_fragments(
    fragments: Fragments,
    meshes: Meshes,
    cameras: Cameras,
    shading: Shading,
    lights: Light | None,
    materials: Materials,
    base_color: torch.Tensor,
    flat_normals: bool = False,
    texture_filter: FilterMode = "bilinear",
    texture_wrap: WrapMode = "repeat",
) -> torch.Tensor:
    """`[B, H, W, K, C]` color of every fragment, before blending.

    Albedo comes from the mesh texture if there is one, else its vertex colors, else
    `base_color`. "unlit" returns the albedo as is (any channel count C, not clamped); "lambert"
    and "phong" need RGB albedo and clamp the shaded color to [0, 1].

    Args:
        fragments: rasterization of `meshes` seen by `cameras`, `[B, H, W, K]`.
        meshes: B meshes.
        cameras: B cameras (view directions for "phong").
        shading: "unlit", "lambert" or "phong".
        lights: the lights; required unless unlit (ignored then).
        materials: reflectances and shininess of the lit models.
        base_color: `[1 or B, C]` albedo of meshes without texture or vertex colors.
        flat_normals: face normals instead of interpolated vertex normals.
        texture_filter: see `render3d.texture.sample_texture`.
        texture_wrap: see `render3d.texture.sample_texture`.

    Raises:
        ShapeError: lit shading without lights or with non-RGB albedo.

    Example:
        >>> m = Meshes([torch.eye(3)], [torch.tensor([[0, 1, 2]])])
        >>> frags = Fragments(torch.zeros(1, 1, 1, 1, dtype=torch.long), torch.full((1, 1, 1, 1, 3), 1 / 3),
        ...                   torch.ones(1, 1, 1, 1))
        >>> cams = Cameras(torch.eye(3)[None], torch.eye(3)[None], torch.zeros(1, 3), 1, 1)
        >>> shade_fragments(frags, m, cams, "unlit", None, Materials(), torch.tensor([[0.5, 0.25, 1.0]]))[0, 0, 0, 0]
        tensor([0.5000, 0.2500, 1.0000])
    """
    albedo = fragment_albedo(meshes, fragments, base_color, texture_filter, texture_wrap)
    if shading == "unlit":
        return albedo
    if lights is None:
        raise ShapeError(f"{shading!r} shading needs lights")
    points = fragment_points(meshes, fragments)
    normals = fragment_normals(meshes, fragments, flat_normals)
    if albedo.shape[-1] != 3:
        raise ShapeError(f"{shading!r} shading needs RGB albedo, got {albedo.shape[-1]} channels")
    if shading == "lambert":
        colors = lambert(albedo, points, normals, lights, materials)
    else:
        colors = phong(albedo, points, normals, view_directions(cameras, points), lights, materials)
    return colors.clamp(0.0, 1.0)
