import math

import pytest
import torch
import trimesh

from render3d import Cameras, Meshes, intrinsics_from_fov, look_at
from render3d.blend import SoftBlendSettings
from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.lights import AmbientLight, DirectionalLight, Lights, PointLight
from render3d.raster import RasterSettings, rasterize_meshes
from render3d.shading import Materials, Shader, fragment_albedo, fragment_normals, lambert, phong, view_directions


def _two_triangles(**attrs) -> Meshes:
    """A flat triangle in z=0 (normal +Z) and a tilted one (normal +X) sharing vertex 1."""
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 1], [1, 1, 0]])
    f = torch.tensor([[0, 1, 2], [1, 4, 3]])
    return Meshes([v], [f], **attrs)


def _frags(p2f: list[int], bary: list[list[float]]) -> Fragments:
    n = len(p2f)
    return Fragments(torch.tensor(p2f).view(1, 1, n, 1), torch.tensor(bary).view(1, 1, n, 1, 3),
                     torch.ones(1, 1, n, 1))


def test_flat_and_smooth_normals():
    m = _two_triangles()
    frags = _frags([0, 1, -1], [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0, 0, 0]])
    flat = fragment_normals(m, frags, flat=True)[0, 0, :, 0]
    assert flat[0].tolist() == pytest.approx([0, 0, 1])
    assert flat[1].tolist() == pytest.approx([1, 0, 0])
    assert flat[2].tolist() == [0, 0, 0]
    smooth = fragment_normals(m, frags, flat=False)[0, 0, :, 0]
    # Vertex 1 is shared: its normal blends both faces (area weighted: equal areas).
    assert smooth[0].tolist() == pytest.approx([math.sqrt(0.5), 0, math.sqrt(0.5)], abs=1e-6)
    torch.testing.assert_close(smooth[0], smooth[1])
    assert smooth[2].tolist() == [0, 0, 0]


def test_albedo_precedence_texture_then_vertex_colors_then_base():
    frags = _frags([0], [[1 / 3, 1 / 3, 1 / 3]])
    base = torch.tensor([[0.1, 0.2, 0.3]])
    plain = _two_triangles()
    assert fragment_albedo(plain, frags, base)[0, 0, 0, 0].tolist() == pytest.approx([0.1, 0.2, 0.3])
    colored = _two_triangles(vert_colors=[torch.eye(3).repeat(2, 1)[:5]])
    assert fragment_albedo(colored, frags, base)[0, 0, 0, 0].tolist() == pytest.approx([1 / 3] * 3)
    uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    textured = colored.with_texture([uvs], [torch.tensor([[0, 1, 2], [0, 1, 2]])], [torch.full((4, 4, 3), 0.9)])
    assert fragment_albedo(textured, frags, base)[0, 0, 0, 0].tolist() == pytest.approx([0.9] * 3)


def test_lambert_and_phong_values():
    n = torch.tensor([[[0.0, 0.0, 1.0]]])
    p = torch.zeros(1, 1, 3)
    albedo = torch.tensor([[[0.5, 0.25, 1.0]]])
    lights = Lights(AmbientLight(0.1), DirectionalLight((-1.0, 0.0, -1.0), 1.0))  # 45° incidence
    mat = Materials(ambient_color=(1.0, 1.0, 1.0), diffuse_color=(0.5, 0.5, 0.5), specular_color=(0.3, 0.3, 0.3),
                    shininess=4.0)
    lam = lambert(albedo, p, n, lights, mat)[0, 0]
    expected = albedo[0, 0] * (0.1 + 0.5 * math.sqrt(0.5))
    torch.testing.assert_close(lam, expected)
    # Viewer mirrored from the light about the normal: half vector = normal → full highlight.
    v = torch.nn.functional.normalize(torch.tensor([[[-1.0, 0.0, 1.0]]]), dim=-1)
    torch.testing.assert_close(phong(albedo, p, n, v, lights, mat)[0, 0], expected + 0.3)


def test_phong_gradcheck():
    g = torch.Generator().manual_seed(0)
    albedo = torch.rand(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    points = torch.randn(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    normals = torch.randn(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    lights = Lights(AmbientLight(0.1), DirectionalLight((0.3, -1.0, -0.2), 0.7),
                    PointLight((0.0, 4.0, 4.0), 0.8, attenuation=(1.0, 0.1, 0.01))).to(torch.float64)
    mat = Materials(shininess=6.0)
    eye = torch.tensor([0.0, 0.5, 5.0], dtype=torch.float64)

    def f(a, p, n):
        n = torch.nn.functional.normalize(n, dim=-1)
        v = torch.nn.functional.normalize(eye - p, dim=-1)
        return phong(a, p, n, v, lights, mat)

    assert torch.autograd.gradcheck(f, (albedo, points, normals))


def test_shader_unlit_hard_and_soft_on_hand_built_fragments():
    m = _two_triangles(vert_colors=[torch.tensor([[1.0, 0, 0]]).repeat(5, 1)])
    frags = Fragments(torch.tensor([0, -1]).view(1, 1, 2, 1), torch.full((1, 1, 2, 1, 3), 1 / 3),
                      torch.full((1, 1, 2, 1), 2.0), torch.tensor([-5.0, 5.0]).view(1, 1, 2, 1))
    R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    cams = Cameras(intrinsics_from_fov(60, 2, 1)[None], R, t, 2, 1)
    hard = Shader("unlit", "hard", blend_settings=SoftBlendSettings(background=(0.0, 0.0, 1.0)))(frags, m, cams)
    assert hard[0, 0].tolist() == [[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]]
    soft = Shader("unlit", "soft", blend_settings=SoftBlendSettings(sigma=1.0, background=(0.0, 0.0, 1.0)))(
        frags, m, cams)
    assert soft[0, 0, 0, 0] > 0.95 and soft[0, 0, 1, 3] == 0


def test_shader_validation():
    with pytest.raises(ShapeError, match="needs lights"):
        Shader("phong", "hard")
    with pytest.raises(ShapeError, match="shading"):
        Shader("toon", "hard", AmbientLight())
    with pytest.raises(ShapeError, match="blend"):
        Shader("unlit", "alpha")


def test_view_directions_perspective_and_orthographic():
    R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    cams = Cameras(intrinsics_from_fov(60, 8, 8)[None], R, t, 8, 8)
    pts = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 4.0, 3.0]]])
    assert view_directions(cams, pts)[0].tolist() == [[0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]
    ortho = Cameras(cams.K, R, t, 8, 8, orthographic=True)
    assert view_directions(ortho, pts)[0, 1].tolist() == pytest.approx([0.0, 0.0, 1.0])


def test_sphere_lit_from_plus_x_is_brighter_on_the_right():
    ico = trimesh.creation.icosphere(subdivisions=2)
    m = Meshes([torch.tensor(ico.vertices, dtype=torch.float32)], [torch.tensor(ico.faces)])
    R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    cams = Cameras(intrinsics_from_fov(45, 32, 32)[None], R, t, 32, 32)
    frags = rasterize_meshes(m, cams, RasterSettings())
    for shading in ("lambert", "phong"):
        shader = Shader(shading, "hard", Lights(AmbientLight(0.1), DirectionalLight((-1.0, 0.0, 0.0), 0.9)))
        img = shader(frags, m, cams)
        lum = img[0, ..., :3].mean(-1)
        left, right = lum[8:24, 4:14], lum[8:24, 18:28]
        cov = img[0, ..., 3]
        assert float((right * cov[8:24, 18:28]).sum()) > 3 * float((left * cov[8:24, 4:14]).sum())
