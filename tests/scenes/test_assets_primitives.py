"""Procedural primitives, superquadrics and textures: closed, outward-wound, right size, seeded."""

import math

import pytest
import torch

from scenes.assets import (
    BoxParams,
    CapsuleParams,
    CheckerParams,
    ConeParams,
    CylinderParams,
    GradientParams,
    IcosphereParams,
    NoiseParams,
    PlaneParams,
    SphereParams,
    SuperquadricParams,
    TorusParams,
    build_asset,
    make_texture,
)
from scenes.assets.geometry import signed_volume

pytestmark = pytest.mark.usefixtures("one_thread")

VOLUMES = [
    (SphereParams(radius=0.5, segments=96, rings=48), 4 / 3 * math.pi * 0.125, 0.01),
    (IcosphereParams(radius=0.5, subdivisions=4), 4 / 3 * math.pi * 0.125, 0.01),
    (BoxParams(size=(1, 2, 3)), 6.0, 1e-6),
    (CylinderParams(radius=0.5, height=2.0, segments=128), math.pi * 0.25 * 2, 0.005),
    (ConeParams(radius=0.5, height=1.5, segments=128), math.pi * 0.25 * 1.5 / 3, 0.005),
    (TorusParams(major=0.6, minor=0.2, segments=128, sides=64), 2 * math.pi**2 * 0.6 * 0.04, 0.005),
    (CapsuleParams(radius=0.3, length=0.8, segments=128, rings=32), math.pi * 0.09 * 0.8 + 4 / 3 * math.pi * 0.027,
     0.005),
]


@pytest.mark.parametrize(("params", "volume", "rtol"), VOLUMES, ids=[p.type for p, _, _ in VOLUMES])
def test_closed_primitives_enclose_their_analytic_volume_with_outward_faces(params, volume, rtol) -> None:
    mesh, texture = build_asset(params)
    assert texture is None
    # Positive signed volume ⇔ counter-clockwise winding seen from outside.
    assert signed_volume(mesh) == pytest.approx(volume, rel=rtol)
    assert mesh.faces.min() >= 0 and mesh.faces.max() < mesh.verts.shape[0]


@pytest.mark.parametrize(("params", "volume", "rtol"), VOLUMES, ids=[p.type for p, _, _ in VOLUMES])
def test_given_normals_point_outward_and_uvs_are_in_range(params, volume, rtol) -> None:
    mesh, _ = build_asset(params)
    fv = mesh.verts[mesh.faces]
    face_n = torch.linalg.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=-1)
    if mesh.normals is not None:
        agree = (mesh.normals[mesh.faces].mean(1) * face_n).sum(-1) > 0
        assert agree.float().mean() > 0.99
    if mesh.uvs is not None:
        assert mesh.uvs.min() >= 0 and mesh.uvs.max() <= 1


def test_plane_faces_up_and_has_the_requested_size() -> None:
    mesh, _ = build_asset(PlaneParams(size=(2.0, 4.0), subdivisions=3))
    fv = mesh.verts[mesh.faces]
    n = torch.linalg.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=-1)
    assert (n[:, 1] > 0).all() and n[:, 1].sum() / 2 == pytest.approx(8.0)
    assert mesh.faces.shape[0] == 2 * 9


def test_superquadric_is_seeded_and_pins_fields() -> None:
    a, _ = build_asset(SuperquadricParams(seed=4))
    b, _ = build_asset(SuperquadricParams(seed=4))
    c, _ = build_asset(SuperquadricParams(seed=5))
    assert torch.equal(a.verts, b.verts) and not torch.equal(a.verts, c.verts)
    p = SuperquadricParams(seed=4, epsilon1=1.0, epsilon2=1.0, scale=(0.5, 0.5, 0.5), segments=128, rings=64)
    sq, _ = build_asset(p)
    assert signed_volume(sq) == pytest.approx(4 / 3 * math.pi * 0.125, rel=0.01)  # ε = 1 is an ellipsoid
    cube, _ = build_asset(p.model_copy(update={"epsilon1": 0.05, "epsilon2": 0.05}))
    assert signed_volume(cube) == pytest.approx(1.0, rel=0.05)
    pinned = SuperquadricParams(seed=4, epsilon1=0.7).resolved()
    assert pinned.epsilon1 == 0.7 and pinned.epsilon2 == SuperquadricParams(seed=4).resolved().epsilon2


def test_textures() -> None:
    chk = make_texture(CheckerParams(squares=2, color_a=(1, 0, 0), color_b=(0, 0, 1)), 8)
    assert chk[0, 0].tolist() == [1.0, 0.0, 0.0] and chk[0, 7].tolist() == [0.0, 0.0, 1.0]
    assert chk[7, 7].tolist() == [1.0, 0.0, 0.0]
    grad = make_texture(GradientParams(direction="v", color_a=(0, 0, 0), color_b=(1, 1, 1)), 16)
    assert grad[0, 0, 0] > 0.9 and grad[-1, 0, 0] < 0.1  # v grows upward, row 0 is the top
    n1 = make_texture(NoiseParams(seed=3), 32)
    assert torch.equal(n1, make_texture(NoiseParams(seed=3), 32))
    assert not torch.equal(n1, make_texture(NoiseParams(seed=4), 32))
    assert n1.min() >= 0 and n1.max() <= 1 and n1.std() > 0.01
