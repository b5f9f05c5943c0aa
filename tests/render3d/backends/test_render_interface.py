"""Every backend through the one render interface (`render_meshes`, `render_points`) against the reference.

The reference's render tasks are first pinned to the module composition they twin
(`MeshRenderer(MeshRasterizer, Shader)`, `PointsRenderer`); then each available backend renders the
same scenes with the same `RenderSettings` and is compared by quantile: coverage equal on ≥ 99.9% of
pixels, depth within 1e-3 and (where the backend's colors are linear) interior colors within 2/255.
"""

import pytest
import torch

from render3d import Cameras, Meshes, Pointclouds, look_at
from render3d.backends import Task, backend_info, backend_names, get_backend, unavailable_reason
from render3d.blend import SoftBlendSettings
from render3d.lights import AmbientLight, DirectionalLight, Lights
from render3d.points import PointsRasterizer, PointsRasterSettings, PointsRenderer
from render3d.raster import MeshRasterizer, RasterSettings
from render3d.render_settings import RenderSettings
from render3d.renderer import MeshRenderer
from render3d.shading import Materials, Shader

REF = get_backend("torch")
LIGHTS = Lights(AmbientLight(0.3), DirectionalLight((-0.4, -0.5, -1.0), 0.7))
#: Filament (open3d) passes colors through its display transform: compare its coverage and depth only.
NONLINEAR_COLORS = {"open3d"}
#: Filament needs 5 s to minutes for its first frames on a busy CPU (see test_parity).
SLOW = {"open3d"}


def _cpu_renderers(task: Task) -> list:
    params = []
    for name in backend_names():
        caps = backend_info(name).capabilities
        if name == "torch" or task not in caps.tasks or "cpu" not in caps.devices:
            continue
        marks = [pytest.mark.skipif(unavailable_reason(name) is not None, reason=f"{name} unavailable")]
        if name in SLOW:
            marks.append(pytest.mark.slow)
        params.append(pytest.param(name, marks=marks, id=name))
    return params


def _scene():
    """Two views of a colored ellipsoid (no skew: pyrender and open3d take fx, fy, cx, cy only)."""
    import trimesh

    ico = trimesh.creation.icosphere(3, radius=0.8)
    v = torch.tensor(ico.vertices, dtype=torch.float32) * torch.tensor([1.0, 0.75, 0.9]) + torch.tensor([0.1, 0, 0])
    colors = (v - v.min(0).values) / (v.max(0).values - v.min(0).values)
    f = torch.tensor(ico.faces)
    R, t = look_at(torch.tensor([[0.4, 0.5, 3.0], [-2.5, 1.0, 1.5]]), torch.zeros(2, 3))
    K = torch.tensor([[[100.0, 0.0, 61], [0, 104.0, 50], [0, 0, 1]], [[90.0, 0.0, 66], [0, 90.0, 45], [0, 0, 1]]])
    return Meshes([v, v], [f, f], vert_colors=[colors, colors]), Cameras(K, R, t, 128, 96)


def _frac(x: torch.Tensor) -> float:
    return x.float().mean().item()


def _interior(mask: torch.Tensor) -> torch.Tensor:
    return (-torch.nn.functional.max_pool2d(-mask.float()[:, None], 3, 1, 1))[:, 0] > 0


def test_reference_render_tasks_equal_the_modules_they_twin():
    meshes, cams = _scene()
    for shading, lights in (("unlit", None), ("phong", LIGHTS)):
        settings = RenderSettings(shading=shading, background=(1.0, 1.0, 1.0), cull_backfaces=True, supersample=2)
        task = REF.render_meshes(meshes, cams, lights, Materials(shininess=20.0), settings)
        shader = Shader(shading, "hard", lights, Materials(shininess=20.0),
                        SoftBlendSettings(background=(1.0, 1.0, 1.0)))
        module = MeshRenderer(MeshRasterizer(RasterSettings(cull_backfaces=True)), shader, supersample=2)(meshes, cams)
        for name in ("rgb", "alpha", "depth", "normals"):
            assert torch.equal(getattr(task, name), getattr(module, name)), (shading, name)
        assert torch.equal(task.fragments.pix_to_face, module.fragments.pix_to_face)
    clouds = Pointclouds(meshes.verts_list(), features=meshes.vert_colors_list(), radius=0.03)
    task = REF.render_points(clouds, cams, RenderSettings(background=(0.0, 0.5, 1.0)))
    module = PointsRenderer(PointsRasterizer(PointsRasterSettings.hole_free()), "alpha", (0.0, 0.5, 1.0))(clouds, cams)
    for name in ("rgb", "alpha", "depth"):
        assert torch.equal(getattr(task, name), getattr(module, name)), name
    assert task.alpha.sum() > 1000 and task.normals is None


@pytest.mark.parametrize("name", _cpu_renderers(Task.RENDER_MESHES))
def test_mesh_render_matches_reference(name):
    meshes, cams = _scene()
    settings = RenderSettings(background=(0.2, 0.3, 0.4))
    ref = REF.render_meshes(meshes, cams, None, None, settings)
    out = get_backend(name).render_meshes(meshes, cams, None, None, settings)
    assert out.rgb.shape == ref.rgb.shape and out.alpha.shape == ref.alpha.shape
    hit, ref_hit = out.alpha > 0.5, ref.alpha > 0.5
    assert _frac(hit == ref_hit) >= 0.999 and ref_hit.sum() > 2000
    both = hit & ref_hit
    assert _frac((out.depth - ref.depth).abs()[both] < 1e-3) >= 0.999
    assert (out.depth[~hit] == 0).all()
    assert torch.allclose(out.rgb[~hit & ~ref_hit], torch.tensor([0.2, 0.3, 0.4]), atol=1e-6)
    if name not in NONLINEAR_COLORS:
        inner = _interior(ref_hit)
        assert _frac((out.rgb - ref.rgb).abs().amax(-1)[inner] <= 2 / 255) >= 0.999
    filled = backend_info(name).capabilities.outputs
    assert (out.normals is not None) == ("normals" in filled)
    if out.normals is not None:
        assert _frac((out.normals - ref.normals).norm(dim=-1)[both] < 1e-3) >= 0.999


