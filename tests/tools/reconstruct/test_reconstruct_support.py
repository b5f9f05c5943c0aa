import numpy as np
import torch

from render3d.cameras import intrinsics_from_fov
from render3d.structures import Meshes
from tools.reconstruct.contacts import find_contacts, floor_points, ground_support
from tools.reconstruct.render import hard_mask, view_camera
from tools.reconstruct.settings import FitSettings, describe_priors
from tools.reconstruct.silhouette import silhouette_mesh
from tools.reconstruct.support import SupportLegs, support_legs, trace_legs
from tools.reconstruct.synthetic_hard import box, capsule, mesh_sdf, union

S = 128
FLOOR = -0.6


def _camera(elevation: float, azimuth: float):
    return view_camera(intrinsics_from_fov(40, S, S), S, S, 2.6, elevation, azimuth)


def _intrinsics(cam) -> tuple[float, float, float, float]:
    K = cam.K[0]
    return float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])


def _project(cam, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image points `[n, 2]` and camera depths `[n]` of world points `[n, 3]`."""
    pc = cam.world_to_camera(torch.tensor(points, dtype=torch.float32)[None])[0].double()
    K = cam.K[0].double()
    return ((pc[:, :2] / pc[:, 2:]) * K.diagonal()[:2] + K[:2, 2]).numpy(), pc[:, 2].numpy()


def _legs(cam, elevation: float, feet: np.ndarray) -> SupportLegs:
    """The support of feet `[n, 3]` on the floor with its true scale: camera-frame units per camera height."""
    uv, _ = _project(cam, feet)
    height = 2.6 * np.sin(np.deg2rad(elevation)) - FLOOR
    return SupportLegs(np.zeros((1, 1), int), uv, floor_points(uv, *_intrinsics(cam), elevation), height, elevation)


def test_leg_points_get_their_true_depth_whether_the_legs_stand_upright_or_lean_to_the_centre(monkeypatch):
    # Points along upright legs (a table's, above a rectangle's corners) and along legs leaning from a
    # tripod's feet to a point above its centre, seen from several cameras: each comes back at its depth,
    # except a leaning leg whose plane the rays run along (then it is taken upright: not checked).
    rectangle = np.array([[x, FLOOR, z] for x in (-0.4, 0.4) for z in (-0.25, 0.25)])
    angles = np.deg2rad([10.0, 130.0, 250.0])
    tripod = np.stack([0.35 * np.cos(angles), np.full(3, FLOOR), 0.35 * np.sin(angles)], 1)
    apex = np.array([0.0, 0.0, 0.0])
    checked = {False: 0, True: 0}
    for elevation, azimuth in ((15.0, 30.0), (25.0, -20.0), (40.0, 75.0)):
        cam = _camera(elevation, azimuth)
        eye = cam.camera_to_world(torch.zeros(1, 1, 3))[0, 0].numpy()
        for feet, lean in ((rectangle, False), (tripod, True)):
            legs = _legs(cam, elevation, feet)
            for k, foot in enumerate(feet):
                top = apex if lean else foot + np.array([0.0, 0.5, 0.0])
                track, along = (foot - eye)[[0, 2]], (apex - foot)[[0, 2]]
                sine = abs(track[0] * along[1] - track[1] * along[0]) / np.linalg.norm(track) / np.linalg.norm(along)
                if lean and sine < 0.4:
                    continue
                pts = foot[None] + np.linspace(0.1, 0.9, 5)[:, None] * (top - foot)[None]
                uv, z = _project(cam, pts)
                got = legs.depth(uv, np.full(len(pts), k), *_intrinsics(cam))
                assert np.allclose(got, z, rtol=0.01), (elevation, azimuth, lean, k, got, z)
                checked[lean] += 1
                if lean:
                    # Taken upright instead, a leaning leg's points would be off: the test can fail.
                    monkeypatch.setattr("tools.reconstruct.support.LEAN_CONDITION", 2.0)
                    assert not np.allclose(legs.depth(uv, np.full(len(pts), k), *_intrinsics(cam)), z, rtol=0.01)
                    monkeypatch.setattr("tools.reconstruct.support.LEAN_CONDITION", 0.25)
    assert checked[False] == 12 and checked[True] >= 5, checked


def _table() -> tuple[Meshes, np.ndarray]:
    legs = [capsule((x, FLOOR, z), (x, 0.0, z), 0.045) for x in (-0.4, 0.4) for z in (-0.25, 0.25)]
    v, f = mesh_sdf(union(box((0.0, 0.04, 0.0), (0.5, 0.04, 0.33), 0.02), *legs, k=0.02))
    tops = np.array([[x, 0.0, z] for x in (-0.4, 0.4) for z in (-0.25, 0.25)])
    return Meshes([v], [f]), tops


def test_a_rendered_tables_legs_are_traced_up_to_where_the_top_hides_them():
    mesh, tops = _table()
    cam = _camera(25.0, 25.0)
    mask = hard_mask(mesh, cam)[0].numpy() > 0.5
    support = ground_support(find_contacts(mask), *_intrinsics(cam))
    assert support is not None and len(support.feet) == 4
    legs, ends = trace_legs(mask, support.feet)
    for k in range(4):
        assert (legs == k).sum() > 20 and mask[legs == k].all()
    uv, _ = _project(cam, tops)
    # The two front legs show up to the top's underside; the back legs' upper ends are hidden behind the top,
    # so theirs are lower in the image (larger rows) than their true tops, never higher.
    for end in ends:
        nearest = uv[np.argmin(np.abs(uv[:, 0] - end[0]))]
        assert end[1] >= nearest[1] - 3.0, (end, nearest)
    front = sorted(ends[:, 1])[-2:]
    assert min(abs(r - uv[:, 1]).min() for r in front) < 4.0


def test_the_legs_prior_moves_only_a_supported_mask_and_is_named():
    mesh, _ = _table()
    cam = _camera(25.0, 25.0)
    mask = hard_mask(mesh, cam)[0]
    off = silhouette_mesh(mask, cam, contacts=True, legs=False)
    on = silhouette_mesh(mask, cam, contacts=True, legs=True)
    assert off.legs is None and on.legs is not None and on.support is not None
    assert not torch.allclose(off.template.verts, on.template.verts)
    # The leg pixels' chords now lie on their legs: nearer the true surface than the contact prior alone put them.
    fx, fy, cx, cy = _intrinsics(cam)
    legs = support_legs(mask.numpy() > 0.5, on.support, fx, fy, cx, cy, 2.6)
    assert legs.legs.max() == 3
    blob = silhouette_mesh(torch.from_numpy(np.pad(np.ones((40, 40)), 44)).float(), cam, contacts=True, legs=True)
    assert blob.legs is None and blob.support is None
    named = describe_priors(FitSettings(template="silhouette"), support=on.support)
    assert "rigid legs" in named
    assert "rigid legs" not in describe_priors(FitSettings(template="silhouette", legs=False), support=on.support)
    assert "rigid legs" not in describe_priors(FitSettings(template="silhouette"), support=None)
