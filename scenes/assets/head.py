"""The procedural head: a deformed ellipsoid with nose, brow, cheeks, lips, chin and ears, a neck,
and a painted UV texture (skin, eyes, eyebrows, lips, hair).

Features are placed in face units: `x = 0.34·θ`, `y = 0.5·λ` for azimuth θ (0 = the face, +Z)
and elevation λ on the base ellipsoid, so geometry and texture line up for every parameter
setting. The UV map is latitude-longitude with its seam at the back of the head (u = 0.5 is the
face). Everything is a pure function of `HeadParams`, hence of the seed.
"""

from __future__ import annotations

import math

import torch

from scenes.assets.geometry import MeshData, concat, param_surface, welded_normals
from scenes.assets.head_params import HeadParams
from scenes.assets.primitives import CylinderParams, cylinder
from scenes.assets.textures import value_noise

FX, FY = 0.34, 0.5  # face units per radian of azimuth / elevation


def _g(x: torch.Tensor, y: torch.Tensor, cx: float, cy: float, sx: float, sy: float) -> torch.Tensor:
    return torch.exp(-((x - cx) / sx) ** 2 - ((y - cy) / sy) ** 2)


def _eye_x(p: HeadParams) -> float:
    return 0.135 * p.eye_spacing


def _ear(theta: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    return _g(theta.abs(), FY * lam, 1.62, -0.03, 0.1, 0.1)


def _hair_weight(theta: torch.Tensor, lam: torch.Tensor, p: HeadParams, soft: float) -> torch.Tensor:
    front = 0.64 - 0.26 * p.hairline
    line = front + (-0.8 - front) * ((1 - torch.cos(theta)) / 2) ** 2
    return torch.sigmoid((lam - line) / soft) * (1 - _ear(theta, lam).clamp(0, 1)) ** 4


def _offsets(theta: torch.Tensor, lam: torch.Tensor, p: HeadParams) -> tuple[torch.Tensor, torch.Tensor]:
    """(radial, forward) displacements of the base ellipsoid at (θ, λ)."""
    x, y, ax = FX * theta, FY * lam, (FX * theta).abs()
    ex = _eye_x(p)
    radial = -0.022 * (_g(x, y, ex, 0.0, 0.07, 0.04) + _g(x, y, -ex, 0.0, 0.07, 0.04))
    radial += 0.006 * (_g(x, y, ex, 0.0, 0.03, 0.015) + _g(x, y, -ex, 0.0, 0.03, 0.015))
    radial += 0.012 * (0.3 + p.brow) * _g(ax, y, ex, 0.055, 0.1, 0.022)
    radial += 0.012 * _g(ax, y, 0.19, -0.09, 0.06, 0.06)
    radial += (0.025 + 0.04 * p.ears) * _ear(theta, lam)
    radial += (0.012 + 0.04 * p.hair_volume) * _hair_weight(theta, lam, p, 0.06) * (lam > -1.0)
    tip, amp = -0.14, 0.05 + 0.07 * p.nose_length
    t = ((0.02 - y) / (0.02 - tip)).clamp(0, 1)
    profile = (0.3 + 0.7 * t) * torch.where(y > tip, torch.exp(-((y - 0.02).clamp(min=0) / 0.02) ** 2),
                                          torch.exp(-((y - tip) / 0.025) ** 2))
    width = (0.018 + 0.02 * t) * (0.8 + 0.6 * p.nose_width)
    forward = amp * profile * torch.exp(-(x / width) ** 2)
    wing = 0.03 * (0.8 + 0.6 * p.nose_width)
    forward += 0.35 * amp * (_g(x, y, wing, tip + 0.01, 0.018, 0.016) + _g(x, y, -wing, tip + 0.01, 0.018, 0.016))
    lip = 0.006 + 0.012 * p.lips
    forward += lip * (_g(x, y, 0.0, -0.238, 0.075, 0.012) + _g(x, y, 0.0, -0.268, 0.068, 0.015))
    forward -= 0.004 * _g(x, y, 0.0, -0.252, 0.05, 0.004)
    forward += (0.008 + 0.03 * p.chin) * _g(x, y, 0.0, -0.43, 0.06, 0.05)
    return radial, forward


def _head_surface(p: HeadParams) -> MeshData:
    W, H, D = 0.34 * p.width, 0.5 * p.height, 0.42 * p.depth
    jaw = 0.12 + 0.3 * p.jaw

    def fn(u, v):
        theta, lam = 2 * math.pi * (u - 0.5), math.pi * (v - 0.5)
        # Taper the lower face toward the chin; keep the cranium full.
        taper = 1 - jaw * ((-lam - 0.15) / 1.0).clamp(0, 1) ** 1.5
        depth = torch.where(torch.cos(theta) < 0, D * 1.06, D)
        d = torch.stack([torch.cos(lam) * torch.sin(theta), torch.sin(lam), torch.cos(lam) * torch.cos(theta)], -1)
        base = d * torch.stack([W * taper, torch.full_like(taper, H), depth * (0.85 + 0.15 * taper)], -1)
        radial, forward = _offsets(theta, lam, p)
        pts = base + radial[..., None] * d
        front = (torch.cos(theta) > 0).to(pts.dtype)
        pts[..., 2] += forward * front
        return pts, None
    return param_surface(fn, p.segments, p.rings)


def _neck(p: HeadParams) -> MeshData:
    n = cylinder(CylinderParams(radius=0.17 * p.width + 0.06, height=0.5, segments=max(16, p.segments // 2)))
    verts = n.verts + torch.tensor([0.0, -0.5 * p.height - 0.05, -0.06])
    # The whole neck samples the skin texture just under the chin.
    uvs = torch.stack([0.5 + 0.02 * n.uvs[:, 0] - 0.01, 0.03 + 0.02 * n.uvs[:, 1]], -1)
    return MeshData(verts, n.faces, uvs, None)


def head_texture(p: HeadParams) -> torch.Tensor:
    """`[S, 2S, 3]` latitude-longitude texture (S = `p.texture_size`) for resolved params `p`."""
    S = p.texture_size
    g = torch.Generator().manual_seed(p.seed + 7919)
    v, u = torch.meshgrid(1 - (torch.arange(S) + 0.5) / S, (torch.arange(2 * S) + 0.5) / (2 * S), indexing="ij")
    theta, lam = 2 * math.pi * (u - 0.5), math.pi * (v - 0.5)
    x, y, ax = FX * theta, FY * lam, (FX * theta).abs()
    skin = torch.tensor(p.skin_color)
    noise = value_noise(2 * S, 24.0, 3, g)[:S]
    img = skin * (0.96 + 0.08 * noise)[..., None]
    ex = _eye_x(p)
    blush = 0.25 * (_g(x, y, 0.17, -0.14, 0.05, 0.04) + _g(x, y, -0.17, -0.14, 0.05, 0.04))
    img = img * (1 - blush[..., None]) + blush[..., None] * skin * torch.tensor([1.0, 0.72, 0.72])
    shade = 0.18 * (_g(x, y, ex, 0.0, 0.06, 0.035) + _g(x, y, -ex, 0.0, 0.06, 0.035))
    img = img * (1 - shade[..., None])

    def paint(mask: torch.Tensor, color: torch.Tensor) -> None:
        nonlocal img
        img = img * (1 - mask[..., None]) + color * mask[..., None]

    sx, sy = 0.047 * p.eye_size, 0.019 * p.eye_size
    for cx in (ex, -ex):
        dx, dy = (x - cx) / sx, (y - 0.0) / sy
        almond = dx**2 + (dy * (1 + 0.25 * dx.abs())) ** 2
        sclera = torch.sigmoid((1 - almond) / 0.08)
        paint(torch.sigmoid((1.25 - almond) / 0.08) - sclera, torch.tensor([0.12, 0.08, 0.07]))
        paint(sclera, torch.tensor([0.95, 0.94, 0.92]))
        r = ((x - cx) ** 2 + (y - 0.001) ** 2).sqrt()
        iris = sclera * torch.sigmoid((0.018 * p.eye_size - r) / 0.0015)
        paint(iris, torch.tensor(p.eye_color) * (0.7 + 0.6 * r[..., None] / (0.018 * p.eye_size)))
        paint(sclera * torch.sigmoid((0.0075 * p.eye_size - r) / 0.001), torch.tensor([0.02, 0.02, 0.02]))
        lid = torch.exp(-(((y - sy * 1.1 * (1 - ((x - cx) / sx) ** 2).clamp(min=0)) / 0.0035) ** 2)) * (dx.abs() < 1.1)
        paint(0.8 * lid, torch.tensor([0.1, 0.06, 0.05]))
    hair = torch.tensor(p.hair_color)
    brow_y = 0.05 + 0.012 * (1 - ((ax - ex) / 0.06) ** 2)
    brows = torch.exp(-((y - brow_y) / 0.009) ** 2) * torch.sigmoid((0.06 - (ax - ex).abs()) / 0.006)
    paint(0.9 * brows, hair)
    nostril = _g(x, y, 0.018, -0.148, 0.008, 0.004) + _g(x, y, -0.018, -0.148, 0.008, 0.004)
    paint(0.7 * nostril.clamp(0, 1), skin * 0.35)
    lip_w = 0.08 * (0.9 + 0.25 * p.lips)
    lip_h = 0.011 + 0.009 * p.lips
    lips = torch.sigmoid((1 - (x / lip_w) ** 2 - ((y + 0.252) / (lip_h * 1.6)) ** 2) / 0.08)
    paint(lips, skin * torch.tensor([0.8, 0.42, 0.42]))
    paint(lips * torch.exp(-((y + 0.252) / 0.0025) ** 2), skin * 0.3)
    strands = torch.nn.functional.interpolate(torch.rand(1, 1, 12, 160, generator=g), size=(S, 2 * S),
                                              mode="bicubic", align_corners=True)[0, 0]
    hair_rgb = hair * (0.7 + 0.6 * strands.clamp(0, 1))[..., None]
    paint(_hair_weight(theta, lam, p, 0.02), hair_rgb)
    return img.clamp(0, 1).float()


def head(p: HeadParams) -> tuple[MeshData, torch.Tensor]:
    """Build the head mesh (face toward +Z, +Y up, crown at about y = 0.5·height) and its texture.

    Returns:
        (mesh with per-vertex UVs and smooth normals, `[S, 2S, 3]` texture in [0, 1]).

    Example:
        >>> mesh, tex = head(HeadParams(seed=0, segments=32, rings=24, texture_size=32))
        >>> tex.shape
        torch.Size([32, 64, 3])
    """
    p = p.resolved()
    surface = _head_surface(p)
    mesh = concat([surface, _neck(p)])
    mesh = MeshData(mesh.verts, mesh.faces, mesh.uvs, None)
    return MeshData(mesh.verts, mesh.faces, mesh.uvs, welded_normals(mesh)), head_texture(p)
