"""Lit shading models as pure functions of per-fragment albedo, geometry, lights and material.

Inputs are `[B, ..., 3]` world-space tensors (typically `[B, H, W, K, 3]` fragments). The
unlit model is the albedo itself and needs no function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from render3d.errors import ShapeError
from render3d.shading.broadcast import per_batch
from render3d.shading.materials import Materials

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
