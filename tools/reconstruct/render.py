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

from render3d.cameras import Cameras, orbit
from render3d.fragments import Fragments
from render3d.interpolate import interpolate
from render3d.raster import RasterSettings, rasterize_meshes
from render3d.shading.sh import sh_irradiance
from render3d.structures import Meshes
from render3d.texture import sample_mesh_textures
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


def _segment_dist(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distance from points `p: [..., 2]` to segments `(a, b): [..., 2]`."""
    ab, ap = b - a, p - a
    t = ((ap * ab).sum(-1) / (ab * ab).sum(-1).clamp(min=1e-12)).clamp(0, 1)
    return (ap - t[..., None] * ab).norm(dim=-1)


def _detached(cameras: Cameras) -> Cameras:
    return Cameras(cameras.K.detach(), cameras.R.detach(), cameras.t.detach(), cameras.width, cameras.height,
                   cameras.orthographic)


def contour_silhouette(meshes: Meshes, topology: MeshTopology, cameras: Cameras, sigma: float,
                       faces_per_pixel: int = 4) -> tuple[torch.Tensor, Fragments]:
    """Soft silhouette of one closed mesh: a sigmoid of the signed pixel distance to its outline.

    SoftRas-style coverage `1 - prod_k (1 - sigmoid(-d_k / sigma))` dims the interior along every
    edge shared by two front faces (to 0.75 right on it), misses covered pixels when the
    depth-sorted top-K list fills up with nearby faces, and overcounts outside where several faces
    are near. Here each pixel gets one distance: to the nearest contour edge (an edge whose other
    face looks away from the camera) among the contour faces listed within `3 sigma` and its
    hard-covering face, signed by the hard coverage. Interior edges never blur.

    Args:
        meshes: one mesh.
        topology: its `MeshTopology`.
        cameras: one camera.
        sigma: edge softness in pixels.
        faces_per_pixel: contour faces listed per pixel within `3 sigma` of it.

    Returns:
        `alpha: [1, H, W]` and the hard (K = 1) fragments of the same view (without gradients).
    """
    faces = meshes.faces_packed()
    uv = cameras.project(meshes.verts_packed()[None])[0, :, :2]
    corners = uv[faces]
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    # Front faces appear counter-clockwise in the y-down image: a negative 2D cross product.
    front = (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]).detach() < 0
    other = topology.edge_to_faces[topology.face_to_edges]  # [F, 3, 2]
    me = torch.arange(faces.shape[0], device=faces.device)[:, None, None]
    nb = torch.where(other[..., 0:1] == me, other[..., 1:2], other[..., 0:1])[..., 0]
    contour = front[:, None] & ((nb < 0) | ~front[nb.clamp(min=0)])  # [F, 3], edge k opposite corner k
    # The hard pass only decides coverage and which face a pixel shows: no gradient through it.
    hard = rasterize_meshes(Meshes([meshes.verts_packed().detach()], [faces]), _detached(cameras), RasterSettings())
    # Only faces with a contour edge can soften the outline: rasterize just those, so that the
    # depth-sorted list is not filled by interior faces whose extended planes lie nearer.
    rim = torch.nonzero(contour.any(1)).squeeze(1)
    if rim.numel() == 0:
        return hard.mask.to(uv.dtype), hard
    soft = rasterize_meshes(Meshes([meshes.verts_packed()], [faces[rim]]), cameras,
                            RasterSettings(faces_per_pixel=faces_per_pixel, blur_radius=3.0 * sigma))
    soft_p2f = torch.where(soft.pix_to_face >= 0, rim[soft.pix_to_face.clamp(min=0)], soft.pix_to_face)
    p2f = torch.cat([hard.pix_to_face, soft_p2f], -1)
    H, W = cameras.height, cameras.width
    # Only (pixel, face) pairs whose face has a contour edge matter: evaluate just those.
    has_rim = (p2f >= 0) & contour.any(1)[p2f.clamp(min=0)]
    where = torch.nonzero(has_rim)  # [n, 4]: image, row, col, slot
    f = p2f[has_rim]
    pix = torch.stack([where[:, 2], where[:, 1]], 1).to(uv) + 0.5
    c = corners[f]  # [n, 3, 2]
    d = torch.stack([_segment_dist(pix, c[:, (k + 1) % 3], c[:, (k + 2) % 3]) for k in range(3)], -1)
    d = torch.where(contour[f], d, torch.full_like(d, float("inf"))).amin(-1)
    flat = where[:, 1] * W + where[:, 2]
    dist = torch.full((H * W,), float("inf"), dtype=uv.dtype, device=uv.device)
    dist = dist.scatter_reduce(0, flat, d, "amin", include_self=True).view(1, H, W)
    # One signed distance per pixel to the outline (not a union of per-face coverages, which
    # overcounts where several rim faces are near): inside = covered by the hard pass.
    signed = torch.where(hard.mask, dist, -dist)
    return torch.sigmoid(signed / sigma), hard


def fit_render(meshes: Meshes, topology: MeshTopology, radiance: torch.Tensor, cameras: Cameras,
               sigma: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fitter's render of one mesh with per-vertex radiance.

    Returns:
        `rgb: [1, H, W, 3]` interpolated radiance of the covering face (0 where none; gradients reach
        the radiance, hence albedo, lighting and normals, but not the barycentrics),
        `covered: [1, H, W]` bool hard coverage, `alpha: [1, H, W]` soft silhouette.
    """
    alpha, hard = contour_silhouette(meshes, topology, cameras, sigma)
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
    s = supersample
    K = cameras.K.clone()
    K[:, :2] *= s
    big = Cameras(K, cameras.R, cameras.t, cameras.width * s, cameras.height * s, cameras.orthographic)
    frags = rasterize_meshes(meshes, big, RasterSettings())
    if meshes.has_texture:
        colors = sample_mesh_textures(meshes.extend(len(cameras)), frags)[..., 0, :3]
    else:
        colors = interpolate(frags.pix_to_face, frags.bary, meshes.vert_colors_packed()[meshes.faces_packed()])
        colors = colors[..., 0, :3]
    mask = frags.mask[..., None].float()
    rgb = colors * mask + torch.tensor(background, device=mask.device) * (1 - mask)
    pooled = F.avg_pool2d(torch.cat([rgb, mask], -1).permute(0, 3, 1, 2), s).permute(0, 2, 3, 1)
    return pooled[..., :3], pooled[..., 3]


@torch.no_grad()
def hard_mask(meshes: Meshes, cameras: Cameras) -> torch.Tensor:
    """`[B, H, W]` float coverage of a plain hard rasterization (pixel centers)."""
    return rasterize_meshes(meshes, cameras, RasterSettings()).mask.float()
