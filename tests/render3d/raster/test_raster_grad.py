"""Gradients of the rasterizer: float64 gradcheck and a soft-silhouette optimization step."""

from __future__ import annotations

import torch
from raster_scenes import pinhole, triangle

from render3d.blend import sigmoid_alpha_blend
from render3d.cameras import Cameras
from render3d.raster import RasterSettings, rasterize_meshes
from render3d.structures import Meshes

TWO = torch.tensor([[-0.43, -0.37, 2.0], [0.51, -0.29, 2.4], [0.07, 0.46, 2.2],
                     [-0.2, -0.1, 2.9], [0.6, 0.1, 2.5], [0.1, 0.62, 3.1]], dtype=torch.float64)
FACES = torch.tensor([[0, 1, 2], [3, 4, 5]])


def _outputs(frags):
    valid = frags.pix_to_face >= 0
    return frags.bary[valid], frags.zbuf[valid], frags.dists[valid]


def test_gradcheck_vertices_hard_and_soft():
    cams = pinhole(8, 8, 14.0)
    # Full Jacobian check for the hard case; random-projection checks (fast_mode) for the others.
    for settings, fast in ((RasterSettings(), False), (RasterSettings(faces_per_pixel=2, blur_radius=1.3), True),
                           (RasterSettings(perspective_correct=False, faces_per_pixel=2), True)):
        ref = rasterize_meshes(Meshes([TWO], [FACES]), cams, settings)
        assert (ref.pix_to_face >= 0).sum() > 12

        def fn(v, settings=settings, ref=ref):
            frags = rasterize_meshes(Meshes([v], [FACES]), cams, settings)
            assert torch.equal(frags.pix_to_face, ref.pix_to_face)
            return _outputs(frags)

        assert torch.autograd.gradcheck(fn, (TWO.clone().requires_grad_(),), atol=1e-6, fast_mode=fast)


def test_gradcheck_orthographic_soft():
    cams = pinhole(8, 8, 7.0, ortho=True)
    settings = RasterSettings(faces_per_pixel=2, blur_radius=1.1)
    ref = rasterize_meshes(Meshes([TWO], [FACES]), cams, settings)
    assert (ref.pix_to_face >= 0).sum() > 12

    def fn(v):
        frags = rasterize_meshes(Meshes([v], [FACES]), cams, settings)
        assert torch.equal(frags.pix_to_face, ref.pix_to_face)
        return _outputs(frags)

    assert torch.autograd.gradcheck(fn, (TWO.clone().requires_grad_(),), atol=1e-6, fast_mode=True)


def test_gradcheck_camera_parameters_and_near_clip():
    base = pinhole(8, 8, 14.0)
    verts = torch.tensor([[-0.5, -0.4, 2.0], [0.6, -0.3, 2.0], [0.1, 0.5, -0.5]], dtype=torch.float64)
    settings = RasterSettings(faces_per_pixel=1, blur_radius=0.8, znear=0.7)
    ref = rasterize_meshes(triangle(verts), base, settings)
    assert (ref.pix_to_face >= 0).sum() > 10

    def fn(K, t, v):
        frags = rasterize_meshes(triangle(v), Cameras(K, base.R, t, 8, 8), settings)
        assert torch.equal(frags.pix_to_face, ref.pix_to_face)
        return _outputs(frags)

    args = (base.K.clone().requires_grad_(), base.t.clone().requires_grad_(), verts.clone().requires_grad_())
    assert torch.autograd.gradcheck(fn, args, atol=1e-6, fast_mode=True)


def test_soft_silhouette_step_grows_triangle_toward_target():
    cams = pinhole(32, 32, 20.0, dtype=torch.float32)
    verts = torch.tensor([[-0.4, -0.3, 2.0], [0.4, -0.3, 2.0], [0.0, 0.4, 2.0]])
    centroid = verts.mean(0)
    settings = RasterSettings(faces_per_pixel=4, blur_radius=6.0)
    target = sigmoid_alpha_blend(rasterize_meshes(triangle(centroid + 1.4 * (verts - centroid),
                                                           dtype=torch.float32), cams, settings), 1.0).detach()
    v = verts.clone().requires_grad_()
    loss = ((sigmoid_alpha_blend(rasterize_meshes(triangle(v, dtype=torch.float32), cams, settings), 1.0)
             - target) ** 2).sum()
    loss.backward()
    step = -v.grad
    outward = ((step[:, :2]) * (verts - centroid)[:, :2]).sum(1)
    assert (outward > 0).all()
    moved = v.detach() + 0.05 * step / step.norm()
    new_loss = ((sigmoid_alpha_blend(rasterize_meshes(triangle(moved, dtype=torch.float32), cams, settings), 1.0)
                 - target) ** 2).sum()
    assert new_loss < loss
