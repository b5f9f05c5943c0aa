"""A short pc2img training run: held-out PSNR improves, the run resumes, the export loads and has its card (slow)."""

import numpy as np
import pytest
import torch

from gan2d.train.config import TrainConfig
from tools.pc2img.dataset import Degradation, degrade, view_targets
from tools.pc2img.model import Pc2ImgConfig, Pc2ImgModel
from tools.pc2img.pipeline import prepare_cloud, render_views
from tools.pc2img.train import Pc2ImgRun, TrainData, export_weights, load_run, run_training
from tools.pc2img.trainset import load_sample, write_split
from tools.pc2img.weights import load_weights

pytestmark = pytest.mark.slow

SMALL = Pc2ImgConfig(vis_channels=4, coarse_channels=8, refiner_channels=8, depth=2)


def _held_out_psnr(model: Pc2ImgModel, files) -> float:
    scores = []
    for f in files:
        s = load_sample(f)
        for v in range(s.num_views):
            pts, cols, normals, _ = degrade(s, v, np.random.default_rng(v), Degradation(0, 1, 0, 0, 0), 0.3)
            cloud = prepare_cloud(torch.from_numpy(pts), torch.from_numpy(cols), torch.from_numpy(normals),
                                  model.config.splat)
            rgb, _, bg = view_targets(s, v)
            with torch.no_grad():
                img = render_views(model.eval(), cloud, s.cameras([v]), bg).image[0]
            scores.append(float(10 * torch.log10(1 / (img - rgb.permute(1, 2, 0)).square().mean())))
    return float(np.mean(scores))


def test_short_training_improves_held_out_psnr_and_resumes(tmp_path):
    torch.manual_seed(0)
    held = write_split(tmp_path / "held", "shapes", 2, 2, 48, seed=7, progress=False)
    run = Pc2ImgRun(str(tmp_path / "data"), model=SMALL, trainset=TrainData({"shapes": 6}, views=2, size=48),
                    train=TrainConfig(total_kimg=0.24, batch_size=4, lr_g=1e-3, lr_d=4e-4, betas_g=(0.5, 0.99),
                                      betas_d=(0.0, 0.99), ema_kimg=0.02, ema_rampup=None, log_every=5,
                                      sample_every_kimg=0.24, checkpoint_every_kimg=0.12, progress=False),
                    crop=32)
    before = _held_out_psnr(Pc2ImgModel(SMALL), held)
    result = run_training(run, tmp_path / "run", progress=False)
    assert result.steps == 60
    weights = export_weights(tmp_path / "run", tmp_path / "w.safetensors", heldout_per_kind=1, heldout_views=1,
                             progress=False)
    trained, extra = load_weights(weights)
    after = _held_out_psnr(trained, held)
    assert after > before + 2.0, (before, after)
    assert extra["kimg"] == 0.24 and [s["density"] for s in extra["heldout_summary"]] == [0.01, 0.05, 0.2, 1.0]
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "| 20% | 3 |" in card and "--kimg 0.24" in card
    resumed = run_training(load_run(tmp_path / "run", kimg=0.28), tmp_path / "run", resume=True, progress=False)
    assert resumed.steps == 70 and resumed.nimg == 280
