import numpy as np
import pytest
import torch

from tools.bench.reconstruct import evaluate, markdown_table, sample_surface, similarity_icp, umeyama
from tools.reconstruct.fit import FitSettings
from tools.reconstruct.synthetic import shapes
from tools.reconstruct.templates import icosphere


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def test_umeyama_recovers_a_similarity():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(50, 3))
    R = _rotation(0.7)
    dst = 1.7 * src @ R.T + np.array([0.3, -1.0, 2.0])
    s, R2, t = umeyama(src, dst)
    assert abs(s - 1.7) < 1e-9 and np.allclose(R2, R) and np.allclose(t, [0.3, -1.0, 2.0])


def test_similarity_icp_aligns_sampled_surfaces():
    t = icosphere(3)
    v = t.verts * torch.tensor([0.6, 0.4, 0.3])
    dst = sample_surface(v, t.faces, 2000, seed=0)
    R = _rotation(0.15)
    src = (sample_surface(v, t.faces, 2000, seed=1) - 0.05) @ R * 0.9
    s, R2, tr = similarity_icp(src, dst)
    aligned = s * src @ R2.T + tr
    from scipy.spatial import cKDTree

    assert cKDTree(dst).query(aligned)[0].mean() < 0.02


def test_benchmark_has_enough_varied_shapes_and_a_table():
    table = shapes()
    assert len(table) >= 10 and len({s.name for s in table}) == len(table)
    row = {"shape": "x", "input_iou": 0.99, "novel_iou": 0.9, "chamfer": 0.01, "seconds": 1.0}
    md = markdown_table({"rows": [row], "mean": row})
    assert md.splitlines()[2].startswith("| x | 0.990 | 0.900 | 0.0100 |") and "**mean**" in md


@pytest.mark.slow
def test_benchmark_quality_on_three_shapes():
    chosen = [s for s in shapes() if s.name in ("sphere", "egg", "capsule")]
    rows = [evaluate(s, 128, FitSettings()) for s in chosen]
    assert np.mean([r["input_iou"] for r in rows]) >= 0.97
    assert np.mean([r["novel_iou"] for r in rows]) >= 0.75
    assert np.mean([r["chamfer"] for r in rows]) <= 0.03
