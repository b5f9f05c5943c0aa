import numpy as np
import torch

from render3d.cameras import intrinsics_from_fov
from render3d.structures import Meshes
from tools.reconstruct.contacts import (
    MAX_MISFIT,
    Contact,
    GroundSupport,
    contact_depths,
    contact_offsets,
    estimate_elevation,
    find_contacts,
    ground_support,
)
from tools.reconstruct.render import hard_mask, view_camera
from tools.reconstruct.settings import FitSettings, describe_priors
from tools.reconstruct.synthetic_hard import box, capsule, ellipsoid, mesh_sdf, union

S = 128


def _camera(elevation: float, azimuth: float = 30.0):
    return view_camera(intrinsics_from_fov(40, S, S), S, S, 2.6, elevation, azimuth)


def _project(cam, points: list[list[float]]) -> list[Contact]:
    pc = cam.world_to_camera(torch.tensor(points, dtype=torch.float32)[None])[0].double()
    K = cam.K[0].double()
    uv = (pc[:, :2] / pc[:, 2:]) * K.diagonal()[:2] + K[:2, 2]
    return [Contact(float(u), float(v), 1.0) for u, v in uv]


def _intrinsics(cam) -> tuple[float, float, float, float]:
    K = cam.K[0]
    return float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])


def test_the_elevation_is_the_one_at_which_projected_feet_are_a_rectangle_or_a_tripod():
    # A rectangle's four corners and an equilateral triangle's three on the floor y = -0.6, seen from
    # known elevations and azimuths: exact projections give the elevation back to 0.01°, projections
    # rounded to pixel centres (what the outline gives) to 3°.
    rectangle = [[x, -0.6, z] for x in (-0.4, 0.4) for z in (-0.25, 0.25)]
    tripod = [[0.35 * np.cos(a), -0.6, 0.35 * np.sin(a)] for a in np.deg2rad([10.0, 130.0, 250.0])]
    for elevation in (8.0, 15.0, 25.0, 40.0, 60.0):
        for azimuth, feet in ((30.0, rectangle), (-20.0, rectangle), (30.0, tripod), (75.0, tripod)):
            cam = _camera(elevation, azimuth)
            contacts = _project(cam, feet)
            e, misfit = estimate_elevation(contacts, *_intrinsics(cam))
            assert abs(e - elevation) < 0.01 and misfit < 1e-4, (elevation, azimuth, len(feet), e, misfit)
            pixels = [Contact(np.floor(c.u) + 0.5, np.floor(c.v) + 0.5, 1.0) for c in contacts]
            e, misfit = estimate_elevation(pixels, *_intrinsics(cam))
            assert abs(e - elevation) < 3.0 and misfit < MAX_MISFIT, (elevation, azimuth, len(feet), e, misfit)
            support = ground_support(pixels, *_intrinsics(cam))
            assert support is not None and support.source == "feet" and len(support.feet) == len(feet)


def test_feet_that_are_no_footprint_and_two_feet_are_no_support():
    cam = _camera(20.0)
    # Three points in a line across the floor are no tripod at any elevation.
    line = _project(cam, [[x, -0.6, 0.0] for x in (-0.4, 0.0, 0.4)])
    assert estimate_elevation(line, *_intrinsics(cam))[1] > MAX_MISFIT
    assert ground_support(line, *_intrinsics(cam)) is None
    assert ground_support(_project(cam, [[-0.4, -0.6, 0.0], [0.4, -0.6, 0.2]]), *_intrinsics(cam)) is None
    # Given the elevation, the footprint is checked there: a rectangle seen from 20° is none from 50°.
    rect = _project(cam, [[x, -0.6, z] for x in (-0.4, 0.4) for z in (-0.25, 0.25)])
    assert ground_support(rect, *_intrinsics(cam), elevation=20.0).source == "given"
    assert ground_support(rect, *_intrinsics(cam), elevation=50.0) is None


def test_contact_depths_are_where_the_rays_meet_the_ground_plane():
    # Four feet on the plane y = -0.6, photographed from a known camera: the prior, given the
    # elevation and the feet's mean depth, must give each foot's true camera-frame depth.
    for elevation in (10.0, 20.0, 35.0):
        cam = _camera(elevation)
        feet = torch.tensor([[x, -0.6, z] for x in (-0.3, 0.3) for z in (-0.3, 0.3)])
        pc = cam.world_to_camera(feet[None])[0].double()
        K = cam.K[0].double()
        uv = (pc[:, :2] / pc[:, 2:]) * K.diagonal()[:2] + K[:2, 2]
        contacts = [Contact(float(u), float(v), 1.0) for u, v in uv]
        z = contact_depths(contacts, float(K[1, 1]), float(K[1, 2]), elevation, float(pc[:, 2].mean()))
        assert np.abs(z - pc[:, 2].numpy()).max() < 1e-4
        # The nearest foot is the lowest in the image.
        assert int(np.argmin(z)) == int(torch.argmax(uv[:, 1]))


def test_no_depths_without_two_feet_below_the_horizon():
    assert contact_depths([Contact(5.0, 90.0, 1.0)], 100.0, 64.0, 20.0, 3.0) is None
    # Looking level, a foot above the principal row would be on or above the horizon.
    assert contact_depths([Contact(5.0, 90.0, 1.0), Contact(9.0, 60.0, 1.0)], 100.0, 64.0, 0.0, 3.0) is None


