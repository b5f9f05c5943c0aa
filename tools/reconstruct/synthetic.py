"""Procedural objects with known ground truth, rendered as photos: the benchmark's test set and the
example photo the project ships.

Shapes are genus-0 and varied (sphere, ellipsoids, superquadrics from `scenes.assets`, capsule,
cone, bumpy, twisted and egg-shaped spheres), colored by smooth position-dependent patterns, and lit
by an ambient + directional Blinn-Phong setup through `render3d.renderer.MeshRenderer`: not the
fitter's own SH model, so the benchmark includes model mismatch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from render3d.blend import SoftBlendSettings
from render3d.cameras import Cameras, intrinsics_from_fov, orbit
from render3d.lights import AmbientLight, DirectionalLight, Lights
from render3d.raster import MeshRasterizer, RasterSettings
from render3d.renderer import MeshRenderer
from render3d.shading import Materials, Shader
from render3d.structures import Meshes
from scenes.assets import CapsuleParams, ConeParams, SuperquadricParams, build_asset
from tools.reconstruct.templates import icosphere


@dataclass(frozen=True)
class SyntheticShape:
    """A ground-truth object and the view it is photographed from.

    Attributes:
        name: short identifier.
        mesh: one mesh with vertex colors (object frame, +Y up, about unit size).
        azimuth: camera azimuth in degrees.
        elevation: camera elevation in degrees.
    """

    name: str
    mesh: Meshes
    azimuth: float
    elevation: float


def _colors(v: torch.Tensor, seed: int) -> torch.Tensor:
    """Smooth, seeded color pattern `[V, 3]` from positions."""
    g = torch.Generator().manual_seed(seed)
    base = 0.25 + 0.5 * torch.rand(3, generator=g)
    freq = 2.0 + 3.0 * torch.rand(3, 3, generator=g)
    phase = 2 * math.pi * torch.rand(3, generator=g)
    wave = torch.sin(v @ freq.T + phase)
    return (base + 0.22 * wave).clamp(0.05, 0.95)


def _radial(fn, level: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Star-shaped surface `r(direction) · direction` on an icosphere."""
    t = icosphere(level)
    d = t.sphere
    return fn(d), t.faces


def _from_asset(params) -> tuple[torch.Tensor, torch.Tensor]:
    data, _ = build_asset(params)
    return data.verts, data.faces


def shapes() -> list[SyntheticShape]:
    """The benchmark's ground-truth objects (11 genus-0 shapes), deterministic.

    Example:
        >>> len(shapes()) >= 10
        True
    """
    def bumpy(d):
        r = 0.5 * (1 + 0.12 * torch.sin(4 * d[:, 0]) * torch.sin(4 * d[:, 1]) * torch.sin(4 * d[:, 2] + 1))
        return d * r[:, None]

    def twisted(d):
        p = d * torch.tensor([0.55, 0.35, 0.3])
        a = 1.2 * p[:, 1] / 0.35
        c, s = torch.cos(a), torch.sin(a)
        return torch.stack([c * p[:, 0] - s * p[:, 2], p[:, 1], s * p[:, 0] + c * p[:, 2]], 1)

    def egg(d):
        p = d * 0.45
        return torch.stack([p[:, 0] * (1 - 0.25 * d[:, 1]), p[:, 1] * 1.25, p[:, 2] * (1 - 0.25 * d[:, 1])], 1)

    def pill(d):
        p = d.sign() * d.abs().pow(0.6)
        return p * torch.tensor([0.5, 0.3, 0.4])

    table = [
        ("sphere", _radial(lambda d: 0.5 * d), 30.0, 15.0),
        ("ellipsoid", _radial(lambda d: d * torch.tensor([0.6, 0.4, 0.45])), 20.0, 20.0),
        ("tall_ellipsoid", _radial(lambda d: d * torch.tensor([0.3, 0.6, 0.35])), -35.0, 10.0),
        ("superquadric_1", _from_asset(SuperquadricParams(seed=1)), 40.0, 25.0),
        ("superquadric_4", _from_asset(SuperquadricParams(seed=4)), -20.0, 15.0),
        ("capsule", _from_asset(CapsuleParams(radius=0.25, length=0.5)), 60.0, 20.0),
        ("cone", _from_asset(ConeParams(radius=0.4, height=0.8)), 15.0, 25.0),
        ("bumpy_sphere", _radial(bumpy), 10.0, 20.0),
        ("twisted_ellipsoid", _radial(twisted), 30.0, 20.0),
        ("egg", _radial(egg), -25.0, 15.0),
        ("rounded_box", _radial(pill), 35.0, 25.0),
    ]
    out = []
    for i, (name, (v, f), az, el) in enumerate(table):
        v = v.float()
        v = v - 0.5 * (v.min(0).values + v.max(0).values)
        out.append(SyntheticShape(name, Meshes([v], [f.long()], vert_colors=[_colors(v, i)]), az, el))
    return out


def photo_camera(size: int, azimuth: float, elevation: float, fov: float = 40.0, distance: float = 2.6) -> Cameras:
    """The camera a synthetic photo is taken with (looking at the origin)."""
    R, t = orbit((0.0, 0.0, 0.0), distance, [azimuth], elevation)
    return Cameras(intrinsics_from_fov(fov, size, size)[None], R, t, size, size)


@torch.no_grad()
def render_photo(mesh: Meshes, camera: Cameras, background: tuple[float, float, float] = (0.93, 0.93, 0.92),
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """A photo-like render: ambient + key light (scene-fixed, from upper left), soft highlight, 3× supersampled.

    Returns:
        `rgb: [H, W, 3]` over the background and `alpha: [H, W]`.
    """
    lights = Lights(AmbientLight((0.38, 0.38, 0.4)), DirectionalLight((0.5, -0.7, -0.6), (0.75, 0.74, 0.7)))
    shader = Shader("phong", "hard", lights, Materials(specular_color=(0.15, 0.15, 0.15), shininess=24.0),
                    blend_settings=SoftBlendSettings(background=background))
    renderer = MeshRenderer(MeshRasterizer(RasterSettings()), shader, supersample=3)
    out = renderer(mesh, camera)
    return out.rgb[0].clamp(0, 1), out.alpha[0]


def example_photo(size: int = 256) -> torch.Tensor:
    """`[size, size, 3]` the shipped example: a striped superquadric vase-like object on a plain background."""
    data, _ = build_asset(SuperquadricParams(seed=0, scale=(0.42, 0.6, 0.42), epsilon1=0.6, epsilon2=1.0))
    v = data.verts - 0.5 * (data.verts.min(0).values + data.verts.max(0).values)
    stripes = 0.5 + 0.5 * torch.sin(14.0 * v[:, 1:2])
    colors = stripes * torch.tensor([0.85, 0.45, 0.15]) + (1 - stripes) * torch.tensor([0.95, 0.88, 0.7])
    mesh = Meshes([v], [data.faces], vert_colors=[colors])
    rgb, _ = render_photo(mesh, photo_camera(size, 25.0, 20.0))
    return rgb
