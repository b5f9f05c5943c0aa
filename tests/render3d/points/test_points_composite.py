"""Point compositing: hand-built fragments with known results, and float64 gradcheck."""

import pytest
import torch

from render3d import PointFragments, ShapeError
from render3d.points import alpha_composite, norm_weighted_composite


def _frags(dtype=torch.float64):
    # pixel 0: three fragments; pixel 1: one; pixel 2: empty
    idx = torch.tensor([[0, 1, 2], [2, -1, -1], [-1, -1, -1]]).view(1, 1, 3, 3)
    zbuf = torch.tensor([[1.0, 2.0, 3.0], [1.5, -1, -1], [-1, -1, -1]], dtype=dtype).view(1, 1, 3, 3)
    dists = torch.tensor([[0.5, 0.75, 0.0], [0.2, -1, -1], [-1, -1, -1]], dtype=dtype).view(1, 1, 3, 3)
    return PointFragments(idx, zbuf, dists)


FEATS = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 4.0]], dtype=torch.float64)


def test_alpha_composite_known_values():
    out = alpha_composite(_frags(), FEATS)[0, 0]
    # alphas 0.5, 0.25, 1.0 → weights 0.5, 0.125, 0.375
    torch.testing.assert_close(out[0], torch.tensor([0.5 + 0.75, 0.125 + 1.5, 1.0], dtype=torch.float64))
    torch.testing.assert_close(out[1], torch.tensor([1.6, 3.2, 0.8], dtype=torch.float64))
    torch.testing.assert_close(out[2], torch.zeros(3, dtype=torch.float64))


def test_norm_weighted_composite_known_values():
    out = norm_weighted_composite(_frags(), FEATS)[0, 0]
    # weights 0.5, 0.25, 1.0 normalized by 1.75, then premultiplied by coverage 1.0
    torch.testing.assert_close(out[0], torch.tensor([2.5 / 1.75, 4.25 / 1.75, 1.0], dtype=torch.float64))
    torch.testing.assert_close(out[1], torch.tensor([2.0 * 0.8, 4.0 * 0.8, 0.8], dtype=torch.float64))
    torch.testing.assert_close(out[2], torch.zeros(3, dtype=torch.float64))


def test_explicit_alphas_override_dists():
    alphas = torch.full((1, 1, 3, 3), 0.5, dtype=torch.float64)
    out = alpha_composite(_frags(), FEATS, alphas)[0, 0]
    torch.testing.assert_close(out[0, 2], torch.tensor(0.875, dtype=torch.float64))
    torch.testing.assert_close(out[1], torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64))


@pytest.mark.parametrize("composite", [alpha_composite, norm_weighted_composite])
def test_compositors_gradcheck(composite):
    frags = _frags()
    feats = FEATS.clone().requires_grad_()
    dists = torch.tensor([[0.3, 0.6, 0.1], [0.2, 0.9, 0.4], [0.5, 0.5, 0.5]], dtype=torch.float64).view(1, 1, 3, 3)
    dists.requires_grad_()

    def f(feats, dists):
        return composite(PointFragments(frags.idx, frags.zbuf, dists), feats)

    torch.autograd.gradcheck(f, (feats, dists))


def test_composite_bad_inputs():
    with pytest.raises(ShapeError, match="features has 2 rows"):
        alpha_composite(_frags(), FEATS[:2])
    with pytest.raises(ShapeError, match="alphas"):
        norm_weighted_composite(_frags(), FEATS, torch.ones(1, 1, 3, 2))
