"""Inverse rendering smoke test: the losses and the soft renderer together recover a shape."""

import pytest
import torch
import trimesh

from render3d import Cameras, Meshes, intrinsics_from_fov, orbit
from render3d.blend import sigmoid_alpha_blend
from render3d.losses import edge_length_loss, laplacian_smoothing, normal_consistency, silhouette_iou_loss
from render3d.raster import MeshRasterizer, RasterSettings
from render3d.topology import MeshTopology


def _views(n: int, size: int) -> Cameras:
    R, t = orbit((0.0, 0.0, 0.0), 3.0, torch.linspace(0, 360, n + 1)[:-1], 20.0)
    return Cameras(intrinsics_from_fov(45, size, size)[None].expand(n, -1, -1), R, t, size, size)


def _silhouettes(meshes: Meshes, cams: Cameras, sigma: float) -> torch.Tensor:
    frags = MeshRasterizer(RasterSettings(faces_per_pixel=4, blur_radius=4 * sigma))(meshes.extend(len(cams)), cams)
    return sigmoid_alpha_blend(frags, sigma)


@pytest.mark.slow
def test_fit_sphere_to_ellipsoid_silhouettes():
    ico = trimesh.creation.icosphere(subdivisions=1)
    v0 = torch.tensor(ico.vertices, dtype=torch.float32)
    faces = torch.tensor(ico.faces)
    target_mesh = Meshes([v0 * torch.tensor([1.3, 0.8, 1.0])], [faces])
    cams = _views(4, 24)
    sigma = 0.5
    with torch.no_grad():
        target = (_silhouettes(target_mesh, cams, 1e-3) > 0.5).float()
    offsets = torch.zeros_like(v0, requires_grad=True)
    src = Meshes([v0], [faces])
    topo = MeshTopology.from_meshes(src)
    opt = torch.optim.Adam([offsets], lr=0.02)
    losses = []
    for _ in range(40):
        mesh = src.offset_verts(offsets)
        sil = silhouette_iou_loss(_silhouettes(mesh, cams, sigma), target)
        reg = laplacian_smoothing(mesh, topo) + 0.5 * edge_length_loss(mesh, topo)
        loss = sil + 0.1 * reg + 0.01 * normal_consistency(mesh, topo)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(sil.item())
    with torch.no_grad():
        final = silhouette_iou_loss((_silhouettes(src.offset_verts(offsets), cams, 1e-3) > 0.5).float(), target)
    assert losses[0] > 0.15
    assert float(final) < 0.6 * losses[0]
    print(f"silhouette 1-IoU: start {losses[0]:.3f}, final (hard) {float(final):.3f}")
