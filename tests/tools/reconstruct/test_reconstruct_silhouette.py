import numpy as np
import pytest
import torch

from render3d.cameras import intrinsics_from_fov
from render3d.structures import Meshes
from render3d.topology import MeshTopology
from tools.errors import ToolError
from tools.reconstruct.render import hard_mask, view_camera
from tools.reconstruct.silhouette import clean_topology, local_thickness, silhouette_mesh

S = 96


def _grid():
    return torch.meshgrid(torch.arange(S) + 0.5, torch.arange(S) + 0.5, indexing="ij")


def _ring():
    yy, xx = _grid()
    r2 = (yy - 48) ** 2 + (xx - 48) ** 2
    return ((r2 < 38**2) & (r2 > 15**2)).float()


def _eared():
    yy, xx = _grid()
    body = ((yy - 62) / 24) ** 2 + ((xx - 48) / 32) ** 2 < 1
    ears = [((yy - 28) / 22) ** 2 + ((xx - c) / 3) ** 2 < 1 for c in (38.0, 58.0)]
    return (body | ears[0] | ears[1]).float()


def _check(mask, elevation, edge_px=4.0):
    cam = view_camera(intrinsics_from_fov(40, S, S), S, S, 3.0, elevation)
    sm = silhouette_mesh(mask, cam, edge_px)
    t = sm.template
    mesh = Meshes([t.verts], [t.faces])
    topo = MeshTopology.from_meshes(mesh)
    pred = hard_mask(mesh, cam)[0]
    iou = float((pred * mask).sum() / (pred + mask - pred * mask).sum())
    chi = len(t.verts) - topo.edges.shape[0] + len(t.faces)
    volume = float(torch.linalg.det(t.verts[t.faces].double()).sum() / 6)
    return sm, iou, chi, volume, topo, cam


@pytest.mark.parametrize("elevation", [0.0, 30.0])
def test_ring_mask_inflates_to_a_closed_torus_exact_in_the_input_view(elevation):
    sm, iou, chi, volume, topo, _ = _check(_ring(), elevation)
    assert sm.holes == 1 and chi == 0  # genus 1: the hole stays a hole
    assert bool((topo.edge_to_faces >= 0).all())  # closed: every edge has two faces
    assert volume > 0  # wound outward
    assert iou > 0.99


def test_a_hole_thinner_than_the_outline_sampling_stays_a_hole_and_the_rest_is_meshed():
    # A 1.5 px wide arc-shaped hole in a disk: its deepest pixel lies outside the hole's sampled loop (inside the
    # polygon to mesh), where a seed would have the triangulation carve away the object instead (IoU 0.001).
    yy, xx = _grid()
    r = ((yy - 48) ** 2 + (xx - 48) ** 2).sqrt()
    mask = ((r < 40) & ~(((r - 25).abs() < 0.75) & (yy < 48))).float()
    sm, iou, chi, volume, topo, _ = _check(mask, 0.0)
    assert sm.holes == 1 and chi == 0 and bool((topo.edge_to_faces >= 0).all()) and volume > 0
    assert iou > 0.98


def test_thin_parts_exist_from_the_start_with_round_thin_cross_sections():
    mask = _eared()
    sm, iou, chi, volume, _, cam = _check(mask, 10.0)
    assert sm.holes == 0 and chi == 2 and volume > 0 and iou > 0.985
    # Depth of the surface along one ear's pixel column vs the body's: about the widths the mask shows.
    cam_pts = cam.world_to_camera(sm.template.verts[None])[0]
    uv = cam.project(sm.template.verts[None])[0, :, :2]
    pix_per_unit = float(cam.K[0, 0, 0]) / 3.0

    def depth_near(u, v):
        near = ((uv - torch.tensor([u, v])).norm(dim=1) < 2.5)
        z = cam_pts[near, 2]
        return float(z.max() - z.min()) * pix_per_unit

    ear, body = depth_near(38.0, 28.0), depth_near(48.0, 62.0)
    assert 3.0 < ear < 9.0  # the ear is 6 px wide: a thin tube, not a blob
    assert 40.0 < body < 56.0  # the body is 48 px tall: a round cross-section
    # Every outline vertex is shared by both sheets; every other vertex has a partner across.
    assert torch.equal(sm.partner[sm.partner], torch.arange(len(sm.partner)))