def test_the_feet_of_a_rendered_table_are_found_accepted_and_the_front_one_is_nearer():
    legs = [capsule((x, -0.55, z), (x, 0.05, z), 0.04) for x in (-0.4, 0.4) for z in (-0.25, 0.25)]
    v, f = mesh_sdf(union(box((0.0, 0.08, 0.0), (0.5, 0.04, 0.33), 0.02), *legs, k=0.02), n=64)
    cam = _camera(25.0)
    m = hard_mask(Meshes([v], [f]), cam)[0].numpy() > 0.5
    feet = find_contacts(m)
    assert len(feet) >= 2
    assert len(feet) == 4  # all four legs' ends, the back ones higher in the image
    K = cam.K[0]
    # The leg ends (y = -0.6 at the capsules' bottoms) each matched to the foot found nearest it.
    tips = torch.tensor([[x, -0.6, zz] for x in (-0.4, 0.4) for zz in (-0.25, 0.25)])
    pc = cam.world_to_camera(tips[None])[0]
    uv = (pc[:, :2] / pc[:, 2:]) * K.diagonal()[:2] + K[:2, 2]
    match = [int(((uv - torch.tensor([f.u, f.v])) ** 2).sum(1).argmin()) for f in feet]
    assert sorted(match) == [0, 1, 2, 3]
    # The four are accepted as a rectangle's footprint, and its shape gives the camera's elevation.
    support = ground_support(feet, *_intrinsics(cam))
    assert support is not None and support.kind == "rectangle" and len(support.feet) == 4 and not support.rejected
    assert abs(support.elevation - 25.0) < 2.0
    true = pc[match, 2].numpy()
    z = contact_depths(feet, float(K[1, 1]), float(K[1, 2]), 25.0, float(true.mean()))
    # Found from the outline alone (pixel rows), the depths follow the feet's true depths: front and back
    # differ by ~0.55 here, the error stays under a tenth of that.
    assert true.max() - true.min() > 0.4
    assert np.abs(z - true).max() < 0.06
    # The offset field moves the leg above the lowest foot nearest, above the highest foot farthest.
    off = contact_offsets(m, np.array([[f.u, f.v - 10] for f in feet]), feet, z, float(np.mean(z)))
    rows = np.array([f.v for f in feet])
    assert int(np.argmin(off)) == int(np.argmax(rows)) and int(np.argmax(off)) == int(np.argmin(rows))
    assert off.min() < -0.1 < 0.1 < off.max()


def test_a_hanging_hand_of_a_rendered_person_is_a_candidate_but_no_foot():
    # A person standing, one arm hanging down beside the body to below the hips: its hand is a
    # prominent low point of the outline's lower half, like a far foot, but with the two feet it is no
    # tripod at any elevation, and two feet are no support, so the prior leaves the person alone.
    arms = [capsule((-0.15, 0.3, 0.0), (-0.3, 0.0, 0.1), 0.045), capsule((-0.3, 0.0, 0.1), (-0.25, -0.25, 0.2), 0.04),
            capsule((0.15, 0.3, 0.0), (0.33, 0.1, -0.05), 0.045), capsule((0.33, 0.1, -0.05), (0.45, 0.3, -0.1), 0.04)]
    legs = [capsule((-0.07, -0.1, 0.0), (-0.1, -0.66, 0.05), 0.055),
            capsule((0.07, -0.1, 0.0), (0.16, -0.66, -0.1), 0.055)]
    person = union(ellipsoid((0.0, 0.12, 0.0), (0.16, 0.26, 0.1)), ellipsoid((0.0, 0.5, 0.02), (0.11, 0.12, 0.11)),
                   *arms, *legs, k=0.05)
    v, f = mesh_sdf(person, n=64)
    cam = _camera(10.0, 25.0)
    m = hard_mask(Meshes([v], [f]), cam)[0].numpy() > 0.5
    feet = find_contacts(m)
    hand = _project(cam, [[-0.25, -0.29, 0.2]])[0]
    assert len(feet) == 3 and min(abs(c.u - hand.u) + abs(c.v - hand.v) for c in feet) < 4.0
    assert estimate_elevation(feet, *_intrinsics(cam))[1] > MAX_MISFIT
    assert ground_support(feet, *_intrinsics(cam)) is None


def test_the_report_names_the_contact_prior_its_feet_and_elevation_only_where_it_applies():
    on = FitSettings(contacts=True)
    table = GroundSupport(tuple(Contact(float(u), float(v), 2.0) for u, v in ((40, 90), (80, 95), (50, 70), (90, 75))),
                          29.6, "feet", "rectangle", (Contact(20.0, 60.0, 2.0),))
    text = describe_priors(on, "silhouette", support=table)
    assert "4 feet (a rectangle, 1 candidate off the floor) on a floor seen from 29.6° (from the feet)" in text
    assert table.as_dict()["elevation_source"] == "feet" and len(table.as_dict()["feet"]) == 4
    assert "contact prior unused" in describe_priors(on, "silhouette")
    assert "floor" not in describe_priors(on, "sphere", support=table)
    assert "floor" not in describe_priors(FitSettings(contacts=False), "silhouette")
    assert FitSettings().contacts  # on by default: only outlines with a tripod's or rectangle's feet change
