"""The image formation the fitter inverts, and the plain textured render used for its outputs.

Fitting: per-vertex albedo lit by a 2nd-order SH environment (Gouraud: shaded at the vertices,
interpolated), soft-rasterized and blended SoftRas-style so silhouette and color both pass
gradients to vertex positions, albedo, lighting and camera.
Outputs: the baked texture shown as is (it already holds the lighting of the photo), hard
rasterized with supersampling.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from render3d.blend import SoftBlendSettings
from render3d.cameras import Cameras, orbit
from render3d.fragments import Fragments
from render3d.interpolate import interpolate
from render3d.raster import MeshRasterizer, RasterSettings, rasterize_meshes
from render3d.raster.contour import contour_silhouette
from render3d.renderer import MeshRenderer
from render3d.shading import Shader
from render3d.shading.sh import sh_irradiance
from render3d.structures import Meshes
from render3d.topology import MeshTopology


def view_camera(K: torch.Tensor, width: int, height: int, distance: torch.Tensor | float,
                elevation_deg: torch.Tensor | float, azimuth_deg: torch.Tensor | float = 0.0) -> Cameras:
    """A camera on an orbit around the world origin, differentiable in distance and angles.

    Azimuth 0 puts the camera on +Z looking toward -Z (see `render3d.cameras.orbit`).

    Args:
        K: `[3, 3]` intrinsics in pixels for a `width`×`height` image.
        width: image width.
        height: image height.
        distance: scalar, camera distance to the origin.
        elevation_deg: scalar, degrees above the XZ plane.
        azimuth_deg: scalar, degrees.

    Returns:
        one camera.
    """
    dev = K.device
    dist = torch.as_tensor(distance, dtype=torch.float32, device=dev)
    el = torch.deg2rad(torch.as_tensor(elevation_deg, dtype=torch.float32, device=dev))
    az = torch.deg2rad(torch.as_tensor(azimuth_deg, dtype=torch.float32, device=dev))
    eye = dist * torch.stack([torch.cos(el) * torch.sin(az), torch.sin(el), torch.cos(el) * torch.cos(az)])
    z = F.normalize(-eye, dim=0)
    x = F.normalize(torch.linalg.cross(z, torch.tensor([0.0, 1.0, 0.0], device=dev)), dim=0)
    y = torch.linalg.cross(z, x)
    R = torch.stack([x, y, z])
    t = -(R @ eye)
    return Cameras(K[None].float(), R[None], t[None], width, height)


def orbit_cameras(K: torch.Tensor, width: int, height: int, distance: float, azimuths: list[float],
                  elevation_deg: float) -> Cameras:
    """Cameras around the origin at `azimuths` (degrees), sharing K and the image size."""
    R, t = orbit((0.0, 0.0, 0.0), distance, azimuths, elevation_deg)
    return Cameras(K[None].float().expand(len(azimuths), 3, 3), R, t, width, height)


def shade_vertices(meshes: Meshes, albedo: torch.Tensor, sh_coeffs: torch.Tensor) -> torch.Tensor:
    """`[V, 3]` outgoing radiance of Lambertian vertices: `albedo · E(n) / π` for SH `sh_coeffs: [9, 3]`."""
    normals = meshes.verts_normals_packed()
    return albedo * sh_irradiance(normals[None], sh_coeffs[None])[0] / math.pi


def fit_render(meshes: Meshes, topology: MeshTopology, radiance: torch.Tensor, cameras: Cameras,
               sigma: float, backend: str = "torch") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fitter's render of one mesh with per-vertex radiance.

    Args:
        meshes: one mesh.
        topology: its `MeshTopology`.
        radiance: `[V, 3]` per-vertex outgoing radiance.
        cameras: one camera.
        sigma: silhouette edge softness in pixels.
        backend: rasterizer backend (see `render3d.raster.MeshRasterizer`).

    Returns:
        `rgb: [1, H, W, 3]` interpolated radiance of the covering face (0 where none; gradients reach
        the radiance, hence albedo, lighting and normals, but not the barycentrics),
        `covered: [1, H, W]` bool hard coverage, `alpha: [1, H, W]` soft silhouette.
    """
    alpha, hard = contour_silhouette(meshes, topology, cameras, sigma, backend=backend)
    rgb = interpolate(hard.pix_to_face, hard.bary, radiance[meshes.faces_packed()])[..., 0, :]
    return rgb, hard.mask, alpha


@torch.no_grad()
def render_textured(meshes: Meshes, cameras: Cameras, supersample: int = 2,
                    background: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """Hard render of a textured (or vertex-colored) mesh from B cameras, colors shown unlit.

    Args:
        meshes: one mesh with a UV texture or vertex colors.
        cameras: B cameras.
        supersample: render at this factor and box-filter down (antialiasing).
        background: color where nothing is hit.

    Returns:
        `rgb: [B, H, W, 3]` and `alpha: [B, H, W]`.
    """
    shader = Shader("unlit", "hard", blend_settings=SoftBlendSettings(background=background))
    out = MeshRenderer(MeshRasterizer(RasterSettings()), shader, supersample=supersample)(
        meshes.extend(len(cameras)), cameras)
    return out.rgb[..., :3], out.alpha


@torch.no_grad()
def hard_fragments(meshes: Meshes, cameras: Cameras) -> Fragments:
    """Plain hard rasterization (one face per pixel, pixel centres)."""
    return rasterize_meshes(meshes, cameras, RasterSettings())


@torch.no_grad()
def hard_mask(meshes: Meshes, cameras: Cameras) -> torch.Tensor:
    """`[B, H, W]` float coverage of a plain hard rasterization (pixel centers)."""
    return rasterize_meshes(meshes, cameras, RasterSettings()).mask.float()
