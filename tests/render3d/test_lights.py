import math

import pytest
import torch

from render3d.errors import ShapeError
from render3d.lights import AmbientLight, DirectionalLight, Lights, PointLight, SHLight
from render3d.shading.sh import sh_basis, sh_irradiance


def _unit(*v: float) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.tensor(v, dtype=torch.float32), dim=0)


def test_ambient_per_image_colors():
    light = AmbientLight(torch.tensor([[0.1, 0.2, 0.3], [1.0, 1.0, 1.0]]))
    out = light.ambient(torch.zeros(2, 4, 5, 3))
    assert out[0, 3, 4].tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert out[1, 0, 0].tolist() == [1.0, 1.0, 1.0]
    assert light.diffuse(torch.zeros(2, 1, 3), torch.zeros(2, 1, 3)).abs().sum() == 0
    with pytest.raises(ShapeError, match="2 entries for a batch of 3"):
        light.ambient(torch.zeros(3, 1, 3))


def test_directional_diffuse_is_clamped_cosine():
    light = DirectionalLight((0.0, 0.0, -2.0), color=(1.0, 0.5, 0.25))  # travels -Z: lights +Z faces
    normals = torch.stack([_unit(0, 0, 1), _unit(1, 0, 1), _unit(1, 0, 0), _unit(0, 0, -1)])[None]
    d = light.diffuse(torch.zeros_like(normals), normals)[0, :, 0]
    assert d.tolist() == pytest.approx([1.0, math.sqrt(0.5), 0.0, 0.0], abs=1e-6)
    to_light, radiance = light.incident(torch.zeros(1, 1, 3))
    assert to_light[0, 0].tolist() == pytest.approx([0, 0, 1])
    assert radiance[0, 0].tolist() == [1.0, 0.5, 0.25]


def test_point_light_direction_and_attenuation():
    light = PointLight((0.0, 3.0, 0.0), color=2.0, attenuation=(1.0, 0.0, 1.0))
    pts = torch.tensor([[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]])
    n = torch.tensor([[[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]])
    d = light.diffuse(pts, n)[0, :, 0]
    assert d.tolist() == pytest.approx([2 / (1 + 4), 2 / (1 + 9)])
    with pytest.raises(ShapeError, match="attenuation"):
        PointLight((0.0, 0, 0), attenuation=(0.0, 0.0, 0.0))


def test_blinn_phong_specular():
    light = DirectionalLight((0.0, 0.0, -1.0))
    n = torch.tensor([[[0.0, 0.0, 1.0]]])
    p = torch.zeros(1, 1, 3)
    s = torch.tensor(10.0)
    # Viewer along the normal: h = n → full highlight.
    assert light.specular(p, n, n, s)[0, 0].tolist() == pytest.approx([1.0, 1.0, 1.0])
    # Viewer at 60° from the light: h at 30° from n → cos(30°)^10.
    v = _unit(math.sin(math.pi / 3), 0, math.cos(math.pi / 3)).view(1, 1, 3)
    assert float(light.specular(p, n, v, s)[0, 0, 0]) == pytest.approx(math.cos(math.pi / 6) ** 10, rel=1e-5)
    # Light behind the surface: nothing, even when h faces the normal.
    back = DirectionalLight((0.0, 0.0, 1.0))
    assert back.specular(p, n, -n + torch.tensor([0.0, 0.0, 2.0]), s).abs().sum() == 0


def test_lights_container_sums_members():
    lights = Lights(AmbientLight(0.2), DirectionalLight((0.0, -1.0, 0.0), 0.5), DirectionalLight((-1.0, 0, 0), 0.3))
    p, n = torch.zeros(1, 1, 3), torch.tensor([[[0.0, 1.0, 0.0]]])
    terms = lights(p, n, n, torch.tensor(4.0))
    assert terms.ambient[0, 0].tolist() == pytest.approx([0.2] * 3)
    assert terms.diffuse[0, 0].tolist() == pytest.approx([0.5] * 3)
    assert lights.to(torch.float64).members[1].color.dtype == torch.float64


def _rh_irradiance(n: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Ramamoorthi–Hanrahan eq. 13, written out with their constants."""
    c1, c2, c3, c4, c5 = 0.429043, 0.511664, 0.743125, 0.886227, 0.247708
    x, y, z = n.unbind(-1)
    L00, L1m1, L10, L11, L2m2, L2m1, L20, L21, L22 = L.unbind(0)
    return (c1 * L22 * (x * x - y * y) + c3 * L20 * z * z + c4 * L00 - c5 * L20
            + 2 * c1 * (L2m2 * x * y + L21 * x * z + L2m1 * y * z) + 2 * c2 * (L11 * x + L1m1 * y + L10 * z))


def test_sh_irradiance_matches_rh_formula_and_quadrature():
    g = torch.Generator().manual_seed(0)
    L = torch.randn(9, generator=g, dtype=torch.float64)
    normals = torch.nn.functional.normalize(torch.randn(1, 6, 3, generator=g, dtype=torch.float64), dim=-1)
    ours = sh_irradiance(normals, L.view(1, 9, 1))[..., 0]
    torch.testing.assert_close(ours, _rh_irradiance(normals, L), rtol=1e-5, atol=1e-5)
    # E(n) = ∫ L(ω) max(0, n·ω) dω, exact for an environment band-limited to l ≤ 2.
    nt, npp = 200, 400
    theta = (torch.arange(nt, dtype=torch.float64) + 0.5) * math.pi / nt
    phi = (torch.arange(npp, dtype=torch.float64) + 0.5) * 2 * math.pi / npp
    th, ph = torch.meshgrid(theta, phi, indexing="ij")
    w = torch.stack([th.sin() * ph.cos(), th.sin() * ph.sin(), th.cos()], -1).reshape(-1, 3)
    dw = (th.sin() * (math.pi / nt) * (2 * math.pi / npp)).reshape(-1)
    radiance = sh_basis(w) @ L
    cos = (normals[0] @ w.T).clamp(min=0)
    quad = (cos * (radiance * dw)).sum(-1)
    torch.testing.assert_close(ours[0], quad, rtol=1e-3, atol=1e-3)


def test_sh_dc_only_gives_uniform_irradiance():
    coeffs = torch.zeros(1, 9, 3)
    coeffs[0, 0] = torch.tensor([0.5, 1.0, 2.0])
    normals = torch.nn.functional.normalize(torch.randn(1, 50, 3), dim=-1)
    d = SHLight(coeffs).diffuse(torch.zeros_like(normals), normals)
    expected = torch.tensor([0.5, 1.0, 2.0]) * 0.886227 / math.pi
    torch.testing.assert_close(d, expected.expand_as(d), rtol=1e-5, atol=1e-6)
    assert SHLight(coeffs).specular(normals, normals, normals, torch.tensor(2.0)).abs().sum() == 0


def test_sh_gradcheck():
    g = torch.Generator().manual_seed(1)
    coeffs = torch.randn(2, 9, 3, generator=g, dtype=torch.float64, requires_grad=True)
    normals = torch.randn(2, 3, 4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda n, c: sh_irradiance(torch.nn.functional.normalize(n, dim=-1), c),
                                    (normals, coeffs))


def test_sh_light_rejects_bad_shape():
    with pytest.raises(ShapeError, match="9, 3"):
        SHLight(torch.zeros(1, 4, 3))
