"""The image formation the network is trained through: textured, SH-lit template meshes, rendered in a batch.

Silhouettes: `render3d.raster.contour.contour_silhouette`, a sigmoid of each pixel's signed distance
to the projected outline, differentiable in the vertices and the camera. (SoftRas coverage would dim
the interior along every edge between two front faces, and a template at 64² has faces only a few
pixels wide: most of the interior would sit near an edge.) Colors: per vertex the Lambertian
radiance `E(n)/π` of the 2nd-order SH environment (Gouraud); per pixel the interpolated template
direction looks up the texture map (`template.sample_texture`), times the interpolated radiance, on
the hard coverage over the view's own background. Colors pass gradients to the texture, lighting and
normals; the silhouette carries the shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from render3d.cameras import Cameras
from render3d.interpolate import interpolate
from render3d.raster.contour import contour_silhouette
from render3d.shading.sh import sh_irradiance
from render3d.structures import Meshes
from render3d.topology import MeshTopology
from tools.invgraphics.template import sample_texture


@dataclass(frozen=True)
class SoftRenderSettings:
    """How training renders are made.

    Attributes:
        sigma: silhouette edge softness in pixels.
        backend: rasterizer backend (any that lists faces within a blur radius; see `MeshRasterizer`).
    """

    sigma: float = 1.0
    backend: str = "torch"


DEFAULT_RENDER = SoftRenderSettings()


def vertex_normals(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """`[B, V, 3]` area-weighted unit vertex normals of meshes sharing `faces: [F, 3]`."""
    v0, v1, v2 = (verts[:, faces[:, k]] for k in range(3))
    fn = torch.linalg.cross(v1 - v0, v2 - v0, dim=-1)
    n = torch.zeros_like(verts)
    for k in range(3):
        n = n.index_add(1, faces[:, k], fn)
    return torch.nn.functional.normalize(n, dim=-1, eps=1e-12)


def vertex_radiance(verts: torch.Tensor, faces: torch.Tensor, sh: torch.Tensor) -> torch.Tensor:
    """`[B, V, 3]` outgoing radiance per unit albedo, `E(n)/π`, under SH lighting `sh: [B, 9, 3]`."""
    return sh_irradiance(vertex_normals(verts, faces), sh) / math.pi


def render_textured_batch(verts: torch.Tensor, faces: torch.Tensor, topology: MeshTopology, dirs: torch.Tensor,
                          texture: torch.Tensor, sh: torch.Tensor, cameras: Cameras, background: torch.Tensor,
                          settings: SoftRenderSettings = DEFAULT_RENDER) -> tuple[torch.Tensor, torch.Tensor]:
    """Render B template meshes, mesh b by camera b.

    Args:
        verts: `[B, V, 3]` vertex positions (the frame the cameras look at).
        faces: `[F, 3]` shared faces.
        topology: their `MeshTopology` (one mesh).
        dirs: `[V, 3]` template directions (texture coordinates).
        texture: `[B, 3, th, tw]` equirectangular albedo maps.
        sh: `[B, 9, 3]` lighting.
        cameras: B cameras of H×W pixels.
        background: `[B, 3]` color behind the object.
        settings: silhouette softness and backend.

    Returns:
        `rgb: [B, H, W, 3]` over the background and `alpha: [B, H, W]` soft silhouettes.
    """
    B, V, _ = verts.shape
    F = faces.shape[0]
    alphas, p2f, bary = [], [], []
    for b in range(B):
        alpha, hard = contour_silhouette(Meshes([verts[b]], [faces]), topology, cameras[b], settings.sigma,
                                         backend=settings.backend)
        alphas.append(alpha)
        p2f.append(torch.where(hard.pix_to_face >= 0, hard.pix_to_face + b * F, hard.pix_to_face))
        bary.append(hard.bary)
    pix_to_face = torch.cat(p2f)
    radiance = vertex_radiance(verts, faces, sh)
    attrs = torch.cat([dirs.to(verts).expand(B, V, 3), radiance], -1).reshape(B * V, 6)
    packed = (faces[None] + V * torch.arange(B, device=faces.device)[:, None, None]).reshape(B * F, 3)
    per_pixel = interpolate(pix_to_face, torch.cat(bary), attrs[packed])[..., 0, :]  # [B, H, W, 6]
    H, W = per_pixel.shape[1:3]
    albedo = sample_texture(texture, per_pixel[..., :3].reshape(B, -1, 3)).reshape(B, H, W, 3)
    covered = (pix_to_face[..., 0] >= 0)[..., None]
    rgb = torch.where(covered, albedo * per_pixel[..., 3:], background[:, None, None, :].to(albedo))
    return rgb, torch.cat(alphas)