def test_local_thickness_of_a_bar_and_a_disk():
    bar = np.zeros((40, 60), bool)
    bar[15:25, 5:55] = True
    D, R = local_thickness(bar)
    assert abs(R[20, 30] - 4.5) < 0.6 and abs(R[16, 30] - 4.5) < 0.6  # the whole bar has radius ~5
    assert D[15, 30] == 0.5 and D[20, 30] == 4.5  # pixel centres: half a pixel inside the edge


def test_small_holes_are_filled_and_extra_components_dropped():
    m = np.zeros((40, 40), bool)
    m[5:30, 5:30] = True
    m[10, 10] = False  # a one-pixel hole: noise
    m[15:22, 15:22] = False  # a real hole
    m[34:38, 34:38] = True  # a second, smaller component
    kept, components, holes = clean_topology(m)
    assert components == 2 and holes == 1 and kept[10, 10] and not kept[35, 35] and not kept[18, 18]
    with pytest.raises(ToolError, match="empty"):
        clean_topology(np.zeros((8, 8), bool))


def test_auto_template_picks_revolution_for_row_convex_masks_only():
    from tools.reconstruct.fit import resolve_template

    yy, xx = _grid()
    blob = (((yy - 48) / 30) ** 2 + ((xx - 48) / 20) ** 2 < 1).float()
    assert resolve_template("auto", blob) == "sphere"
    assert resolve_template("auto", _ring()) == "silhouette"  # a hole
    assert resolve_template("auto", _eared()) == "silhouette"  # two runs per row through the ears
    assert resolve_template("ellipsoid", _ring()) == "ellipsoid"


def _lamp():
    yy, xx = _grid()
    shade = (yy > 10) & (yy < 34) & ((xx - 48).abs() < 10 + 0.6 * (yy - 10))
    pole = (yy >= 34) & (yy < 80) & ((xx - 48).abs() < 2.5)
    base = (((yy - 82) / 5) ** 2 + ((xx - 48) / 22) ** 2) < 1
    return (shade | pole | base).float()


def test_auto_template_takes_the_revolution_on_the_outline_when_a_long_part_is_thin():
    from tools.reconstruct.fit import resolve_template
    from tools.reconstruct.rows import thin_rows

    assert thin_rows(_lamp().numpy() > 0.5) > 0.4
    assert resolve_template("auto", _lamp()) == "revolution"


def test_revolution_profile_makes_round_rows_exact_in_the_input_view():
    cam = view_camera(intrinsics_from_fov(40, S, S), S, S, 3.0, 0.0)
    yy, xx = _grid()
    disk = (((yy - 48) ** 2 + (xx - 48) ** 2) < 30**2).float()
    for mask in (disk, _lamp()):
        sm = silhouette_mesh(mask, cam, 4.0, profile="rows")
        t = sm.template
        pred = hard_mask(Meshes([t.verts], [t.faces]), cam)[0]
        assert float((pred * mask).sum() / (pred + mask - pred * mask).sum()) > 0.98
    # The disk's rows are circles: the surface is a sphere (least-squares fit, residual ~1% of the radius).
    c = cam.world_to_camera(silhouette_mesh(disk, cam, 4.0, profile="rows").template.verts[None])[0].double()
    A = torch.cat([2 * c, torch.ones(len(c), 1, dtype=c.dtype)], 1)
    sol = torch.linalg.lstsq(A, (c**2).sum(1, keepdim=True)).solution[:, 0]
    radius = float((sol[3] + (sol[:3] ** 2).sum()).sqrt())
    assert float(((c - sol[:3]).norm(dim=1) - radius).abs().mean()) < 0.015 * radius
    # The lamp's pole stays a thin round rod: its depth extent is about its 5 px width, not the base's.
    sm = silhouette_mesh(_lamp(), cam, 4.0, profile="rows")
    cam_pts = cam.world_to_camera(sm.template.verts[None])[0]
    uv = cam.project(sm.template.verts[None])[0, :, :2]
    pole = ((uv[:, 1] - 60).abs() < 4) & ((uv[:, 0] - 48).abs() < 3)
    depth_px = float(cam_pts[pole, 2].max() - cam_pts[pole, 2].min()) * float(cam.K[0, 0, 0]) / 3.0
    assert 3.0 < depth_px < 8.0
