"""A closed mesh must have no cracks: through a crack a pixel sees the inside of the far side."""

import torch
import trimesh

from render3d import Cameras, Meshes, intrinsics_from_fov, look_at
from render3d.raster import RasterSettings, rasterize_meshes


def test_closed_convex_mesh_shows_only_front_faces():
    # Shared edges are evaluated from each face's own pixel-box origin; before the rounding allowance, about
    # one pixel per 256² frame fell through two adjacent front faces and showed a back face of the sphere.
    # On a convex closed mesh any visible back face is such a crack.
    gen = torch.Generator().manual_seed(0)
    ico = trimesh.creation.icosphere(subdivisions=4)
    mesh = Meshes([torch.tensor(ico.vertices, dtype=torch.float32)], [torch.tensor(ico.faces)])
    normals = mesh.faces_normals_packed()
    centers = mesh.faces_verts_packed().mean(1)
    S, n = 256, 16
    eyes = torch.nn.functional.normalize(torch.randn(n, 3, generator=gen), dim=1)
    eyes = eyes * (2.5 + torch.rand(n, 1, generator=gen))
    R, t = look_at(eyes, torch.randn(n, 3, generator=gen) * 0.1)
    cams = Cameras(intrinsics_from_fov(50, S, S).expand(n, 3, 3), R, t, S, S)
    p2f = rasterize_meshes(mesh, cams, RasterSettings()).pix_to_face[..., 0]
    covered = p2f >= 0
    # Interior pixels only: on the silhouette a front and a back face share the edge at equal depth.
    interior = -torch.nn.functional.max_pool2d(-covered[:, None].float(), 3, stride=1, padding=1)[:, 0] > 0.5
    assert interior.float().mean() > 0.1
    face = p2f.clamp(min=0)
    facing = (normals[face] * (eyes[:, None, None, :] - centers[face])).sum(-1)
    assert int((interior & (facing <= 0)).sum()) == 0
