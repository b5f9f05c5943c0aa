import torch

from render3d.cameras import intrinsics_from_fov
from render3d.structures import Meshes
from render3d.topology import MeshTopology
from tools.reconstruct.refine import face_errors, refine, worst_faces
from tools.reconstruct.render import hard_mask, view_camera
from tools.reconstruct.templates import icosphere


def _area_vectors(verts, faces):
    p = verts[faces]
    return 0.5 * torch.linalg.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])


def test_refine_splits_marked_faces_and_keeps_the_mesh_closed():
    t = icosphere(2)
    marked = torch.zeros(len(t.faces), dtype=torch.bool)
    marked[[0, 1, 2, 50, 200]] = True
    r = refine(t, marked, normalize_sphere=True)
    topo = MeshTopology.from_meshes(Meshes([r.verts], [r.faces]))
    V, E, F = len(r.verts), topo.edges.shape[0], len(r.faces)
    assert V - E + F == 2 and bool((topo.edge_to_faces >= 0).all())  # no cracks, no T-junctions
    assert 5 * 4 <= F - len(t.faces) + 5 <= 5 * 4 + 3 * 2 * 5 + 20  # marked faces → 4, neighbours → 2 (or 4)
    # Midpoint splits do not move the surface: the summed area vectors and the total area are unchanged.
    assert torch.allclose(_area_vectors(r.verts, r.faces).norm(dim=1).sum(),
                          _area_vectors(t.verts, t.faces).norm(dim=1).sum(), rtol=1e-5)
    assert torch.equal(r.verts[: len(t.verts)], t.verts)
    assert torch.allclose(r.sphere.norm(dim=1), torch.ones(V))


def test_face_errors_charge_silhouette_misses_to_the_outline_nearby():
    S = 48
    t = icosphere(3)
    t = type(t)(t.verts * 0.5, t.faces, t.sphere)
    cam = view_camera(intrinsics_from_fov(40, S, S), S, S, 3.0, 0.0)
    mask = hard_mask(Meshes([t.verts], [t.faces]), cam)[0]
    # The target is the sphere plus a bump on its right: the misses sit at the right of the outline.
    assert mask[22:26, 35:38].sum() == 0
    mask[20:28, 34:40] = 1.0
    image = torch.full((S, S, 3), 0.5)
    err = face_errors(t.verts, t.faces, image, image, mask, cam)
    worst = worst_faces(err, t.faces, 0.02)
    centroids = cam.project(t.verts[t.faces][worst].mean(1)[None])[0]
    assert worst.sum() > 0 and bool((centroids[:, 0] > S / 2).all())
    assert float(err.sum()) >= float((mask - hard_mask(Meshes([t.verts], [t.faces]), cam)[0]).abs().sum()) - 1e-3
