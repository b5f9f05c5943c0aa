import pytest
import torch

from render3d.errors import ShapeError
from render3d.losses import chamfer_distance


def _grid_points() -> torch.Tensor:
    r = torch.arange(4, dtype=torch.float32)
    return torch.stack(torch.meshgrid(r, r, r, indexing="ij"), -1).reshape(1, -1, 3)


def test_shifted_grid_has_analytic_distance():
    x = _grid_points()
    y = x + torch.tensor([0.1, 0.0, 0.0])
    dist, (ixy, iyx) = chamfer_distance(x, y)
    assert float(dist) == pytest.approx(2 * 0.01, rel=1e-4)
    assert ixy[0].tolist() == list(range(64))
    assert iyx[0].tolist() == list(range(64))


def test_chunking_and_padding_do_not_change_result():
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(2, 50, 3, generator=g), torch.rand(2, 70, 3, generator=g)
    full, (ixy, _) = chamfer_distance(x, y)
    chunked, (ixy2, _) = chamfer_distance(x, y, chunk=7)
    assert float(chunked) == pytest.approx(float(full), rel=1e-6)
    assert torch.equal(ixy, ixy2)
    # Padding rows far away are ignored when lengths exclude them.
    xp = torch.cat([x, torch.full((2, 5, 3), 100.0)], 1)
    yp = torch.cat([y, torch.full((2, 9, 3), -100.0)], 1)
    padded, _ = chamfer_distance(xp, yp, torch.tensor([50, 50]), torch.tensor([70, 70]))
    assert float(padded) == pytest.approx(float(full), rel=1e-6)


def test_matches_pytorch3d_with_lengths_and_gradients():
    p3d = pytest.importorskip("pytorch3d.loss")
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 40, 3, generator=g, requires_grad=True)
    y = torch.rand(2, 30, 3, generator=g, requires_grad=True)
    xl, yl = torch.tensor([40, 25]), torch.tensor([30, 17])
    ours, _ = chamfer_distance(x, y, xl, yl, chunk=8)
    theirs, _ = p3d.chamfer_distance(x, y, x_lengths=xl, y_lengths=yl)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    ga = torch.autograd.grad(ours, (x, y))
    gb = torch.autograd.grad(theirs, (x, y))
    for a, b in zip(ga, gb, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-7)


def test_bad_lengths_raise():
    with pytest.raises(ShapeError, match="x_lengths"):
        chamfer_distance(torch.rand(1, 5, 3), torch.rand(1, 5, 3), x_lengths=torch.tensor([6]))


@pytest.mark.slow
def test_20k_by_20k_runs_chunked_with_backward():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1, 20000, 3, generator=g, requires_grad=True)
    y = torch.rand(1, 20000, 3, generator=g)
    dist, (ixy, _) = chamfer_distance(x, y)
    dist.backward()
    brute = torch.cdist(x[0, :100].detach(), y[0]).argmin(1)
    assert torch.equal(ixy[0, :100], brute)
    assert torch.isfinite(x.grad).all()
