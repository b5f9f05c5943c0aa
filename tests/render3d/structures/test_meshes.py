import pytest
import torch

from render3d.errors import InvalidMeshError, ShapeError
from render3d.structures import Meshes, Pointclouds


def _two():
    v0 = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    f0 = torch.tensor([[0, 1, 2], [0, 2, 3]])
    v1 = torch.tensor([[0.0, 0, 1], [0, 0, 2], [0, 1, 1]])
    f1 = torch.tensor([[0, 1, 2]])
    return Meshes([v0, v1], [f0, f1])


def test_packed_padded_consistency():
    m = _two()
    assert m.faces_packed().tolist() == [[0, 1, 2], [0, 2, 3], [4, 5, 6]]
    assert m.face_to_mesh_idx.tolist() == [0, 0, 1]
    assert m.verts_padded().shape == (2, 4, 3)
    assert m.verts_padded()[1, 3].tolist() == [0, 0, 0]
    assert m.faces_padded()[1, 1].tolist() == [-1, -1, -1]
    assert m.mesh_to_faces_first_idx.tolist() == [0, 2]


def test_normals_of_a_ccw_quad_point_up_z():
    m = _two()[0]
    torch.testing.assert_close(m.faces_normals_packed(), torch.tensor([[0.0, 0, 1], [0, 0, 1]]))
    torch.testing.assert_close(m.verts_normals_packed(), torch.tensor([[0.0, 0, 1]] * 4))


def test_offset_keeps_gradients_and_topology():
    m = _two()
    delta = torch.zeros(7, 3, requires_grad=True)
    moved = m.offset_verts(delta)
    moved.verts_packed().sum().backward()
    assert delta.grad is not None and delta.grad.shape == (7, 3)
    assert torch.equal(moved.faces_packed(), m.faces_packed())
    assert len(m.extend(3)) == 6


@pytest.mark.parametrize("verts,faces,err", [
    ([torch.zeros(0, 3)], [torch.zeros(0, 3, dtype=torch.long)], InvalidMeshError),
    ([torch.tensor([[0.0, 0, 0], [1, 0, 0], [float("nan"), 0, 0]])], [torch.tensor([[0, 1, 2]])], InvalidMeshError),
    ([torch.zeros(3, 3)], [torch.tensor([[0, 1, 3]])], InvalidMeshError),
    ([torch.zeros(3, 2)], [torch.tensor([[0, 1, 2]])], ShapeError),
])
def test_bad_meshes_raise(verts, faces, err):
    with pytest.raises(err):
        Meshes(verts, faces)


def test_pointclouds_radius_and_errors():
    pc = Pointclouds([torch.rand(5, 3), torch.rand(2, 3)], radius=0.1)
    assert pc.radius_packed().tolist() == pytest.approx([0.1] * 7)
    assert pc.packed_to_cloud_idx.tolist() == [0] * 5 + [1] * 2
    with pytest.raises(InvalidMeshError):
        Pointclouds([torch.rand(5, 3)], radius=0.0)
    with pytest.raises(ShapeError):
        Pointclouds([torch.rand(5, 3)], features=[torch.rand(4, 3)])
