import pytest
import torch

from render3d.errors import ShapeError
from render3d.geometry.icosphere import icosphere, split_faces
from render3d.structures import Meshes
from render3d.topology import MeshTopology


@pytest.mark.parametrize("level", [0, 1, 3])
def test_icosphere_is_a_closed_unit_sphere_wound_outward(level):
    verts, faces = icosphere(level)
    assert verts.shape == (10 * 4**level + 2, 3) and faces.shape == (20 * 4**level, 3)
    assert torch.allclose(verts.norm(dim=1), torch.ones(len(verts)), atol=1e-6)
    topo = MeshTopology.from_meshes(Meshes([verts], [faces]))
    assert len(verts) - topo.edges.shape[0] + len(faces) == 2 and bool((topo.edge_to_faces >= 0).all())
    # Outward winding: every face normal points away from the centre.
    fv = verts[faces]
    normals = torch.linalg.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0])
    assert bool(((normals * fv.mean(1)).sum(1) > 0).all())
    # The volume approaches the unit ball's from below as the level grows.
    volume = float(torch.linalg.det(fv.double()).sum() / 6)
    assert 0.6 * 4 / 3 * torch.pi < volume < 4 / 3 * torch.pi


def test_split_faces_puts_each_new_vertex_on_its_edge():
    verts = torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 2]])
    faces = torch.tensor([[0, 1, 2], [0, 3, 1]])
    out, edges = split_faces(faces, 4)
    assert out.shape == (8, 3) and edges.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3]]
    mids = 0.5 * (verts[edges[:, 0]] + verts[edges[:, 1]])
    allv = torch.cat([verts, mids])
    # The four children tile the parent: their areas sum to it and they keep its normal direction.
    def area_vec(f):
        p = allv[f]
        return 0.5 * torch.linalg.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])

    parent = area_vec(faces)
    children = area_vec(out).view(4, 2, 3).sum(0)
    assert torch.allclose(children, parent)
    with pytest.raises(ShapeError):
        split_faces(torch.zeros(3, 2, dtype=torch.long), 3)
    with pytest.raises(ShapeError):
        icosphere(9)
