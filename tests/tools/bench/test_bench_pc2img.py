"""bench pc2img: per-view scores of every method on a held-out sample, the density summary and its tables."""

import math

import pytest

from tools.bench.pc2img import tables
from tools.pc2img.evaluate import evaluate_view, summarize
from tools.pc2img.model import Pc2ImgModel
from tools.pc2img.trainset import load_sample, write_split


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return load_sample(write_split(tmp_path_factory.mktemp("bench-pc2img"), "shapes", 1, 2, 48, seed=5,
                                   progress=False)[0])


def test_every_method_is_scored_and_pull_push_fills_sparse_holes(sample):
    row = evaluate_view(Pc2ImgModel().eval(), sample, 0, 0.05, seed=1)
    for name in ("naive", "pullpush", "coarse", "learned"):
        assert math.isfinite(row[f"{name}_psnr"]) and 0 < row[f"{name}_ssim"] <= 1, name
    assert 0 <= row["vis_acc"] <= 1 and 0 < row["vis_all_visible"] <= 1
    assert row["points"] == round(0.05 * len(sample.points))
    assert row["pullpush_psnr"] > row["naive_psnr"]  # at 5% the naive splat is full of background holes


def test_summary_gain_is_over_the_best_classical_baseline_and_tables_show_it():
    def row(d, naive, pp, learned):
        return {"density": d, "naive_psnr": naive, "naive_ssim": 0.5, "pullpush_psnr": pp, "pullpush_ssim": 0.5,
                "coarse_psnr": 0.0, "coarse_ssim": 0.5, "learned_psnr": learned, "learned_ssim": 0.5,
                "vis_acc": 1.0, "vis_all_visible": 0.5, "vis_hidden_found": 0.25, "vis_hidden_share": 0.125}

    summary = summarize([row(0.2, 10, 14, 20), row(0.2, 12, 16, 22), row(1.0, 20, 18, 19)])
    assert [s["density"] for s in summary] == [0.2, 1.0]
    assert summary[0]["views"] == 2 and summary[0]["gain_db"] == pytest.approx(21 - 15)
    assert summary[1]["gain_db"] == pytest.approx(-1)
    md = tables(summary, [], [])
    assert "| 20% | 2 | 11.00 / 0.500 | 15.00 / 0.500 |" in md and "+6.00" in md and "-1.00" in md
