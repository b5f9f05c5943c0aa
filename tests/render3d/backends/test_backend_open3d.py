"""open3d backend: tensor ⇄ geometry conversion and the headless Filament renderer in our convention."""

import pytest
import torch

from render3d import Cameras, Meshes, Pointclouds, look_at
from render3d.backends import get_backend, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason("open3d") is not None, reason="open3d unavailable")

from render3d.backends.open3d import (  # noqa: E402
    from_o3d_mesh,
    from_o3d_pointcloud,
    to_o3d_mesh,
    to_o3d_pointcloud,
)

K = torch.tensor([[[50.0, 0, 32], [0, 50, 24], [0, 0, 1]]])


def _at_pixel(u, v, z):
    return [(u - 32) / 50 * z, (v - 24) / 50 * z, z]


def test_conversions_round_trip():
    pts, colors, normals = torch.rand(10, 3), torch.rand(10, 3), torch.nn.functional.normalize(torch.randn(10, 3))
    p, c, n = from_o3d_pointcloud(to_o3d_pointcloud(pts, colors, normals))
    assert torch.allclose(p, pts) and torch.allclose(c, colors) and torch.allclose(n, normals)
    assert from_o3d_pointcloud(to_o3d_pointcloud(pts))[1] is None
    faces = torch.tensor([[0, 1, 2], [2, 3, 0]])
    v, f, vc = from_o3d_mesh(to_o3d_mesh(pts[:4], faces, colors[:4]))
    assert torch.allclose(v, pts[:4]) and torch.equal(f, faces) and torch.allclose(vc, colors[:4])


def test_render_mask_depth_and_orientation():
    backend = get_backend("open3d")
    v = torch.tensor([_at_pixel(10, 10, 2.0), _at_pixel(50, 10, 2.0), _at_pixel(10, 40, 4.0)])
    out = backend.render_meshes(Meshes([v], [torch.tensor([[0, 1, 2]])]),
                                Cameras(K, torch.eye(3)[None], torch.zeros(1, 3), 64, 48))
    r, c = torch.meshgrid(torch.arange(48) + 0.5, torch.arange(64) + 0.5, indexing="ij")
    expected = (c > 10) & (r > 10) & (3 * c + 4 * r < 190)
    assert (out.alpha[0].bool() == expected).float().mean() > 0.999
    s = torch.tensor([1 - 2.5 / 40 - 2.5 / 30, 2.5 / 40, 2.5 / 30])
    assert out.depth[0, 12, 12].item() == pytest.approx(1 / (s / torch.tensor([2.0, 2, 4])).sum().item(), abs=1e-3)
    assert out.depth[0, 0, 0] == 0

    # asymmetric markers: red at world +X, green at world +Y
    sq = torch.tensor([[-0.3, -0.3, 0], [0.3, -0.3, 0], [0.3, 0.3, 0], [-0.3, 0.3, 0]])
    px = torch.tensor([[0.6, -0.1, 0], [0.9, 0.0, 0], [0.6, 0.1, 0]])
    py = torch.tensor([[-0.1, 0.6, 0], [0.1, 0.6, 0], [0.0, 0.9, 0]])
    colors = torch.cat([torch.full((4, 3), 0.0), torch.tensor([[1.0, 0, 0]]).expand(3, 3),
                        torch.tensor([[0.0, 1, 0]]).expand(3, 3)])
    mesh = Meshes([torch.cat([sq, px, py])], [torch.tensor([[0, 1, 2], [0, 2, 3], [4, 5, 6], [7, 8, 9]])],
                  vert_colors=[colors])
    R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    rgb = backend.render_meshes(mesh, Cameras(torch.tensor([[[60.0, 0, 32], [0, 60, 32], [0, 0, 1]]]), R, t,
                                              64, 64)).rgb[0]
    # Filament's display transform desaturates colors: classify by the dominant channel
    rx, cx = (rgb[..., 0] - rgb[..., 1] > 0.3).nonzero().float().mean(0)
    ry, cy = (rgb[..., 1] - rgb[..., 0] > 0.2).nonzero().float().mean(0)
    assert cx > 44 and abs(rx - 32) < 2
    assert ry < 20 and abs(cy - 32) < 2


def test_render_points_depth():
    pts = torch.tensor([_at_pixel(20.5, 30.5, 2.0)])
    # radius 0.06 at depth 2 with fx 50: squares of 2 · 0.06 · 50 / 2 = 3 pixels
    out = get_backend("open3d").render_points(Pointclouds([pts], radius=0.06),
                                              Cameras(K, torch.eye(3)[None], torch.zeros(1, 3), 64, 48))
    assert out.depth[0, 30, 20].item() == pytest.approx(2.0, abs=1e-3)
    assert 1 <= out.alpha.sum() <= 16
