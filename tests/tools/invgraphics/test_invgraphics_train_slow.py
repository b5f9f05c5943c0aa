"""A short real training run through the renderer improves the held-out IoU (slow), and resumes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gan2d.nets.invgraphics import InverseGraphicsConfig
from scenes.datagen import DatagenConfig, generate
from tools.invgraphics.data import MultiviewViews, SetSpec
from tools.invgraphics.evaluate import evaluate
from tools.invgraphics.model import InverseGraphicsModel, ModelConfig
from tools.invgraphics.train import TrainRun, default_loop, export_weights, run_training
from tools.invgraphics.weights import load_model

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]


def test_short_training_run_improves_heldout_iou(tmp_path: Path) -> None:
    data = tmp_path / "heads"
    generate(DatagenConfig(kind="heads", count=40, views=3, size=32, seed=3, workers=1), data, progress=False)
    net = InverseGraphicsConfig(num_verts=162, resolution=32, base_channels=16, max_channels=64, shape_dim=16,
                                texture_dim=16, hidden=64, texture_size=(16, 32), texture_channels=32)
    model = ModelConfig(net, level=2)
    loop = replace(default_loop(), total_kimg=0.6, batch_size=6, lr_g=2e-3, checkpoint_every_kimg=0.3,
                   sample_every_kimg=0.3, progress=False)
    run = TrainRun((SetSpec(str(data), holdout=0.2),), model, loop)
    held = MultiviewViews(run.sets, "heldout")
    before = evaluate(InverseGraphicsModel(model).eval(), held)
    run_training(run, tmp_path / "run")
    weights = export_weights(tmp_path / "run", tmp_path / "w.safetensors")
    after = evaluate(load_model(weights)[0], held)
    assert after["input_iou"] > before["input_iou"] + 0.1
    assert after["novel_iou"] > before["novel_iou"] + 0.05
    assert after["yaw_error"] < before["yaw_error"]
    # Resuming with a longer total continues from the snapshot.
    result = run_training(replace(run, loop=replace(loop, total_kimg=0.72)), tmp_path / "run", resume=True)
    assert result.nimg >= 720
