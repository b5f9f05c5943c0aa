"""Shared tiny scenes and analytic references for the rasterizer tests."""

from __future__ import annotations

import math

import numpy as np
import torch

from render3d.cameras import Cameras
from render3d.structures import Meshes


def pinhole(width: int, height: int, f: float, n: int = 1, dtype=torch.float64, ortho: bool = False) -> Cameras:
    """Cameras at the origin looking down +z (identity extrinsics)."""
    K = torch.tensor([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]], dtype=dtype)
    return Cameras(K[None].repeat(n, 1, 1), torch.eye(3, dtype=dtype)[None].repeat(n, 1, 1),
                   torch.zeros(n, 3, dtype=dtype), width, height, orthographic=ortho)


def triangle(verts, dtype=torch.float64) -> Meshes:
    return Meshes([torch.as_tensor(verts, dtype=dtype)], [torch.tensor([[0, 1, 2]])])


def pixel_rays(cams: Cameras) -> np.ndarray:
    """`[H, W, 3]` camera-space ray directions with z = 1 through pixel centers of camera 0."""
    v, u = np.meshgrid(np.arange(cams.height) + 0.5, np.arange(cams.width) + 0.5, indexing="ij")
    uv1 = np.stack([u, v, np.ones_like(u)], -1)
    return uv1 @ np.linalg.inv(cams.K[0].double().numpy()).T


def ray_triangle(cams: Cameras, verts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Analytic hit of every pixel ray with a camera-space triangle (perspective camera 0).

    Returns:
        bary `[H, W, 3]` of the ray/plane intersection, its depth `[H, W]`, and the smallest
        barycentric `[H, W]` (the pixel center is inside when >= 0).
    """
    d = pixel_rays(cams)
    v0, v1, v2 = verts
    n = np.cross(v1 - v0, v2 - v0)
    z = (n @ v0) / (d @ n)
    p = d * z[..., None]
    area = np.cross(v1 - v0, v2 - v0) @ n
    b0 = np.cross(v1 - p, v2 - p) @ n / area
    b1 = np.cross(v2 - p, v0 - p) @ n / area
    bary = np.stack([b0, b1, 1 - b0 - b1], -1)
    return bary, z, bary.min(-1)


def uv_sphere(num_faces: int) -> Meshes:
    """A unit latitude/longitude sphere with about `num_faces` faces (counter-clockwise from outside)."""
    n = max(2, round(math.sqrt(num_faces / 4)))
    m = 2 * n
    theta = torch.linspace(0, math.pi, n + 1)
    phi = torch.arange(m) * (2 * math.pi / m)
    th, ph = torch.meshgrid(theta, phi, indexing="ij")
    verts = torch.stack([th.sin() * ph.cos(), th.cos(), -th.sin() * ph.sin()], -1).reshape(-1, 3)
    i, j = torch.meshgrid(torch.arange(n), torch.arange(m), indexing="ij")
    a, b = i * m + j, i * m + (j + 1) % m
    c, d = a + m, b + m
    faces = torch.cat([torch.stack([a, c, b], -1), torch.stack([b, c, d], -1)]).reshape(-1, 3)
    return Meshes([verts], [faces])
