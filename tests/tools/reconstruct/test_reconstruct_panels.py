import dataclasses

import numpy as np
import torch

from render3d.cameras import intrinsics_from_fov
from render3d.structures import Meshes
from tools.reconstruct.contacts import find_contacts, floor_points, ground_support
from tools.reconstruct.panels import MAX_CHORD, UprightPanel, find_panel
from tools.reconstruct.render import hard_mask, view_camera
from tools.reconstruct.settings import FitSettings, describe_priors
from tools.reconstruct.silhouette import silhouette_mesh
from tools.reconstruct.support import SupportLegs, support_legs
from tools.reconstruct.synthetic_hard import box, capsule, mesh_sdf, union

S = 128
FLOOR = -0.55
BACK = -0.3  # the backrest's mid-plane, world z


def _camera(elevation: float, azimuth: float):
    return view_camera(intrinsics_from_fov(40, S, S), S, S, 2.6, elevation, azimuth)


def _intrinsics(cam) -> tuple[float, float, float, float]:
    K = cam.K[0]
    return float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])


def _chair(backrest: bool = True) -> Meshes:
    legs = [capsule((x, FLOOR, z), (x, -0.05, z), 0.04) for x in (-0.28, 0.28) for z in (-0.28, 0.28)]
    parts = [box((0.0, -0.05, 0.0), (0.33, 0.04, 0.33), 0.02), *legs]
    if backrest:
        parts.append(box((0.0, 0.3, BACK), (0.33, 0.33, 0.035), 0.02))
    v, f = mesh_sdf(union(*parts, k=0.02))
    return Meshes([v], [f])


def _found(mesh: Meshes, cam):
    mask = hard_mask(mesh, cam)[0].numpy() > 0.5
    fx, fy, cx, cy = _intrinsics(cam)
    support = ground_support(find_contacts(mask), fx, fy, cx, cy)
    assert support is not None and support.kind == "rectangle"
    legs = support_legs(mask, support, fx, fy, cx, cy, 2.6)
    feet = np.array([[c.u, c.v] for c in support.feet])
    return mask, legs, find_panel(mask, legs, fx, fy, cx, cy), feet


def test_a_chairs_backrest_is_found_on_the_far_side_and_its_pixels_land_on_its_plane():
    # Seen from the front at three cameras, the backrest is the panel, on the side of the two far feet,
    # as thick as the legs (0.08) and rising its height (0.66) above the seat, in camera heights; with
    # the support's true scale, its pixels' chords are centred on the backrest's mid-plane.
    mesh = _chair()
    for elevation, azimuth in ((20.0, 30.0), (25.0, -25.0), (15.0, 35.0)):
        cam = _camera(elevation, azimuth)
        mask, legs, panel, feet = _found(mesh, cam)
        assert panel is not None, (elevation, azimuth)
        height = 2.6 * np.sin(np.deg2rad(elevation)) - (FLOOR - 0.04)  # the legs' round ends touch the floor
        eye = cam.camera_to_world(torch.zeros(1, 1, 3))[0, 0].numpy()
        # The far side: its two feet are the ones farthest from the camera.
        world_feet = np.array([[x, z] for x in (-0.28, 0.28) for z in (-0.28, 0.28)])
        far = set(np.argsort(-np.linalg.norm(world_feet - eye[[0, 2]], axis=1))[:2].tolist())
        fx, fy, cx, cy = _intrinsics(cam)
        seen = _project(cam, np.stack([world_feet[:, 0], np.full(4, FLOOR - 0.04), world_feet[:, 1]], 1))
        sides = {int(np.argmin(np.linalg.norm(seen - feet[k], axis=1))) for k in panel.sides}
        assert sides == far, (elevation, azimuth, sides, far)
        assert abs(panel.thickness * height - 0.08) < 0.025, panel.thickness * height
        assert abs(panel.rise * height - 0.66) < 0.12, panel.rise * height
        assert panel.region.sum() > 0.3 * mask.sum()
        true = dataclasses.replace(legs, scale=height)
        rows, cols = np.nonzero(panel.region)
        pix = np.stack([cols + 0.5, rows + 0.5], 1)
        z, half = panel.chords(pix, true, fx, fy, cx, cy)
        # Where each ray meets the plane z = BACK in the world, in camera depth.
        R = cam.R[0].double().numpy()
        rays_cam = np.stack([(pix[:, 0] - cx) / fx, (pix[:, 1] - cy) / fy, np.ones(len(pix))], 1)
        rays_world = rays_cam @ R  # R maps world to camera: its rows are the camera axes
        depth = (BACK - eye[2]) / rays_world[:, 2]
        # Placed within the footprint's errors (its elevation, the feet's positions) and turned
        # as the backrest is: up to that offset, the depths follow the plane's far closer than its own
        # spread of depths (the inflation's centre plane faces the camera: its error is that spread).
        offset = np.median(z - depth)
        turn = np.median(np.abs(z - depth - offset))
        assert abs(offset) / 2.6 < 0.04, (elevation, azimuth, offset)
        assert turn < 0.25 * np.median(np.abs(depth - np.median(depth))), (elevation, azimuth, turn)
        assert np.all(half > 0) and np.median(half) < 0.1


