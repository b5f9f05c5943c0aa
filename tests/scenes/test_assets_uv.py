"""UVs of every procedural asset: present, in range, orientation-preserving (no seam smear, no
mirrored caps), and a checker texture on the spheres matches the analytic latitude-longitude map."""

import math

import pytest
import torch

from scenes.assets import (
    AssetParams,
    BoxParams,
    CapsuleParams,
    CheckerParams,
    ConeParams,
    CylinderParams,
    GradientParams,
    HeadParams,
    IcosphereParams,
    NoiseParams,
    PlaneParams,
    SphereParams,
    SuperquadricParams,
    TorusParams,
    build_asset,
)
from scenes.assets.geometry import signed_volume
from scenes.build import build_scene
from scenes.render import render
from scenes.scene import Scene
from scenes.schema import MaterialSpec, RenderFlags

pytestmark = pytest.mark.usefixtures("one_thread")


ASSETS = [SphereParams(), *[IcosphereParams(subdivisions=s) for s in range(5)], BoxParams(size=(0.3, 1, 2)),
          CylinderParams(), ConeParams(), TorusParams(), CapsuleParams(), PlaneParams(subdivisions=3),
          *[SuperquadricParams(seed=s) for s in range(4)],
          SuperquadricParams(seed=0, epsilon1=0.05, epsilon2=0.05), SuperquadricParams(seed=0, epsilon1=2, epsilon2=2),
          HeadParams(seed=2, segments=48, rings=32, texture_size=32)]


def _ids(p) -> str:
    return f"{p.type}-{getattr(p, 'subdivisions', getattr(p, 'seed', ''))}"


@pytest.mark.parametrize("params", ASSETS, ids=[_ids(p) for p in ASSETS])
def test_every_asset_has_uvs_in_range_that_keep_the_surface_orientation(params) -> None:
    mesh, _ = build_asset(params)
    assert mesh.uvs is not None and mesh.uvs.shape == (mesh.verts.shape[0], 2)
    assert mesh.uvs.min() >= 0 and mesh.uvs.max() <= 1
    uv = mesh.uvs[mesh.faces].double()
    e1, e2 = uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]
    uv_area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    # Faces are wound counter-clockwise seen from outside, so an orientation-preserving map gives
    # every face a positive UV area. A face stretched across a seam (corners at u = 0.98 and 0.02)
    # or a mirrored cap comes out negative.
    assert (uv_area > 0).all(), f"{int((uv_area <= 0).sum())} faces flip or collapse in UV space"
    assert float((uv[..., 0].amax(1) - uv[..., 0].amin(1)).max()) <= 0.5 or params.type in ("box", "plane",
                                                                                           "cylinder", "cone")


def test_icosphere_seam_cut_keeps_the_surface() -> None:
    for s in range(5):
        mesh, _ = build_asset(IcosphereParams(radius=0.5, subdivisions=s))
        # The cut adds points on existing edges only: same enclosed volume as the uncut polyhedron
        # (its 20·4^s faces), unit normals, and every vertex at most on the sphere.
        assert mesh.faces.shape[0] > 20 * 4**s
        r = mesh.verts.norm(dim=-1)
        assert float(r.max()) == pytest.approx(0.5, abs=1e-6) and float(r.min()) > 0.5 * math.cos(1.2 / 2**s)
        assert torch.allclose(mesh.normals.norm(dim=-1), torch.ones(len(mesh.normals)))
    ref = IcosphereParams(radius=0.5, subdivisions=3)
    import trimesh

    ico = trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    assert signed_volume(build_asset(ref)[0]) == pytest.approx(float(ico.volume), rel=1e-5)


SHAPES = [SphereParams(), IcosphereParams(subdivisions=0), IcosphereParams(), BoxParams(), CylinderParams(),
          ConeParams(), TorusParams(), CapsuleParams(), PlaneParams(), SuperquadricParams(seed=1)]
