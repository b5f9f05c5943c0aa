import numpy as np
import torch

from render3d.cameras import intrinsics_from_fov
from render3d.structures import Meshes
from tools.reconstruct.contacts import find_contacts
from tools.reconstruct.pairs import find_pairs
from tools.reconstruct.render import hard_mask, view_camera
from tools.reconstruct.settings import FitSettings, describe_priors
from tools.reconstruct.silhouette import silhouette_mesh
from tools.reconstruct.synthetic_hard import capsule, ellipsoid, mesh_sdf, union

S = 128


def _camera(elevation: float, azimuth: float):
    return view_camera(intrinsics_from_fov(40, S, S), S, S, 2.6, elevation, azimuth)


def _mesh(*parts) -> Meshes:
    v, f = mesh_sdf(union(*parts, k=0.04))
    return Meshes([v], [f])


def _animal() -> Meshes:
    # A body 0.36 deep on two leg pairs 0.24 apart in depth (legs 0.1 thick).
    legs = [capsule((x, -0.05, z), (x, -0.55, z), 0.05) for x in (-0.3, 0.3) for z in (-0.12, 0.12)]
    return _mesh(ellipsoid((0.0, 0.0, 0.0), (0.45, 0.17, 0.18)), *legs)


def _mask(mesh: Meshes, elevation: float = 10.0, azimuth: float = 15.0) -> np.ndarray:
    return hard_mask(mesh, _camera(elevation, azimuth))[0].numpy() > 0.5


def test_two_legs_holding_up_a_body_are_found_and_a_persons_or_a_dumbbells_are_not():
    for elevation, azimuth in ((10.0, 15.0), (15.0, -25.0), (5.0, 0.0)):
        mask = _mask(_animal(), elevation, azimuth)
        pairs = find_pairs(mask, find_contacts(mask))
        assert pairs is not None, (elevation, azimuth)
        cols = np.nonzero(mask.any(0))[0]
        assert abs(pairs.ends[0, 0] - pairs.ends[1, 0]) > 0.4 * (cols[-1] - cols[0])
        assert ((pairs.legs == 0).sum() > 30) and ((pairs.legs == 1).sum() > 30)
    # Legs meeting at the hips (their upper ends close together) and two balls on a bar: no pairs.
    person = _mesh(ellipsoid((0.0, 0.15, 0.0), (0.17, 0.28, 0.12)),
                   *[capsule((x, -0.1, 0.0), (2.8 * x, -0.65, 0.0), 0.05) for x in (-0.07, 0.07)])
    dumbbell = _mesh(ellipsoid((-0.45, 0.0, 0.0), (0.2, 0.2, 0.2)), ellipsoid((0.45, 0.0, 0.0), (0.2, 0.2, 0.2)),
                     capsule((-0.45, 0.0, 0.0), (0.45, 0.0, 0.0), 0.05))
    for mesh in (person, dumbbell):
        mask = _mask(mesh)
        assert len(find_contacts(mask)) >= 2
        assert find_pairs(mask, find_contacts(mask)) is None


def test_the_pairs_prior_makes_the_legs_as_deep_as_the_body_only_when_on_and_is_named():
    cam = _camera(10.0, 15.0)
    mask = hard_mask(_animal(), cam)[0]
    off = silhouette_mesh(mask, cam, contacts=True, legs=True, pairs=False)
    on = silhouette_mesh(mask, cam, contacts=True, legs=True, pairs=True)
    assert off.support is None and off.pairs is None and on.pairs is not None
    legs = torch.from_numpy(on.pairs.legs >= 0)

    def depth_gap(sm, on_legs: bool = True) -> float:
        """The largest front-to-back chord (camera depth) over the legs' pixels (or the others')."""
        pts = cam.world_to_camera(sm.template.verts[None])[0]
        K = cam.K[0]
        uv = (pts[:, :2] / pts[:, 2:]) * K.diagonal()[:2] + K[:2, 2]
        px = uv.long().clamp(0, S - 1)
        inside = (legs[px[:, 1], px[:, 0]] == on_legs) & sm.front
        gap = (pts[sm.partner, 2] - pts[:, 2])[inside]
        return float(gap.max())

    # Off: a leg is a tube as deep as it is wide in the image (the merged pair about 0.2); on: about as deep as
    # the body is inflated (the truth: 0.34 over the pair, 0.36 the body), never deeper.
    assert depth_gap(off) < 0.25
    body = depth_gap(on, on_legs=False)
    assert depth_gap(on) > 1.5 * depth_gap(off)
    assert 0.85 * body < depth_gap(on) <= 1.02 * body
    # Only the legs' points moved.
    pts = cam.world_to_camera(off.template.verts[None])[0]
    uv = (pts[:, :2] / pts[:, 2:]) * cam.K[0].diagonal()[:2] + cam.K[0, :2, 2]
    px = uv.long().clamp(0, S - 1)
    moved = (on.template.verts - off.template.verts).norm(dim=1) > 1e-5
    assert moved.sum() > 20 and legs[px[moved, 1], px[moved, 0]].all()
    named = describe_priors(FitSettings(template="silhouette"), "silhouette", pairs=on.pairs)
    assert "legs as deep as the body" in named
    assert "legs as deep" not in describe_priors(FitSettings(template="silhouette", pairs=False), "silhouette",
                                                 pairs=on.pairs)
    assert "legs as deep" not in describe_priors(FitSettings(template="silhouette"), "silhouette")
