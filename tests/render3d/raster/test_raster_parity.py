"""Parity with pytorch3d's MeshRasterizer on the same scene (skipped when pytorch3d is missing)."""

from __future__ import annotations

import pytest
import torch

from render3d.cameras import Cameras, intrinsics_from_fov, orbit
from render3d.raster import RasterSettings, rasterize_meshes
from render3d.structures import Meshes


def _scene() -> tuple[Meshes, Cameras]:
    trimesh = pytest.importorskip("trimesh")
    knot = trimesh.creation.torus(major_radius=0.8, minor_radius=0.3, major_sections=24, minor_sections=12)
    verts = torch.tensor(knot.vertices, dtype=torch.float32)
    verts = verts + 0.05 * torch.sin(7 * verts[:, [1, 2, 0]])  # break symmetry
    R, t = orbit((0.1, 0, 0), 2.6, [25, 140], [30, -15])
    K = torch.stack([intrinsics_from_fov(50, 56, 48), intrinsics_from_fov(40, 56, 48)])
    K[1, 0, 2] += 3.0  # an off-center principal point
    return Meshes([verts], [torch.tensor(knot.faces)]), Cameras(K, R, t, 56, 48)


@pytest.mark.parametrize("faces_per_pixel", [1, 3])
def test_matches_pytorch3d(faces_per_pixel):
    p3r = pytest.importorskip("pytorch3d.renderer")
    p3u = pytest.importorskip("pytorch3d.utils")
    p3s = pytest.importorskip("pytorch3d.structures")
    meshes, cams = _scene()
    ours = rasterize_meshes(meshes, cams, RasterSettings(faces_per_pixel=faces_per_pixel))
    size = torch.tensor([[cams.height, cams.width]] * len(cams))
    p3_cams = p3u.cameras_from_opencv_projection(cams.R, cams.t, cams.K, size)
    settings = p3r.RasterizationSettings(image_size=(cams.height, cams.width), blur_radius=0.0,
                                         faces_per_pixel=faces_per_pixel, bin_size=0)
    p3_mesh = p3s.Meshes(meshes.verts_list() * len(cams), meshes.faces_list() * len(cams))
    ref = p3r.MeshRasterizer(cameras=p3_cams, raster_settings=settings)(p3_mesh)
    # pytorch3d indexes the packed faces of the extended batch; map back to the single mesh.
    F = meshes.faces_packed().shape[0]
    ref_p2f = torch.where(ref.pix_to_face >= 0, ref.pix_to_face % F, ref.pix_to_face)
    assert (ours.pix_to_face >= 0).float().mean() > 0.2
    same = ours.pix_to_face == ref_p2f
    assert same.float().mean() >= 0.999
    both = same & (ours.pix_to_face >= 0)
    bary_err = (ours.bary - ref.bary_coords).abs().amax(-1)[both]
    z_err = (ours.zbuf - ref.zbuf).abs()[both]
    assert (bary_err < 1e-3).float().mean() >= 0.999
    assert (z_err < 1e-3).float().mean() >= 0.999
