"""pyrender adapter: offscreen platform choice, camera/pose conversion, exact pixel-center sampling."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from render3d import Cameras, Meshes, Pointclouds, look_at
from render3d.backends import get_backend, unavailable_reason
from render3d.backends.pyrender import camera_pose, roughness
from render3d.lights import AmbientLight, DirectionalLight, Lights
from render3d.render_settings import RenderSettings
from render3d.shading import Materials

pytestmark = pytest.mark.skipif(unavailable_reason("pyrender") is not None,
                                reason=f"pyrender unavailable: {unavailable_reason('pyrender')}")

K = torch.tensor([[[50.0, 0, 32], [0, 50, 24], [0, 0, 1]]])
CAMS = Cameras(K, torch.eye(3)[None], torch.zeros(1, 3), 64, 48)
UNLIT = RenderSettings(shading="unlit")
MATTE = RenderSettings(shading="lambert")  # PBR roughness 1, metallic 0


def _at_pixel(u, v, z):
    return [(u - 32) / 50 * z, (v - 24) / 50 * z, z]


def _triangle():
    v = torch.tensor([_at_pixel(10, 10, 2.0), _at_pixel(50, 10, 2.0), _at_pixel(10, 40, 4.0)])
    return Meshes([v], [torch.tensor([[0, 1, 2]])], vert_colors=torch.eye(3)[None])


def test_platform_is_chosen_lazily_without_touching_the_environment_at_import():
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"}
    code = ("import os, render3d.backends.pyrender as p; before = os.environ.get('PYOPENGL_PLATFORM'); "
            "p.gl_platform(); print(before, os.environ['PYOPENGL_PLATFORM'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    before, chosen = out.stdout.split()
    assert before == "None" and chosen in ("egl", "osmesa")


def test_camera_pose_is_camera_to_world_in_opengl_axes():
    R, t = look_at(torch.tensor([[1.0, 2.0, 3.0]]), torch.zeros(1, 3))
    pose = camera_pose(R[0], t[0])
    assert np.allclose(pose[:3, 3], [1, 2, 3], atol=1e-6)
    view = -pose[:3, 2]  # OpenGL cameras look down -z
    assert np.allclose(view, -np.array([1, 2, 3]) / np.sqrt(14), atol=1e-6)
    assert pose[1, 1] > 0  # camera +y (up in OpenGL) has a positive world-Y component


def test_unlit_triangle_mask_depth_and_colors_at_pixel_centers():
    out = get_backend("pyrender").render_meshes(_triangle(), CAMS, settings=UNLIT)
    r, c = torch.meshgrid(torch.arange(48) + 0.5, torch.arange(64) + 0.5, indexing="ij")
    expected = (c > 10) & (r > 10) & (3 * c + 4 * r < 190)
    assert torch.equal(out.alpha[0] > 0, expected)
    s = torch.tensor([1 - 2.5 / 40 - 2.5 / 30, 2.5 / 40, 2.5 / 30])  # screen bary at pixel (12, 12)
    w = s / torch.tensor([2.0, 2.0, 4.0])
    assert out.depth[0, 12, 12].item() == pytest.approx(1 / w.sum().item(), abs=1e-3)
    assert torch.allclose(out.rgb[0, 12, 12], w / w.sum(), atol=0.6 / 255)
    assert out.depth[0, 0, 0] == 0 and out.rgb[0, 0, 0].abs().sum() == 0


def test_ambient_light_is_linear_and_directional_light_direction_is_respected():
    quad = Meshes([torch.tensor([[-1.0, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]])],
                  [torch.tensor([[0, 1, 2], [0, 2, 3]])], vert_colors=torch.full((1, 4, 3), 0.8))
    R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    cams = Cameras(K, R, t, 64, 48)
    pr = get_backend("pyrender")
    amb = pr.render_meshes(quad, cams, Lights(AmbientLight(0.5)), settings=MATTE).rgb[0, 24, 32]
    assert torch.allclose(amb, torch.full((3,), 0.4), atol=2 / 255)
    facing = pr.render_meshes(quad, cams, DirectionalLight((0.0, 0.0, -1.0)), settings=MATTE).rgb[0, 24, 32]
    behind = pr.render_meshes(quad, cams, DirectionalLight((0.0, 0.0, 1.0)), settings=MATTE).rgb[0, 24, 32]
    assert behind.max() < 1 / 255 and facing.min() > 0.5


def test_asymmetric_shape_lands_where_opencv_says():
    sq = torch.tensor([[-0.3, -0.3, 0], [0.3, -0.3, 0], [0.3, 0.3, 0], [-0.3, 0.3, 0]])
    px = torch.tensor([[0.6, -0.1, 0], [0.9, 0.0, 0], [0.6, 0.1, 0]])
    py = torch.tensor([[-0.1, 0.6, 0], [0.1, 0.6, 0], [0.0, 0.9, 0]])
    colors = torch.cat([torch.full((4, 3), 0.2), torch.tensor([[1.0, 0, 0]]).expand(3, 3),
                        torch.tensor([[0.0, 1, 0]]).expand(3, 3)])
    mesh = Meshes([torch.cat([sq, px, py])], [torch.tensor([[0, 1, 2], [0, 2, 3], [4, 5, 6], [7, 8, 9]])],
                  vert_colors=[colors])
    R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    cams = Cameras(torch.tensor([[[60.0, 0, 32], [0, 60, 32], [0, 0, 1]]]), R, t, 64, 64)
    rgb = get_backend("pyrender").render_meshes(mesh, cams, settings=UNLIT).rgb[0]
    rx, cx = (rgb[..., 0] > 0.9).nonzero().float().mean(0)
    ry, cy = (rgb[..., 1] > 0.9).nonzero().float().mean(0)
    assert cx > 44 and abs(rx - 32) < 2
    assert ry < 20 and abs(cy - 32) < 2


def test_texture_uv_origin_is_bottom_left():
    quad = torch.tensor([[-1.0, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]])
    uv = torch.tensor([[0.0, 0], [1, 0], [1, 1], [0, 1]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    tex = torch.zeros(8, 8, 3)
    tex[:4, :, 0] = 1.0  # image top half red
    tex[4:, :, 2] = 1.0  # bottom half blue
    mesh = Meshes([quad], [faces], verts_uvs=[uv], faces_uvs=[faces], textures=[tex])
    R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    rgb = get_backend("pyrender").render_meshes(mesh, Cameras(K, R, t, 64, 48), settings=UNLIT).rgb[0]
    assert rgb[16, 32, 0] > 0.9 and rgb[16, 32, 2] < 0.1  # world +Y (image top) shows the texture's top
    assert rgb[32, 32, 2] > 0.9 and rgb[32, 32, 0] < 0.1


def test_points_land_on_their_projected_pixel():
    pts = torch.tensor([_at_pixel(20.5, 30.5, 2.0), _at_pixel(40.5, 10.5, 3.0)])
    # a radius far below a pixel: 1-pixel squares
    clouds = Pointclouds([pts], features=torch.tensor([[[1.0, 0, 0], [0, 1, 0]]]), radius=1e-3)
    out = get_backend("pyrender").render_points(clouds, CAMS)
    assert out.depth[0, 30, 20].item() == pytest.approx(2.0, abs=1e-3)
    assert out.depth[0, 10, 40].item() == pytest.approx(3.0, abs=1e-3)
    assert out.rgb[0, 30, 20, 0] == 1 and out.rgb[0, 10, 40, 1] == 1
    assert out.alpha.sum() == 2


def test_pbr_roughness_and_light_conversions():
    from render3d.errors import ShapeError
    from render3d.lights import PointLight, SHLight

    quad = Meshes([torch.tensor([[-1.0, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]])],
                  [torch.tensor([[0, 1, 2], [0, 2, 3]])], vert_colors=torch.full((1, 4, 3), 0.5))
    R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    cams = Cameras(K, R, t, 64, 48)
    pr = get_backend("pyrender")
    head_on = DirectionalLight((0.0, 0.0, -1.0))
    matte = pr.render_meshes(quad, cams, head_on, Materials(), MATTE).rgb[0, 24, 32]
    assert roughness("phong", 2000.0) < 0.2
    glossy = pr.render_meshes(quad, cams, head_on, Materials(shininess=2000.0),
                              RenderSettings(shading="phong")).rgb[0, 24, 32]
    assert glossy.mean() > matte.mean() + 0.05  # mirror-like highlight straight back at the camera
    # inverse-square point light at distance 2: a quarter of the same light at distance 1
    near = pr.render_meshes(quad, cams, PointLight((0.0, 0.0, 1.0), attenuation=(0.0, 0.0, 1.0)),
                            settings=MATTE).rgb[0, 24, 32]
    far = pr.render_meshes(quad, cams, PointLight((0.0, 0.0, 2.0), attenuation=(0.0, 0.0, 1.0)),
                           settings=MATTE).rgb[0, 24, 32]
    assert torch.allclose(far * 4, near, rtol=0.1)
    with pytest.raises(ShapeError, match="1/d"):
        pr.render_meshes(quad, cams, PointLight((0.0, 0.0, 1.0)), settings=MATTE)
    with pytest.raises(ShapeError, match="SHLight"):
        pr.render_meshes(quad, cams, SHLight(torch.zeros(1, 9, 3)), settings=MATTE)
    with pytest.raises(ShapeError, match="needs lights"):
        pr.render_meshes(quad, cams, None, settings=MATTE)


def test_base_color_colors_meshes_without_colors_and_supersampling_antialiases():
    quad = Meshes([torch.tensor([[-1.0, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]])],
                  [torch.tensor([[0, 1, 2], [0, 2, 3]])])
    R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    cams = Cameras(K, R, t, 64, 48)
    pr = get_backend("pyrender")
    rgb = pr.render_meshes(quad, cams, None, Materials(base_color=(0.2, 0.4, 0.6)), UNLIT).rgb[0, 24, 32]
    assert torch.allclose(rgb, torch.tensor([0.2, 0.4, 0.6]), atol=1 / 255)
    # the quad spans u in 32 ± 50/3 px: at 4× supersampling the edge pixel 15 is covered over its right 2/3
    plain = pr.render_meshes(quad, cams, settings=UNLIT)
    ss = pr.render_meshes(quad, cams, settings=RenderSettings(supersample=4))
    assert ss.alpha.shape == plain.alpha.shape == (1, 48, 64)
    edge = 32 - 50 / 3
    assert ss.alpha[0, 24, 15].item() == pytest.approx(16 - edge, abs=0.25 + 1e-6)
    assert plain.alpha[0, 24, 15].item() == 1.0  # one sample, at the center 15.5, inside the edge at 15.33
    assert ss.depth[0, 24, 15].item() == pytest.approx(3.0, abs=1e-3)  # averaged over covered sub-pixels only


def test_torch_can_load_triton_after_a_pyrender_render():
    """Mesa's LLVM (loaded with pyrender's GL context) and triton's LLVM (loaded by torch._dynamo, e.g. on
    the first optimizer) in one process: the adapter loads triton first, or the process segfaults."""
    code = ("import torch\n"
            "from render3d import Cameras, Meshes\n"
            "from render3d.backends import get_backend\n"
            "m = Meshes([torch.tensor([[0.0, 0, 2], [1, 0, 2], [0, 1, 2]])], [torch.tensor([[0, 1, 2]])])\n"
            "cams = Cameras(torch.tensor([[[8.0, 0, 8], [0, 8, 8], [0, 0, 1]]]), torch.eye(3)[None], torch.zeros(1, 3),"
            " 16, 16)\n"
            "assert get_backend('pyrender').render_meshes(m, cams).alpha.sum() > 0\n"
            "torch.optim.Adam([torch.zeros(1, requires_grad=True)])\n"
            "print('ok')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]
