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


def _pytorch3d(meshes: Meshes, cams: Cameras, faces_per_pixel: int, blur_px: float):
    """pytorch3d's fragments of the same scene, with face ids mapped back to the single mesh."""
    p3r = pytest.importorskip("pytorch3d.renderer")
    p3u = pytest.importorskip("pytorch3d.utils")
    p3s = pytest.importorskip("pytorch3d.structures")
    size = torch.tensor([[cams.height, cams.width]] * len(cams))
    p3_cams = p3u.cameras_from_opencv_projection(cams.R, cams.t, cams.K, size)
    # pytorch3d's blur radius is a squared distance in NDC units (2 / min(H, W) per pixel).
    ndc = 2.0 / min(cams.height, cams.width)
    settings = p3r.RasterizationSettings(image_size=(cams.height, cams.width), blur_radius=(blur_px * ndc) ** 2,
                                         faces_per_pixel=faces_per_pixel, bin_size=0)
    p3_mesh = p3s.Meshes(meshes.verts_list() * len(cams), meshes.faces_list() * len(cams))
    ref = p3r.MeshRasterizer(cameras=p3_cams, raster_settings=settings)(p3_mesh)
    F = meshes.faces_packed().shape[0]
    return ref, torch.where(ref.pix_to_face >= 0, ref.pix_to_face % F, ref.pix_to_face), ndc


@pytest.mark.parametrize("faces_per_pixel", [1, 3])
def test_matches_pytorch3d(faces_per_pixel):
    meshes, cams = _scene()
    ref, ref_p2f, _ = _pytorch3d(meshes, cams, faces_per_pixel, 0.0)
    ours = rasterize_meshes(meshes, cams, RasterSettings(faces_per_pixel=faces_per_pixel))
    assert (ours.pix_to_face >= 0).float().mean() > 0.2
    same = ours.pix_to_face == ref_p2f
    assert same.float().mean() >= 0.999
    both = same & (ours.pix_to_face >= 0)
    bary_err = (ours.bary - ref.bary_coords).abs().amax(-1)[both]
    z_err = (ours.zbuf - ref.zbuf).abs()[both]
    assert (bary_err < 1e-3).float().mean() >= 0.999
    assert (z_err < 1e-3).float().mean() >= 0.999


def test_soft_listing_matches_pytorch3d():
    meshes, cams = _scene()
    ref, ref_p2f, ndc = _pytorch3d(meshes, cams, 6, 1.5)
    ours = rasterize_meshes(meshes, cams, RasterSettings(faces_per_pixel=6, blur_radius=1.5))
    listed, ref_listed = ours.pix_to_face >= 0, ref_p2f >= 0
    assert listed.sum(-1).float().mean() > 1.5
    # Counts differ only where a face sits at the blur radius; order only on exact depth ties
    # (two faces sharing the corner nearest to an outside pixel).
    assert (listed.sum(-1) == ref_listed.sum(-1)).float().mean() >= 0.995
    same = (ours.pix_to_face == ref_p2f) & listed
    assert (ours.pix_to_face == ref_p2f).float().mean() >= 0.99
    assert ((ours.zbuf - ref.zbuf).abs()[listed & ref_listed] < 1e-3).float().mean() >= 0.995
    # pytorch3d's dists are signed squared NDC distances.
    as_p3d = torch.sign(ours.dists) * (ours.dists * ndc) ** 2
    assert ((as_p3d - ref.dists).abs()[same] < 1e-6).float().mean() >= 0.999
    # Its MeshRasterizer clips barycentrics when blurring; ours stay unclipped, so clip to compare.
    clipped = ours.bary.clamp(min=0)
    clipped = clipped / clipped.sum(-1, keepdim=True)
    assert ((clipped - ref.bary_coords).abs().amax(-1)[same] < 1e-3).float().mean() >= 0.999
    assert (ours.bary[same] < -1e-3).any()  # outside the face they extend its plane, negative somewhere
