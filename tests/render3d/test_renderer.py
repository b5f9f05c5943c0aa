import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image

from render3d import Cameras, Meshes, intrinsics_from_fov, look_at
from render3d.blend import SoftBlendSettings
from render3d.errors import ShapeError
from render3d.lights import AmbientLight, DirectionalLight, Lights
from render3d.losses import silhouette_iou_loss
from render3d.raster import MeshRasterizer, RasterSettings
from render3d.renderer import MeshRenderer, supersampled_cameras
from render3d.shading import Materials, Shader

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "mesh_shaded_64.png"


def _sphere(subdivisions: int = 2) -> Meshes:
    ico = trimesh.creation.icosphere(subdivisions=subdivisions)
    v = torch.tensor(ico.vertices, dtype=torch.float32)
    return Meshes([v], [torch.tensor(ico.faces)], vert_colors=[0.5 + 0.5 * v])


def _camera(size: int, fov: float = 45.0) -> Cameras:
    R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    return Cameras(intrinsics_from_fov(fov, size, size)[None], R, t, size, size)


def _lights() -> Lights:
    return Lights(AmbientLight(0.15), DirectionalLight((-1.0, -0.5, -1.0), 0.85))


def test_sphere_silhouette_depth_and_normals():
    size = 32
    out = MeshRenderer(MeshRasterizer(), Shader("phong", "hard", _lights()))(_sphere(), _camera(size))
    assert out.rgb.shape == (1, size, size, 3) and out.alpha.shape == (1, size, size)
    # Analytic silhouette: a disk of radius f·tan(asin(1/3)) around the image center.
    f = 0.5 * size / math.tan(math.radians(22.5))
    r = f * math.tan(math.asin(1 / 3))
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    disk = (((xs - size / 2) ** 2 + (ys - size / 2) ** 2) <= r * r).float()[None]
    assert 1 - float(silhouette_iou_loss(out.alpha, disk)) > 0.93
    c = size // 2
    assert float(out.depth[0, c, c]) == pytest.approx(2.0, abs=0.03)
    assert out.normals[0, c, c].tolist() == pytest.approx([0, 0, 1], abs=0.05)
    # Normals are world space: the right side of the image faces +X, the top faces +Y.
    assert float(out.normals[0, c, c + 10, 0]) > 0.5 and float(out.normals[0, c - 10, c, 1]) > 0.5
    bg = out.alpha == 0
    assert float(out.depth[bg].abs().max()) == 0 and float(out.normals[bg].abs().max()) == 0
    assert out.fragments.pix_to_face.shape == (1, size, size, 1)


def test_supersampling_antialiases_edges():
    m, cams = _sphere(), _camera(24)
    shader = Shader("lambert", "hard", _lights())
    plain = MeshRenderer(MeshRasterizer(), shader)(m, cams)
    ss = MeshRenderer(MeshRasterizer(), shader, supersample=3)(m, cams)
    assert ss.fragments.pix_to_face.shape == (1, 72, 72, 1)
    assert ss.rgb.shape == (1, 24, 24, 3)
    partial = (ss.alpha > 0.05) & (ss.alpha < 0.95)
    assert int(partial.sum()) > 20  # an anti-aliased rim
    assert set(plain.alpha.unique().tolist()) <= {0.0, 1.0}
    assert float(ss.alpha.sum()) == pytest.approx(float(plain.alpha.sum()), rel=0.05)
    inner = (plain.alpha == 1) & (ss.alpha == 1)
    torch.testing.assert_close(ss.depth[inner], plain.depth[inner], atol=0.04, rtol=0)  # varies within edge pixels
    assert float((ss.normals[ss.alpha > 0].norm(dim=-1) - 1).abs().max()) < 1e-4


def test_supersampled_cameras_scale_pixels():
    cams = _camera(16)
    pts = torch.tensor([[[0.3, -0.2, 0.1]]])
    uv1 = cams.project(pts)[0, 0, :2]
    uv3 = supersampled_cameras(cams, 3).project(pts)[0, 0, :2]
    torch.testing.assert_close(uv3, 3 * uv1)
    with pytest.raises(ShapeError):
        MeshRenderer(MeshRasterizer(), Shader("unlit"), supersample=0)


def test_texture_orientation_end_to_end():
    """Texture row 0 (top) appears at the image top, column 0 at the image left (UV origin bottom-left)."""
    v = torch.tensor([[-1.0, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]])
    f = torch.tensor([[0, 1, 2], [0, 2, 3]])
    uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    tex = torch.tensor([[[1.0, 0, 0], [0, 1, 0]], [[0, 0, 1], [1, 1, 1]]])  # red green / blue white
    m = Meshes([v], [f], verts_uvs=[uvs], faces_uvs=[f], textures=[tex])
    renderer = MeshRenderer(MeshRasterizer(), Shader("unlit", "hard", texture_wrap="clamp",
                                                     blend_settings=SoftBlendSettings(background=(0.0, 0.0, 0.0))))
    img = renderer(m, _camera(16)).rgb[0]
    assert img[3, 3].tolist() == pytest.approx([1, 0, 0])
    assert img[3, 12].tolist() == pytest.approx([0, 1, 0])
    assert img[12, 3].tolist() == pytest.approx([0, 0, 1])
    assert img[12, 12].tolist() == pytest.approx([1, 1, 1])


