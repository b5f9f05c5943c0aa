import numpy as np
import torch

from render3d.cameras import intrinsics_from_fov
from render3d.structures import Meshes
from tools.reconstruct.contacts import Contact, contact_depths, contact_offsets, find_contacts
from tools.reconstruct.render import hard_mask, view_camera
from tools.reconstruct.settings import FitSettings, describe_priors
from tools.reconstruct.synthetic_hard import box, capsule, mesh_sdf, union

S = 128


def _camera(elevation: float):
    return view_camera(intrinsics_from_fov(40, S, S), S, S, 2.6, elevation, 30.0)


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


def test_the_feet_of_a_rendered_table_are_found_and_the_front_one_is_nearer():
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


def test_the_report_names_the_contact_prior_only_where_it_applies():
    on = FitSettings(contacts=True, ground_elevation=25.0)
    assert "feet on a ground plane seen from 25°" in describe_priors(on, "silhouette")
    assert "ground" not in describe_priors(on, "sphere")
    assert "ground" not in describe_priors(FitSettings(), "silhouette")