@pytest.mark.parametrize("name", _cpu_renderers(Task.RENDER_MESHES))
def test_supersampled_mesh_render_matches_reference(name):
    meshes, cams = _scene()
    settings = RenderSettings(supersample=2)
    ref = REF.render_meshes(meshes, cams, None, None, settings)
    out = get_backend(name).render_meshes(meshes, cams, None, None, settings)
    assert _frac((out.alpha - ref.alpha).abs() < 1e-6) >= 0.999
    rim = (ref.alpha > 0) & (ref.alpha < 1)
    assert rim.sum() > 100  # an antialiased silhouette, the same one
    both = (out.alpha == 1) & (ref.alpha == 1)
    assert _frac((out.depth - ref.depth).abs()[both] < 1e-3) >= 0.999


@pytest.mark.parametrize("name", [p for p in _cpu_renderers(Task.RENDER_MESHES)
                                  if "phong" in backend_info(p.values[0]).capabilities.shadings
                                  and backend_info(p.values[0]).capabilities.differentiable])
def test_lit_render_of_rasterizer_backends_matches_reference(name):
    """Rasterizer backends shade with the reference stages: lit colors agree wherever fragments do."""
    meshes, cams = _scene()
    settings = RenderSettings(shading="phong")
    ref = REF.render_meshes(meshes, cams, LIGHTS, Materials(shininess=16.0), settings)
    out = get_backend(name).render_meshes(meshes, cams, LIGHTS, Materials(shininess=16.0), settings)
    inner = _interior(ref.alpha > 0)
    assert _frac((out.rgb - ref.rgb).abs().amax(-1)[inner] < 1e-3) >= 0.999
    assert ref.rgb[inner].std() > 0.05  # actually lit, not flat


@pytest.mark.parametrize("name", _cpu_renderers(Task.RENDER_POINTS))
def test_point_render_matches_reference_at_projected_pixels(name):
    _, cams = _scene()
    g = torch.Generator().manual_seed(3)
    uv = torch.stack([torch.randperm(128, generator=g)[:40], torch.randperm(96, generator=g)[:40]], 1) + 0.5
    uvz = torch.cat([uv.float(), 2 + torch.rand(40, 1, generator=g)], 1)
    pts = cams[0].unproject(uvz[None])[0]
    colors = torch.rand(40, 3, generator=g)
    # splats about 3 px across (radius 0.04 at depth 2-3, f 100): every backend covers the projected pixel
    clouds = Pointclouds([pts], features=[colors], radius=0.04)
    settings = RenderSettings(background=(1.0, 1.0, 1.0))
    ref = REF.render_points(clouds, cams[0], settings)
    out = get_backend(name).render_points(clouds, cams[0], settings)
    cols, rows = uv[:, 0].long(), uv[:, 1].long()
    assert torch.allclose(out.depth[0, rows, cols], uvz[:, 2], atol=1e-3)
    assert torch.allclose(ref.depth[0, rows, cols], uvz[:, 2], atol=1e-5)
    assert (out.alpha[0, rows, cols] > 0.99).all() and (ref.alpha[0, rows, cols] > 0.99).all()
    if name not in NONLINEAR_COLORS:
        assert torch.allclose(out.rgb[0, rows, cols], colors, atol=1 / 255)
    else:  # Filament's display transform (sRGB encoding, tone mapping) brightens but keeps the colors
        seen = out.rgb[0, rows, cols].flatten()
        assert torch.corrcoef(torch.stack([seen, colors.flatten()]))[0, 1] > 0.8  # 0.88 measured; swapped: ~0


def test_unlit_only_backends_declare_it_and_refuse_lit_shading():
    from render3d.backends import Request
    from render3d.errors import BackendUnavailable

    request = Request.for_render(Task.RENDER_MESHES, RenderSettings(shading="phong"), {"rgb"})
    for name in backend_names():
        caps = backend_info(name).capabilities
        if "phong" not in caps.shadings:
            assert "does not draw phong shading" in caps.missing(request)
            if unavailable_reason(name) is None and name not in SLOW:
                meshes, cams = _scene()
                with pytest.raises(BackendUnavailable, match="unlit only"):
                    get_backend(name).render_meshes(meshes, cams, LIGHTS, None, RenderSettings(shading="phong"))
    assert backend_info("torch").capabilities.missing(request) is None


@pytest.mark.gpu
def test_cuda_mesh_renderers_match_reference():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    meshes, cams = _scene()
    settings = RenderSettings(shading="phong")
    ref = REF.render_meshes(meshes, cams, LIGHTS, None, settings)
    for name in backend_names():
        caps = backend_info(name).capabilities
        if Task.RENDER_MESHES not in caps.tasks or "cuda" not in caps.devices or unavailable_reason(name):
            continue
        out = get_backend(name).render_meshes(meshes.to("cuda"), cams.to("cuda"), LIGHTS.to("cuda"), None, settings)
        assert _frac((out.alpha.cpu() > 0.5) == (ref.alpha > 0.5)) >= 0.999, name
        inner = _interior(ref.alpha > 0)
        assert _frac((out.rgb.cpu() - ref.rgb).abs().amax(-1)[inner] < 1e-3) >= 0.999, name