def test_gradients_reach_geometry_and_colors():
    m = _sphere(1)
    verts = m.verts_packed().clone().requires_grad_(True)
    colors = m.vert_colors_packed().clone().requires_grad_(True)
    mesh = Meshes([verts], m.faces_list(), vert_colors=[colors])
    soft = SoftBlendSettings(sigma=0.5, gamma=1e-2, background=(1.0, 1.0, 1.0), znear=0.5, zfar=10.0)
    renderer = MeshRenderer(MeshRasterizer(RasterSettings(faces_per_pixel=4, blur_radius=3.0)),
                            Shader("phong", "soft", _lights(), Materials(), soft))
    out = renderer(mesh, _camera(16))
    target = torch.zeros(1, 16, 16)
    loss = silhouette_iou_loss(out.alpha, target) + out.rgb.mean()
    loss.backward()
    assert torch.isfinite(verts.grad).all() and float(verts.grad.abs().sum()) > 0
    assert torch.isfinite(colors.grad).all() and float(colors.grad.abs().sum()) > 0

    # The gradients are the loss's. Colors (float64, the IoU term being constant against an empty target):
    # the directional derivative equals central finite differences.
    def loss_at(v: torch.Tensor, c: torch.Tensor, tgt: torch.Tensor, with_rgb: bool, cams: Cameras) -> torch.Tensor:
        o = renderer(Meshes([v], m.faces_list(), vert_colors=[c]), cams)
        return silhouette_iou_loss(o.alpha, tgt) + (o.rgb.mean() if with_rgb else 0.0)

    cam64 = Cameras(*(x.double() for x in (_camera(16).K, _camera(16).R, _camera(16).t)), 16, 16)
    renderer.double()
    v64, c64 = m.verts_packed().double(), m.vert_colors_packed().double().requires_grad_(True)
    loss_at(v64, c64, target.double(), True, cam64).backward()
    d = torch.randn(c64.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    d, h = d / d.norm(), 1e-3
    with torch.no_grad():
        numeric = (loss_at(v64, c64 + h * d, target.double(), True, cam64)
                   - loss_at(v64, c64 - h * d, target.double(), True, cam64)) / (2 * h)
    assert float((c64.grad * d).sum()) == pytest.approx(float(numeric), rel=1e-6)
    assert float((c64.grad.float() - colors.grad).abs().max()) < 1e-5  # the float32 gradient is the same
    renderer.float()
    # Positions: against a silhouette 1.3x the sphere's, growing the sphere lowers the IoU loss, at the
    # rate finite differences measure (h = 1e-2: the soft coverage is smooth at that scale in float32).
    f = 0.5 * 16 / math.tan(math.radians(22.5))
    r = 1.3 * f * math.tan(math.asin(1 / 3))
    ys, xs = torch.meshgrid(torch.arange(16) + 0.5, torch.arange(16) + 0.5, indexing="ij")
    bigger = (((xs - 8) ** 2 + (ys - 8) ** 2) <= r * r).float()[None]
    v = m.verts_packed().clone().requires_grad_(True)
    loss_at(v, m.vert_colors_packed(), bigger, False, _camera(16)).backward()
    radial, h = m.verts_packed() / m.verts_packed().norm(), 1e-2
    with torch.no_grad():
        numeric = (loss_at(v + h * radial, m.vert_colors_packed(), bigger, False, _camera(16))
                   - loss_at(v - h * radial, m.vert_colors_packed(), bigger, False, _camera(16))) / (2 * h)
    analytic = float((v.grad * radial).sum())
    assert analytic < -0.05 and analytic == pytest.approx(float(numeric), rel=0.1)


def _golden_render() -> np.ndarray:
    renderer = MeshRenderer(MeshRasterizer(), Shader("phong", "hard", _lights(), Materials(shininess=24.0)),
                            supersample=2)
    out = renderer(_sphere(3), _camera(64))
    return (out.rgb[0].clamp(0, 1).numpy() * 255).round().astype(np.uint8)


def test_golden_image():
    img = _golden_render()
    if os.environ.get("NEURENDER_REGEN_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(GOLDEN)
    ref = np.asarray(Image.open(GOLDEN).convert("RGB"))
    diff = np.abs(img.astype(np.int16) - ref.astype(np.int16))
    assert diff.mean() < 0.5, f"mean abs diff {diff.mean():.3f}/255"
    assert (diff.max(-1) <= 2).mean() > 0.99, "more than 1% of pixels differ by over 2/255"


@pytest.mark.gpu
def test_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    g = torch.Generator().manual_seed(0)
    tex = torch.rand(8, 8, 3, generator=g)
    ico = trimesh.creation.icosphere(subdivisions=2)
    v = torch.tensor(ico.vertices, dtype=torch.float32)
    f = torch.tensor(ico.faces)
    uv = torch.stack([0.5 + torch.atan2(v[:, 0], v[:, 2]) / (2 * math.pi), 0.5 + v[:, 1] / 2], -1)
    m = Meshes([v], [f], verts_uvs=[uv], faces_uvs=[f], textures=[tex])
    renderer = MeshRenderer(MeshRasterizer(), Shader("phong", "hard", _lights(), texture_filter="trilinear"),
                            supersample=2)
    cpu = renderer(m, _camera(32))
    gpu = renderer.to("cuda")(m.to("cuda"), _camera(32).to("cuda"))
    for name in ("rgb", "alpha", "depth", "normals"):
        a, b = getattr(cpu, name), getattr(gpu, name).cpu()
        assert float((a - b).abs().gt(1e-3).float().mean()) < 0.01, name
