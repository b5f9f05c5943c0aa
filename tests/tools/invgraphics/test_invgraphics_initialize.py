"""The short fit after a learned start (`tools.invgraphics.initialize`): its settings, as `reconstruct --learned`
gets them, and the choice between the learned start and the fit's own on toys whose answer is known."""

from __future__ import annotations

from dataclasses import asdict, replace

import pytest
import torch

from render3d.structures import Meshes
from tools.invgraphics.initialize import MIN_START_IOU, choose_start, learned_fit_settings, learned_start, start_iou
from tools.reconstruct.init import Initialization
from tools.reconstruct.render import hard_mask, view_camera
from tools.reconstruct.settings import FitSettings
from tools.reconstruct.templates import icosphere

pytestmark = pytest.mark.usefixtures("one_thread")

CHANGED = ("steps", "levels", "stage_fractions", "half_res_stages", "w_laplacian")


def test_learned_fit_is_one_full_resolution_stage_with_a_20x_lighter_prior() -> None:
    base = FitSettings(steps=200, lr=0.02, w_color=0.5)
    s = learned_fit_settings(base, 3, 60)
    assert (s.steps, s.levels, s.stage_fractions, s.half_res_stages) == (60, (3,), (1.0,), 0)
    # 1.0, a 20th of the inflation start's 20.0: measured better input IoU than 2.0 on all four bench sets.
    assert s.w_laplacian == 1.0 and base.w_laplacian == 20.0
    assert {k: v for k, v in asdict(s).items() if k not in CHANGED} == \
        {k: v for k, v in asdict(base).items() if k not in CHANGED}


def test_reconstruct_learned_gets_50_steps_at_the_shipped_encoders_level() -> None:
    _, s = learned_start(FitSettings())
    assert (s.steps, s.levels, s.w_laplacian) == (50, (3,), 1.0)
    _, s = learned_start(FitSettings(), steps=80)
    assert s.steps == 80


def _sphere_mask(size: int = 48, distance: float = 4.0, elevation: float = 10.0) -> tuple[torch.Tensor, torch.Tensor]:
    """`[H, W]` mask of the unit icosphere (level 2) seen by the fit's camera, and that camera's `K [3, 3]`."""
    K = torch.tensor([[60.0, 0.0, size / 2], [0.0, 60.0, size / 2], [0.0, 0.0, 1.0]])
    t = icosphere(2)
    return hard_mask(Meshes([t.verts], [t.faces]), view_camera(K, size, size, distance, elevation))[0], K


def _start(offsets: torch.Tensor, translation: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Initialization:
    return Initialization(level=2, offsets=offsets, colors=torch.full((162, 3), 0.5), sh_coeffs=torch.ones(9, 3),
                          scale=1.0, translation=torch.tensor(translation), distance=4.0, elevation=10.0)


def test_a_start_whose_silhouette_is_the_mask_is_kept() -> None:
    mask, K = _sphere_mask()
    init = _start(torch.zeros(162, 3))
    start, iou = choose_start(init, mask, K)
    assert iou == pytest.approx(1.0) and start is init
    # Shifted sideways by a twentieth of its radius it still fits the outline: kept.
    shifted = _start(torch.zeros(162, 3), (0.05, 0.0, 0.0))
    assert MIN_START_IOU <= start_iou(shifted, mask, K) < 1.0 and choose_start(shifted, mask, K)[0] is shifted


def test_a_start_at_half_the_size_keeps_only_its_camera() -> None:
    mask, K = _sphere_mask()
    # Half the radius: a quarter of the area, IoU about 0.25.
    half = _start(-0.5 * icosphere(2).verts)
    start, iou = choose_start(half, mask, K)
    assert 0.2 < iou < 0.3
    assert start.offsets is None and start.colors is None and start.sh_coeffs is None
    assert (start.level, start.distance, start.elevation) == (2, 4.0, 10.0)
    # The threshold is the caller's: at 0.2 the same start is kept.
    assert choose_start(half, mask, K, min_iou=0.2)[0] is half
    assert choose_start(replace(half, translation=torch.tensor([2.0, 0.0, 0.0])), mask, K)[1] == 0.0
