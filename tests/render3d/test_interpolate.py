import pytest
import torch

from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.interpolate import interpolate, interpolate_vertex_attrs


def test_values_and_empty_fragments():
    p2f = torch.tensor([[[[1, -1], [0, 1]]]])  # [1, 1, 2, 2]
    bary = torch.tensor([[0.2, 0.3, 0.5], [0.4, 0.4, 0.2], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]).view(1, 1, 2, 2, 3)
    attrs = torch.tensor([[[0.0, 1], [1, 1], [2, 1]], [[10.0, 0], [20, 0], [30, 0]]])
    out = interpolate(p2f, bary, attrs)
    assert out.shape == (1, 1, 2, 2, 2)
    assert out[0, 0, 0, 0].tolist() == pytest.approx([2 + 6 + 15, 0])
    assert out[0, 0, 0, 1].tolist() == [0.0, 0.0]
    assert out[0, 0, 1, 0].tolist() == pytest.approx([0, 1])
    assert out[0, 0, 1, 1].tolist() == pytest.approx([25, 0])


def test_vertex_attrs_helper_matches_face_attrs():
    faces = torch.tensor([[0, 1, 2], [2, 1, 3]])
    vattr = torch.rand(4, 5)
    frag = Fragments(torch.tensor([0, 1, -1]).view(1, 1, 3, 1), torch.rand(1, 1, 3, 1, 3), torch.ones(1, 1, 3, 1))
    torch.testing.assert_close(interpolate_vertex_attrs(frag, faces, vattr),
                               interpolate(frag.pix_to_face, frag.bary, vattr[faces]))


def test_gradcheck():
    g = torch.Generator().manual_seed(0)
    p2f = torch.tensor([0, 2, -1, 1, 0, 2]).view(1, 2, 3, 1)
    bary = torch.rand(1, 2, 3, 1, 3, generator=g, dtype=torch.float64, requires_grad=True)
    attrs = torch.rand(3, 3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda b, a: interpolate(p2f, b, a), (bary, attrs))


def test_bad_shapes_raise():
    with pytest.raises(ShapeError, match="bary"):
        interpolate(torch.zeros(1, 2, 2, 1, dtype=torch.long), torch.zeros(1, 2, 2, 1, 2), torch.zeros(1, 3, 1))
    with pytest.raises(ShapeError, match="face_attrs has 1"):
        interpolate(torch.ones(1, 1, 1, 1, dtype=torch.long), torch.zeros(1, 1, 1, 1, 3), torch.zeros(1, 3, 1))
