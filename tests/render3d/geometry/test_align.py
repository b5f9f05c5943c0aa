import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from render3d.errors import ShapeError
from render3d.geometry import sample_surface
from render3d.geometry.align import similarity_icp, umeyama
from render3d.geometry.icosphere import icosphere


def _rotation(angle: float) -> torch.Tensor:
    c, s = np.cos(angle), np.sin(angle)
    return torch.tensor([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=torch.float64)


def test_umeyama_recovers_a_similarity():
    g = torch.Generator().manual_seed(0)
    src = torch.randn(50, 3, generator=g, dtype=torch.float64)
    R = _rotation(0.7)
    dst = 1.7 * src @ R.T + torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    s, R2, t = umeyama(src, dst)
    assert abs(s - 1.7) < 1e-9 and torch.allclose(R2, R) and torch.allclose(t, torch.tensor([0.3, -1.0, 2.0],
                                                                                             dtype=torch.float64))


def test_umeyama_never_returns_a_mirror():
    g = torch.Generator().manual_seed(1)
    src = torch.randn(40, 3, generator=g, dtype=torch.float64)
    _, R, _ = umeyama(src, src * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    assert abs(float(torch.linalg.det(R)) - 1.0) < 1e-9


def test_similarity_icp_aligns_sampled_surfaces():
    v, f = icosphere(3)
    v = v * torch.tensor([0.6, 0.4, 0.3])
    dst = sample_surface(v, f, 2000, seed=0)[0].double()
    R = _rotation(0.15)
    src = (sample_surface(v, f, 2000, seed=1)[0].double() - 0.05) @ R * 0.9
    s, R2, tr = similarity_icp(src, dst)
    aligned = s * src @ R2.T + tr
    assert cKDTree(dst.numpy()).query(aligned.numpy())[0].mean() < 0.02
    assert abs(s - 1 / 0.9) < 0.03


def test_bad_point_sets_raise():
    with pytest.raises(ShapeError):
        umeyama(torch.zeros(5, 3), torch.zeros(4, 3))
    with pytest.raises(ShapeError):
        similarity_icp(torch.full((5, 3), float("nan")), torch.zeros(5, 3))
    with pytest.raises(ShapeError):
        similarity_icp(torch.zeros(5, 2), torch.zeros(5, 3))
