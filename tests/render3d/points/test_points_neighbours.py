"""One k-d tree per cloud: the spacing and the estimated normals share `nearest_neighbours`, and give
exactly what each computes alone; `load_pointcloud` builds one tree for both."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.spatial
import torch

from render3d.errors import ShapeError
from render3d.io import load_pointcloud
from render3d.points.neighbours import nearest_neighbours
from render3d.points.normals import pca_normals
from render3d.points.spacing import knn_spacing


def _sphere(n: int, seed: int = 0) -> torch.Tensor:
    p = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed))
    return p / p.norm(dim=1, keepdim=True)


def test_shared_neighbours_give_the_same_spacing_and_normals():
    pts = torch.cat([_sphere(2000), _sphere(2000)[:50]])  # with coincident copies
    shared = nearest_neighbours(pts)
    assert shared.idx.shape == (2050, 9) and bool((np.diff(shared.dist, axis=1) >= 0).all())
    assert torch.equal(knn_spacing(pts, neighbours=shared), knn_spacing(pts))
    assert torch.equal(knn_spacing(pts, smooth=False, neighbours=shared), knn_spacing(pts, smooth=False))
    assert torch.equal(pca_normals(pts, neighbours=shared), pca_normals(pts))
    tiny = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])  # fewer points than neighbours asked
    assert torch.equal(knn_spacing(tiny, neighbours=nearest_neighbours(tiny)), knn_spacing(tiny))


def test_neighbours_of_another_cloud_or_too_few_are_refused():
    pts = _sphere(100)
    with pytest.raises(ShapeError, match="neighbours of 100 points given for 99 points"):
        knn_spacing(pts[:99], neighbours=nearest_neighbours(pts))
    with pytest.raises(ShapeError, match="pca_normals needs 8 neighbours per point"):
        pca_normals(pts, neighbours=nearest_neighbours(pts, k=5))
    with pytest.raises(ShapeError, match="k must be >= 1"):
        nearest_neighbours(pts, k=0)


def test_load_builds_one_tree_for_radius_and_normals(tmp_path, monkeypatch):
    path = tmp_path / "c.npy"
    np.save(path, _sphere(3000).numpy())
    built = []
    real = scipy.spatial.cKDTree

    class Counting(real):
        def __init__(self, data, *args, **kwargs):
            built.append(len(data))
            super().__init__(data, *args, **kwargs)

    monkeypatch.setattr(scipy.spatial, "cKDTree", Counting)
    cloud = load_pointcloud(path, estimate_normals=True)
    assert built == [3000]
    pts = cloud.points_packed()
    assert torch.equal(cloud.normals_packed(), pca_normals(pts))
    assert torch.equal(cloud.radius_packed(), 1.5 * knn_spacing(pts))
