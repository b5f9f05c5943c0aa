"""k-NN spacing of clouds and pull-push hole filling on hand-made splats with known answers."""

import pytest
import torch

from render3d import InvalidMeshError, ShapeError
from render3d.points.pullpush import auto_levels, pull_push
from render3d.points.spacing import knn_spacing


def _grid(n: int, step: float) -> torch.Tensor:
    g = torch.arange(n, dtype=torch.float32) * step
    yy, xx = torch.meshgrid(g, g, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1), torch.zeros(n * n)], 1)


def test_spacing_of_a_grid_is_its_step_and_scales_with_the_cloud():
    s = knn_spacing(_grid(20, 0.05), k=4)
    assert float(s.median()) == pytest.approx(0.05, rel=1e-5)
    s3 = knn_spacing(_grid(20, 0.05) * 3, k=4)
    torch.testing.assert_close(s3, s * 3)


def test_spacing_skips_coincident_copies_and_smooths_an_isolated_point():
    pts = torch.cat([_grid(10, 0.1), _grid(10, 0.1)])  # every point twice
    assert float(knn_spacing(pts, k=4).median()) == pytest.approx(0.1, rel=1e-5)
    assert knn_spacing(torch.zeros(1000, 3)).abs().max() == 0
    assert knn_spacing(torch.zeros(1, 3)).tolist() == [0.0]
    lonely = torch.cat([_grid(10, 0.1), torch.tensor([[0.45, 0.45, 0.3]])])
    raw, smooth = knn_spacing(lonely, k=4, smooth=False), knn_spacing(lonely, k=4)
    assert raw[-1] > 0.25 and smooth[-1] < raw[-1]


def test_spacing_rejects_bad_clouds():
    with pytest.raises(InvalidMeshError):
        knn_spacing(torch.full((4, 3), float("nan")))
    with pytest.raises(InvalidMeshError):
        knn_spacing(torch.zeros(0, 3))
    with pytest.raises(ShapeError):
        knn_spacing(torch.zeros(4, 2))


def _square(size: int = 32, lo: int = 8, hi: int = 24):
    w = torch.zeros(1, size, size)
    w[:, lo:hi, lo:hi] = 1
    return w


def test_pull_push_closes_small_holes_without_growing_the_outline():
    w = _square()
    holes = w.clone()
    holes[0, 12, 12] = holes[0, 15, 18] = holes[0, 20, 10] = 0
    color = torch.zeros(1, 32, 32, 3)
    color[..., 0] = 0.25
    filled, cov = pull_push(color, holes, levels=2)
    assert torch.equal(cov, w)  # holes closed, nothing outside the square covered
    torch.testing.assert_close(filled[0, 12, 12], torch.tensor([0.25, 0.0, 0.0]))


def test_pull_push_drops_a_back_point_seen_through_a_hole():
    w = _square()
    depth = torch.where(w > 0, 2.0, 0.0)
    color = torch.zeros(1, 32, 32, 3)
    color[..., 0] = w  # front surface red
    # a pixel of the front surface shows a far, green point instead (a hole in the front layer)
    depth[0, 16, 16], color[0, 16, 16] = 5.0, torch.tensor([0.0, 1.0, 0.0])
    filled, cov = pull_push(color, w, depth, levels=2)
    torch.testing.assert_close(filled[0, 16, 16], torch.tensor([1.0, 0.0, 0.0]), atol=1e-5, rtol=0)
    assert cov[0, 16, 16] == 1
    # without depth the green point stays (it is a covered pixel)
    plain, _ = pull_push(color, w, None, levels=2)
    torch.testing.assert_close(plain[0, 16, 16], torch.tensor([0.0, 1.0, 0.0]))


def test_pull_push_levels_follow_the_splat_radius_and_bad_shapes_fail():
    mask = torch.ones(1, 4, 4, dtype=torch.bool)
    assert auto_levels(torch.full((1, 4, 4), 1.0), mask) == 2
    assert auto_levels(torch.full((1, 4, 4), 6.0), mask) == 4
    with pytest.raises(ShapeError):
        pull_push(torch.zeros(1, 4, 4, 3), torch.zeros(1, 4, 5))
    with pytest.raises(ShapeError):
        pull_push(torch.zeros(1, 4, 4, 3), torch.zeros(1, 4, 4), levels=0)
