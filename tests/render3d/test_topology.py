import pytest
import torch
import trimesh

from render3d import Meshes
from render3d.errors import ShapeError
from render3d.topology import MeshTopology


def _quad_meshes() -> Meshes:
    quad_v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    quad_f = torch.tensor([[0, 1, 2], [0, 2, 3]])
    tri_v = torch.tensor([[0.0, 0, 1], [1, 0, 1], [0, 1, 1]])
    return Meshes([quad_v, tri_v], [quad_f, torch.tensor([[0, 1, 2]])])


def test_quad_and_triangle_connectivity():
    topo = MeshTopology.from_meshes(_quad_meshes())
    assert topo.edges.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [2, 3], [4, 5], [4, 6], [5, 6]]
    assert topo.edge_to_mesh.tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    assert topo.num_edges_per_mesh.tolist() == [5, 3]
    # The diagonal (0, 2) is shared by faces 0 and 1; its opposite corners are 1 and 3.
    assert topo.face_pairs.tolist() == [[0, 1]]
    assert topo.edges[topo.pair_edges].tolist() == [[0, 2]]
    assert topo.pair_opposite.tolist() == [[1, 3]]
    assert topo.edge_to_faces[1].tolist() == [0, 1]
    assert topo.edge_to_faces[0].tolist() == [0, -1]
    # Edge opposite corner k of face 0 = (1,2), (2,0), (0,1).
    assert topo.edges[topo.face_to_edges[0]].tolist() == [[1, 2], [0, 2], [0, 1]]
    assert topo.vertex_degrees().tolist() == [3, 2, 3, 2, 2, 2, 2]
    assert sorted(topo.vertex_neighbors(0).tolist()) == [1, 2, 3]
    assert sorted(topo.vertex_neighbors(4).tolist()) == [5, 6]


def test_closed_sphere_counts_follow_euler():
    ico = trimesh.creation.icosphere(subdivisions=2)
    m = Meshes([torch.tensor(ico.vertices, dtype=torch.float32)], [torch.tensor(ico.faces)])
    topo = MeshTopology.from_meshes(m)
    V, F = len(ico.vertices), len(ico.faces)
    assert topo.edges.shape[0] == V + F - 2
    assert topo.face_pairs.shape[0] == topo.edges.shape[0]  # closed manifold: 2 faces per edge
    assert bool((topo.edge_to_faces >= 0).all())


def test_non_manifold_edge_gets_all_pairs():
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1]])
    f = torch.tensor([[0, 1, 2], [1, 0, 3], [0, 1, 4]])
    topo = MeshTopology.from_meshes(Meshes([v], [f]))
    assert sorted(map(sorted, topo.face_pairs.tolist())) == [[0, 1], [0, 2], [1, 2]]


def test_check_rejects_other_topology():
    topo = MeshTopology.from_meshes(_quad_meshes())
    with pytest.raises(ShapeError, match="topology was built"):
        topo.check(_quad_meshes()[0])