def test_panel_chords_are_centred_on_the_upright_plane_through_two_legs_axes_and_a_slab_thick():
    # Exact projections of points on the upright plane over two floor points moved half a leg's width (the
    # slab's thickness) away from the camera: the chords' centres are their depths, and each chord spans the
    # slab's thickness along the plane's normal (rays not grazing it).
    for elevation, azimuth in ((15.0, 30.0), (30.0, -40.0), (45.0, 10.0)):
        cam = _camera(elevation, azimuth)
        height = 2.6 * np.sin(np.deg2rad(elevation)) - FLOOR
        a, b = np.array([-0.3, FLOOR, -0.25]), np.array([0.35, FLOOR, -0.3])
        fx, fy, cx, cy = _intrinsics(cam)
        feet = _project(cam, np.stack([a, b]))
        legs = SupportLegs(np.full((S, S), -1), feet, floor_points(feet, fx, fy, cx, cy, elevation), height, elevation)
        panel = UprightPanel(np.zeros((S, S), bool), (0, 1), 0.05, 0.5)
        eye = cam.camera_to_world(torch.zeros(1, 1, 3))[0, 0].double().numpy()
        g = (b - a) / np.linalg.norm(b - a)
        normal = np.array([-g[2], 0.0, g[0]])
        away = normal if normal @ (0.5 * (a + b) - eye) > 0 else -normal
        s, up = np.meshgrid(np.linspace(0.0, 1.0, 6), np.linspace(0.05, 0.7, 5))
        pts = a[None] + s.reshape(-1, 1) * (b - a)[None] + np.array([0.0, 1.0, 0.0]) * up.reshape(-1, 1)
        pts = pts + 0.5 * 0.05 * height * away
        uv = _project(cam, pts)
        z, half = panel.chords(uv, legs, fx, fy, cx, cy)
        true = cam.world_to_camera(torch.tensor(pts, dtype=torch.float32)[None])[0, :, 2].double().numpy()
        assert np.allclose(z, true, rtol=1e-4), (elevation, azimuth)
        rays = pts - eye
        cosine = np.abs(rays @ normal) / np.linalg.norm(rays, axis=1)
        # Half the chord along the ray, in camera depth, covers half the slab's thickness along the normal.
        along_ray = half * np.linalg.norm(rays, axis=1) / true
        ok = cosine > 1.0 / MAX_CHORD
        assert ok.sum() > 10
        assert np.allclose((along_ray * cosine)[ok], 0.5 * 0.05 * height, rtol=1e-4), (elevation, azimuth)


def _project(cam, points: np.ndarray) -> np.ndarray:
    pc = cam.world_to_camera(torch.tensor(points, dtype=torch.float32)[None])[0].double()
    K = cam.K[0].double()
    return ((pc[:, :2] / pc[:, 2:]) * K.diagonal()[:2] + K[:2, 2]).numpy()


def test_a_table_or_a_backless_seat_has_no_panel():
    # Their tops rise nowhere above the legs' ends by more than a stock's thickness: no panel.
    _, _, panel, _ = _found(_chair(backrest=False), _camera(20.0, 30.0))
    assert panel is None
    legs = [capsule((x, FLOOR, z), (x, 0.0, z), 0.045) for x in (-0.4, 0.4) for z in (-0.25, 0.25)]
    v, f = mesh_sdf(union(box((0.0, 0.04, 0.0), (0.5, 0.04, 0.33), 0.02), *legs, k=0.02))
    _, _, panel, _ = _found(Meshes([v], [f]), _camera(30.0, 25.0))
    assert panel is None


def test_the_panel_prior_thins_the_backrest_only_when_on_and_is_named():
    cam = _camera(20.0, 30.0)
    mask = hard_mask(_chair(), cam)[0]
    off = silhouette_mesh(mask, cam, contacts=True, legs=True, panels=False)
    on = silhouette_mesh(mask, cam, contacts=True, legs=True, panels=True)
    assert off.panel is None and on.panel is not None
    # The backrest's two sheets: as deep apart as it is wide with the prior off, a slab's thickness with it on.
    region = torch.from_numpy(on.panel.region)

    def depth_gap(sm) -> float:
        cam_pts = cam.world_to_camera(sm.template.verts[None])[0]
        K = cam.K[0]
        uv = (cam_pts[:, :2] / cam_pts[:, 2:]) * K.diagonal()[:2] + K[:2, 2]
        px = uv.long().clamp(0, S - 1)
        inside = region[px[:, 1], px[:, 0]] & sm.front
        gap = (cam_pts[sm.partner, 2] - cam_pts[:, 2])[inside]
        return float(gap.median())

    assert depth_gap(off) > 0.2
    assert depth_gap(on) < 0.12
    named = describe_priors(FitSettings(template="silhouette"), "silhouette", support=on.support, panel=on.panel)
    assert "upright panel" in named and "no upright panel" not in named
    assert "no upright panel" in describe_priors(FitSettings(template="silhouette"), "silhouette", support=on.support)
    assert "panel" not in describe_priors(FitSettings(template="silhouette", panels=False), "silhouette",
                                          support=on.support, panel=on.panel)
