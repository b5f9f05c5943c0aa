"""Depth ties and batch independence: a face's pixels never depend on what else is in the batch."""

from __future__ import annotations

import pytest
import torch
from raster_scenes import pinhole, uv_sphere

from render3d.cameras import Cameras, intrinsics_from_fov, orbit
from render3d.raster import RasterSettings, rasterize_meshes
from render3d.raster.geometry import face_geometry
from render3d.structures import Meshes

# Two triangles in the plane z = 2 (a power of two, so every depth computed in it is exactly 2.0): a big one
# and a small one inside it. Every pixel of the small one is an exact depth tie between the two. The small
# one has the smaller pixel box, so the rasterizer lists its candidates first.
BIG = [[-1.0, -1.0, 2.0], [1.5, -1.0, 2.0], [-1.0, 1.5, 2.0]]
SMALL = [[-0.5, -0.5, 2.0], [0.25, -0.5, 2.0], [-0.5, 0.25, 2.0]]


def _tie_mesh(first, second) -> Meshes:
    return Meshes([torch.tensor(first + second)], [torch.tensor([[0, 1, 2], [3, 4, 5]])])


def _shifted_cameras(n: int) -> Cameras:
    """n pinhole cameras at x = 0, 0.125, ...: the plane stays at depth 2 and the small face in view."""
    cams = pinhole(40, 32, 16.0, n=n, dtype=torch.float32)
    t = torch.zeros(n, 3)
    t[:, 0] = torch.arange(n) * 0.125
    return Cameras(cams.K, cams.R, t, 40, 32)


def _small_face_pixels(cams: Cameras) -> torch.Tensor:
    only_small = rasterize_meshes(Meshes([torch.tensor(SMALL)], [torch.tensor([[0, 1, 2]])]), cams, RasterSettings())
    return only_small.pix_to_face[..., 0] == 0


@pytest.mark.parametrize("settings", [RasterSettings(), RasterSettings(faces_per_pixel=2),
                                      RasterSettings(faces_per_pixel=2, blur_radius=0.7)])
def test_exact_depth_ties_go_to_the_lower_face_index(settings):
    cams = _shifted_cameras(1)
    tie = _small_face_pixels(cams)
    assert tie.sum() > 20
    for mesh, winner in ((_tie_mesh(BIG, SMALL), 0), (_tie_mesh(SMALL, BIG), 0)):
        frags = rasterize_meshes(mesh, cams, settings)
        assert bool((frags.zbuf[..., 0][tie] == 2.0).all())
        assert bool((frags.pix_to_face[..., 0][tie] == winner).all())
        if settings.faces_per_pixel == 2:
            assert bool((frags.pix_to_face[..., 1][tie] == 1 - winner).all())
            assert bool((frags.zbuf[..., 1][tie] == 2.0).all())


@pytest.mark.parametrize("settings", [RasterSettings(), RasterSettings(faces_per_pixel=2, blur_radius=0.7)])
def test_tied_renders_do_not_depend_on_the_batch(settings):
    cams = _shifted_cameras(3)
    mesh = _tie_mesh(BIG, SMALL)
    batched = rasterize_meshes(mesh, cams, settings)
    tet = Meshes([torch.tensor([[0.0, 0, 3], [1, 0, 3], [0, 1, 3], [0, 0, 4]])], [torch.tensor([[0, 2, 1], [0, 1, 3]])])
    ragged = rasterize_meshes(Meshes([tet.verts_packed(), mesh.verts_packed()], [tet.faces_packed(),
                                                                                 mesh.faces_packed()]),
                              cams[:2], settings)
    for i in range(3):
        single = rasterize_meshes(mesh, cams[i], settings)
        for name in ("pix_to_face", "zbuf", "bary", "dists"):
            assert torch.equal(getattr(batched, name)[i], getattr(single, name)[0]), (i, name)
        if i == 1:
            p2f = single.pix_to_face[0]
            assert torch.equal(ragged.pix_to_face[1], torch.where(p2f >= 0, p2f + 2, p2f))
            for name in ("zbuf", "bary", "dists"):
                assert torch.equal(getattr(ragged, name)[1], getattr(single, name)[0]), name


def test_face_geometry_is_bit_identical_across_batch_shapes():
    # The case of the issue (a soft render of a subdivided sphere from three orbit cameras), on the geometry
    # every later stage is computed from: per face it must be the same bits alone, broadcast or ragged.
    mesh = uv_sphere(400)
    R, t = orbit((0, 0, 0), 3.0, [0, 70, 200], 20.0)
    cams = Cameras(intrinsics_from_fov(50, 24, 20)[None].repeat(3, 1, 1), R, t, 24, 20)
    F = mesh.faces_packed().shape[0]
    broadcast = face_geometry(mesh, cams, 1e-3)
    ragged = face_geometry(Meshes([mesh.verts_packed()] * 3, [mesh.faces_packed()] * 3), cams, 1e-3)
    for i in range(3):
        single = face_geometry(mesh, cams[i], 1e-3)
        for name in ("edges", "depth", "poly", "orient"):
            assert torch.equal(getattr(broadcast, name)[i * F:(i + 1) * F], getattr(single, name)), (i, name)
            assert torch.equal(getattr(ragged, name)[i * F:(i + 1) * F], getattr(single, name)), (i, name)
