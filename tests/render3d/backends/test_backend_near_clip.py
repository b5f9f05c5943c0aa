"""Near-plane clipping used by the pytorch3d adapter: pieces, weights, winding, and parity when clipped."""

import pytest
import torch

from render3d import Cameras, Meshes
from render3d.backends import get_backend, unavailable_reason
from render3d.backends.near_clip import clip_near
from render3d.raster import RasterSettings


def _normal(t):
    return torch.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0], dim=1)


def test_pieces_lie_in_front_reconstruct_from_weights_and_keep_winding():
    g = torch.Generator().manual_seed(0)
    tris = torch.randn(200, 3, 3, generator=g) * 2
    c = clip_near(tris, 0.1)
    assert (c.verts[..., 2] >= 0.1 - 1e-5).all()
    assert torch.allclose(c.weights.sum(-1), torch.ones(len(c.face), 3), atol=1e-6)
    assert torch.allclose(c.weights @ tris[c.face], c.verts, atol=1e-5)  # corners = weights · original corners
    n_in = (tris[..., 2] >= 0.1).sum(1)
    expected = torch.tensor([0, 1, 2, 1])[n_in]  # pieces per face: none / triangle / quad / whole
    assert torch.equal(torch.bincount(c.face, minlength=200), expected)
    assert (c.clipped == (n_in[c.face] < 3)).all()
    assert torch.equal(c.face, c.face.sort().values)
    big = _normal(c.verts).norm(dim=1) > 1e-4
    cos = torch.nn.functional.cosine_similarity(_normal(c.verts), _normal(tris[c.face]), dim=1)
    assert (cos[big] > 0.999).all()


def test_quad_split_covers_the_clipped_area():
    tri = torch.tensor([[[0.0, 0, 2], [2, 0, 2], [0, 2, -2]]])  # the third corner is behind z = 0
    c = clip_near(tri, 0.0)
    assert c.face.tolist() == [0, 0]
    # trapezoid (0,0,2) (2,0,2) (1,1,0) (0,1,0): parallel sides 2 and 1, √5 apart
    area = _normal(c.verts).norm(dim=1).sum() / 2
    assert area.item() == pytest.approx((2 + 1) / 2 * 5**0.5, rel=1e-5)


@pytest.mark.skipif(unavailable_reason("pytorch3d") is not None, reason="pytorch3d unavailable")
@pytest.mark.parametrize("perspective_correct", [True, False])
def test_pytorch3d_matches_reference_on_geometry_crossing_the_near_plane(perspective_correct):
    K = torch.tensor([[[40.0, 0, 31], [0, 40, 23], [0, 0, 1]]])
    cams = Cameras(K, torch.eye(3)[None], torch.zeros(1, 3), 64, 48)
    # a floor running from behind the camera into the distance, and a triangle in front of it
    v = torch.tensor([[-3.1, 0.5, -2], [2.7, 0.45, -2.5], [3.37, 0.52, 6.1], [-2.9, 0.55, 6.5],
                      [-0.5, -0.5, 2], [0.5, -0.45, 2.2], [0.05, 0.2, 2]])
    mesh = Meshes([v], [torch.tensor([[0, 1, 2], [0, 2, 3], [4, 5, 6]])])
    s = RasterSettings(znear=0.1, perspective_correct=perspective_correct)
    ours = get_backend("pytorch3d").rasterize_meshes(mesh, cams, s)
    ref = get_backend("torch").rasterize_meshes(mesh, cams, s)
    same = ours.pix_to_face == ref.pix_to_face
    assert same.float().mean() >= 0.999 and ref.mask.sum() > 1000
    both = same & ref.mask[..., None]
    assert ((ours.bary - ref.bary).abs().amax(-1)[both] < 1e-3).float().mean() >= 0.999
    assert ((ours.zbuf - ref.zbuf).abs()[both] < 1e-3).float().mean() >= 0.999
