import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from render3d.cameras import intrinsics_from_fov
from render3d.structures import Meshes
from tools.reconstruct.render import hard_mask, view_camera
from tools.reconstruct.rings import RingRelief, find_rings
from tools.reconstruct.silhouette import _bilinear, local_thickness, silhouette_mesh

S = 96


def _tube(a: float, b: float, upper: float, lower: float) -> np.ndarray:
    """A tube around an ellipse (semi-axes a across, b down), radius `upper` above its centre, `lower` below."""
    t = np.linspace(0, 2 * np.pi, 1200)
    spine = np.stack([48 + a * np.cos(t), 48 + b * np.sin(t)], 1)
    yy, xx = np.mgrid[:S, :S] + 0.5
    dist, idx = cKDTree(spine).query(np.stack([xx.ravel(), yy.ravel()], 1))
    radius = np.where(spine[idx, 1] < 48, upper, lower)
    return (dist < radius).reshape(S, S)


def _slant(ring) -> float:
    return float(np.degrees(np.arctan(ring.tan_slant)))


def test_an_elliptical_ring_is_a_circle_slanted_by_acos_of_its_aspect():
    ring, = find_rings(m := _tube(40, 20, 6, 6), local_thickness(m)[1])
    assert abs(_slant(ring) - 60) < 2 and abs(ring.a - 40) < 2 and abs(ring.b - 20) < 2
    assert abs(ring.major[0]) > 0.99  # the tilt axis is the ellipse's horizontal major axis
    # Equal halves: seen from above, the upper half (smaller v) is the far one.
    assert ring.minor[1] * ring.far_sign < 0
    ring, = find_rings(m := _tube(30, 21, 5, 5), local_thickness(m)[1])
    assert abs(_slant(ring) - np.degrees(np.arccos(21 / 30))) < 3


def test_perspective_decides_the_near_half_where_the_tube_looks_thicker():
    # The upper half looks thicker: it is the near one (a ring seen from below), whatever "from above" says.
    ring, = find_rings(m := _tube(40, 20, 7, 5.5), local_thickness(m)[1])
    assert ring.minor[1] * ring.far_sign > 0
    ring, = find_rings(m := _tube(40, 20, 5.5, 7), local_thickness(m)[1])
    assert ring.minor[1] * ring.far_sign < 0


def test_round_and_rectangular_holes_are_left_alone():
    yy, xx = np.mgrid[:S, :S] + 0.5
    r2 = (yy - 48) ** 2 + (xx - 48) ** 2
    round_ring = (r2 < 38**2) & (r2 > 15**2)  # a ring facing the camera: nothing to slant
    frame = np.zeros((S, S), bool)
    frame[10:86, 20:76] = True
    frame[18:78, 28:68] = False  # a picture frame: its hole is no ellipse
    for m in (round_ring, frame):
        assert find_rings(m, local_thickness(m)[1]) == []


def test_relief_offsets_follow_the_spine_and_chords_grow_where_the_tube_runs_in_depth():
    ring, = find_rings(m := _tube(40, 20, 6, 6), local_thickness(m)[1])
    tan = ring.tan_slant
    # On the spine's top and bottom (minor-axis ends) and left end (major-axis end), and across the tube
    # at the bottom: points of one cross-section share the spine's depth.
    uv = np.array([[48.0, 28.0], [48.0, 68.0], [8.0, 48.0], [48.0, 64.0], [48.0, 72.0]])
    offset, factor = RingRelief([ring]).at(uv, _bilinear)
    top, bottom, left, inner, outer = offset
    assert top == pytest.approx(ring.b * tan, rel=0.05) and bottom == pytest.approx(-ring.b * tan, rel=0.05)
    assert abs(left) < 0.5 and inner == pytest.approx(bottom, rel=0.01) and outer == pytest.approx(bottom, rel=0.01)
    # The tube runs in depth at the major axis' ends: its chord is 1/cos(slant) = 2 times longer.
    assert factor[0] == pytest.approx(1.0, abs=1e-6) and factor[2] == pytest.approx(np.sqrt(1 + tan**2), rel=1e-3)


@pytest.mark.parametrize("rings", [True, False])
def test_the_template_of_a_slanted_ring_lies_in_the_slanted_plane(rings):
    mask = torch.from_numpy(_tube(40, 20, 6, 6)).float()
    cam = view_camera(intrinsics_from_fov(40, S, S), S, S, 3.0, 0.0)
    sm = silhouette_mesh(mask, cam, 4.0, rings=rings)
    t = sm.template
    pred = hard_mask(Meshes([t.verts], [t.faces]), cam)[0]
    assert float((pred * mask).sum() / (pred + mask - pred * mask).sum()) > 0.99  # still exact in the input view
    c = cam.world_to_camera(t.verts[None])[0].double()
    c = c - c.mean(0)
    normal = torch.linalg.eigh(c.T @ c)[1][:, 0]  # the ring's flattest direction
    angle = float(torch.rad2deg(torch.arccos(normal[2].abs())))
    assert sm.rings == int(rings)
    assert abs(angle - 60) < 4 if rings else angle < 2
    if rings:  # seen from above: the ring's far half is its upper half (camera y points down)
        assert float(normal[1] * normal[2]) > 0
