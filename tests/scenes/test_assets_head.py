"""The procedural head: seeded, controllable, face forward, texture painted where the face is."""

import pytest
import torch

from scenes.assets import HeadParams, build_asset
from scenes.assets.head_params import SHAPE_FIELDS

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"segments": 48, "rings": 40, "texture_size": 64}


def test_head_is_seeded() -> None:
    a, ta = build_asset(HeadParams(seed=3, **SMALL))
    b, tb = build_asset(HeadParams(seed=3, **SMALL))
    c, _ = build_asset(HeadParams(seed=4, **SMALL))
    assert torch.equal(a.verts, b.verts) and torch.equal(ta, tb)
    assert not torch.equal(a.verts, c.verts)


def test_head_mesh_is_valid_and_textured() -> None:
    mesh, tex = build_asset(HeadParams(seed=1, **SMALL))
    assert tex.shape == (64, 128, 3) and tex.min() >= 0 and tex.max() <= 1
    assert mesh.uvs is not None and mesh.normals is not None
    assert torch.isfinite(mesh.verts).all() and torch.isfinite(mesh.normals).all()
    m = mesh.to_meshes(texture=tex)
    assert m.has_texture and len(m) == 1
    lo, hi = mesh.verts.min(0).values, mesh.verts.max(0).values
    assert 0.9 < float(hi[1] - lo[1]) < 1.5  # about a head plus neck tall
    assert float(hi[0] - lo[0]) < float(hi[1] - lo[1])  # narrower than tall


def test_nose_points_toward_plus_z_and_grows_with_its_parameter() -> None:
    def tip_z(nose: float) -> float:
        mesh, _ = build_asset(HeadParams(seed=2, nose_length=nose, chin=0.0, lips=0.0, **SMALL))
        front = mesh.verts[mesh.verts[:, 0].abs() < 0.02]
        return float(front[:, 2].max())

    assert tip_z(1.0) > tip_z(0.0) + 0.04
    mesh, _ = build_asset(HeadParams(seed=2, **SMALL))
    assert float(mesh.verts[:, 2].max()) > -float(mesh.verts[:, 2].min()) - 0.05  # the face is the +Z side


@pytest.mark.parametrize("field", ["width", "height", "depth"])
def test_proportions_scale_the_skull(field: str) -> None:
    axis = {"width": 0, "height": 1, "depth": 2}[field]

    def extent(v: float) -> float:
        mesh, _ = build_asset(HeadParams(seed=0, **{field: v}, **SMALL))
        return float(mesh.verts[:, axis].max() - mesh.verts[:, axis].min())

    assert extent(1.3) > extent(0.8) * 1.2


def test_colors_and_codes() -> None:
    p = HeadParams(seed=9, skin_color=(0.5, 0.4, 0.3), hair_color=(0.1, 0.1, 0.9))
    r = p.resolved()
    assert r.skin_color == (0.5, 0.4, 0.3) and all(getattr(r, f) is not None for f in SHAPE_FIELDS)
    assert len(p.shape_code()) == len(SHAPE_FIELDS) and len(p.appearance_code()) == 10
    _, tex = build_asset(p.model_copy(update={"texture_size": 64}))
    crown = tex[1, :].mean(0)  # the top row of the lat-long map is the crown: hair
    assert crown[2] > crown[0] + 0.3
    face = tex[32, 64]  # u = 0.5, v = 0.5: the middle of the face, between the eyes: skin
    assert torch.allclose(face, torch.tensor([0.5, 0.4, 0.3]), atol=0.08)