TEXTURES = [CheckerParams(), NoiseParams(seed=1), GradientParams(direction="radial")]


@pytest.mark.parametrize("shape", SHAPES, ids=[_ids(p) for p in SHAPES])
def test_any_procedural_texture_goes_on_any_primitive(shape: AssetParams) -> None:
    for tex in TEXTURES:
        spec = Scene().add_asset(shape, material=MaterialSpec(procedural_texture=tex, texture_size=16)).spec()
        obj = build_scene(spec).objects[0]
        assert obj.geometry.has_texture and obj.geometry.textures_list()[0].shape == (16, 16, 3)


def _sphere_points(result, radius: float, dx: float = 0.0, dy: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Ray-cast the analytic sphere through every pixel center shifted by (dx, dy): (hit, point)."""
    cams = result.cameras
    K, R, t = cams.K[0].double(), cams.R[0].double(), cams.t[0].double()
    h, w = result.rgb.shape[1:3]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64) + 0.5 + dy,
                            torch.arange(w, dtype=torch.float64) + 0.5 + dx, indexing="ij")
    rays = torch.stack([xs, ys, torch.ones_like(xs)], -1) @ torch.linalg.inv(K).T @ R  # world directions
    rays = rays / rays.norm(dim=-1, keepdim=True)
    origin = -R.T @ t
    b = rays @ origin
    disc = b**2 - (origin @ origin - radius**2)
    return disc > 0, origin + (-b - disc.clamp(min=0).sqrt())[..., None] * rays


def _analytic_checker(result, radius: float, squares: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per pixel: the checker parity the latitude-longitude map gives the sphere there (-1 off the
    sphere), and whether the parity is the same over the pixel's ±1 px neighborhood."""
    parities = []
    for dx in (-1.0, 0.0, 1.0):
        for dy in (-1.0, 0.0, 1.0):
            hit, p = _sphere_points(result, radius, dx, dy)
            u = torch.remainder(torch.atan2(p[..., 0], p[..., 2]) / (2 * math.pi), 1.0)
            v = torch.arccos((-p[..., 1] / radius).clamp(-1, 1)) / math.pi
            parity = ((u * squares).floor() + ((1 - v) * squares).floor()).remainder(2)
            parities.append(torch.where(hit, parity, -1.0))
    stack = torch.stack(parities)
    return stack[4], (stack == stack[4]).all(0) & (stack[4] >= 0)


@pytest.mark.parametrize("shape", [SphereParams(radius=0.5, segments=128, rings=64),
                                   IcosphereParams(radius=0.5, subdivisions=3)], ids=["sphere", "icosphere"])
def test_checker_on_the_sphere_seam_matches_the_analytic_map(shape: AssetParams) -> None:
    a, b = (1.0, 0.1, 0.1), (0.1, 0.1, 1.0)
    # Odd square count: the u = 0|1 seam is not a checker edge, so pixels on it are compared too.
    material = MaterialSpec(procedural_texture=CheckerParams(squares=7, color_a=a, color_b=b), texture_size=224)
    scene = (Scene().add_asset(shape, material=material, flags=RenderFlags(shading="unlit"))
             .look_at((0.0, 0.6, 2.4), fov_deg=30).configure(width=96, height=96))
    result = render(scene)
    parity, stable = _analytic_checker(result, 0.5, 7)
    match = (result.rgb[0, ..., 0] > result.rgb[0, ..., 2]) == (parity == 0)
    hit, p = _sphere_points(result, 0.5)
    seam = stable & hit & (torch.atan2(p[..., 0], p[..., 2]).abs() < 0.08)  # front half, near u = 0|1
    assert stable.sum() > 3000 and seam.sum() > 40
    assert float(match[stable].float().mean()) > 0.99
    assert bool(match[seam].all()), f"texture smeared along the UV seam at {int((~match[seam]).sum())} pixels"
