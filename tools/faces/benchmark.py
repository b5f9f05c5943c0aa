"""The measurements of `neurender bench faces` (the CLI and report live in `tools.bench.faces`).

- `ground_truth_sweep`: data-engine heads rendered exactly at the sweep's poses; the analyzer's error on
  them per 10° bin is the estimator's noise floor beside every generated-pose error, and their descriptor
  drift is the drift a perfect generator would still show.
- `control_scores`: `evaluate_control` per method (pose error per bin, identity drift).
- `quality_scores`: Fréchet distances of generated vs data-engine images against real-vs-real.
- `speed_scores`: 9 views of one identity at 64² in one batch (edit + synthesis, and the closed loop).
- `mask_scores`: background-keyed masks against the true masks of renders.
- `turn_scores`: how much the image changes over a requested turn, beside renders turned the same way:
  a check that does not ask the analyzer (a closed loop can fit the analyzer's reading without a turn).
- `bench_condition`: all of the above for a pose-conditioned generator (`tools.faces.condition`), the
  `condition` method in place of direction/mixing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gan2d.nets.stylegan2 import Generator
from tools.faces.analyzer import HeadAnalyzer
from tools.faces.analyzer_data import load_head_arrays
from tools.faces.analyzer_train import to_gan
from tools.faces.control import PoseControl, StyleGenerator, closed_loop, render, sample_ws
from tools.faces.evaluate import SWEEP_PITCHES, SWEEP_YAWS, evaluate_control
from tools.faces.headset import HeadSetConfig, draw_identity, fill_cracks, generate_headset, head_scene
from tools.faces.metrics import frechet_scores, identity_drift, identity_spread, pose_summary
from tools.faces.readers import Reader
from tools.faces.segment import key_masks, mask_iou


def ground_truth_sweep(analyzer: HeadAnalyzer, identities: int, size: int = 64, seed: int = 301,
                       yaws: tuple[float, ...] = SWEEP_YAWS, pitches: tuple[float, ...] = SWEEP_PITCHES
                       ) -> dict[str, Any]:
    """Render `identities` data-engine heads at every sweep pose; score the analyzer on them."""
    from scenes.build import build_scene
    from scenes.render import render_built

    cfg = HeadSetConfig(identities=identities, views=1, size=size, seed=seed)
    poses = [(y, p) for p in pitches for y in yaws]
    requested, measured, desc, masks_true, images = [], [], [], [], []
    for i in range(identities):
        head, _, light = draw_identity(cfg, i)
        spec = head_scene(head, poses, light, size, 2)
        out = render_built(build_scene(spec), spec)
        rgb, mask = fill_cracks(out.rgb, out.mask)
        img = rgb.permute(0, 3, 1, 2) * 2 - 1
        with torch.no_grad():
            reading = analyzer.analyze(img)
        requested.append(torch.tensor(poses, dtype=torch.float32))
        measured.append(reading["pose"])
        desc.append(reading["identity"])
        masks_true.append(mask)
        images.append(img)
    d = torch.stack(desc)
    frontal = d[:, poses.index((0.0, 0.0))] if (0.0, 0.0) in poses else d.mean(1)
    return {"pose_error": pose_summary(torch.cat(requested), torch.cat(measured)),
            "identity_drift": identity_drift(d, identity_spread(frontal)),
            "images": torch.cat(images), "masks": torch.cat(masks_true)}


def control_scores(G: StyleGenerator, reader: Reader, control: PoseControl, identities: int) -> dict[str, Any]:
    """`evaluate_control` for every calibrated method, closed loop (3 corrections) and open loop (the
    calibrated step alone: what the calibration is worth without the estimator in the loop)."""
    out = {}
    for m in control.calibrations:
        out[m] = evaluate_control(G, reader, control, m, identities=identities)
        out[f"{m} open-loop"] = evaluate_control(G, reader, control, m, identities=identities, iterations=0)
    return out


def real_sets(work: Path, identities: int, size: int = 64, progress: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint data-engine head sets in the generator's training distribution (rendered into `work`)."""
    sets = []
    for k, seed in enumerate((201, 202)):
        folder = work / f"heads_real_{k}"
        generate_headset(HeadSetConfig(identities=identities, views=4, size=size, seed=seed), folder, progress)
        sets.append(to_gan(load_head_arrays(folder).images))
    return sets[0], sets[1]


def quality_scores(G: StyleGenerator, analyzer: HeadAnalyzer, real: torch.Tensor, real_ref: torch.Tensor,
                   seed: int = 401) -> dict[str, float]:
    """Fréchet distances of `len(real)` generated images (truncation 1) vs `real`, with real-vs-real."""
    fake = render(G, sample_ws(G, len(real), seed, 1.0))
    scores = frechet_scores(real, fake, real_ref, analyzer.features)
    with torch.no_grad():
        scores["face_rate_fake"] = float((analyzer.analyze(fake)["face"] > 0.5).float().mean())
    scores["samples"] = len(real)
    return scores


def speed_scores(G: StyleGenerator, reader: Reader, control: PoseControl, repeats: int = 5) -> dict[str, Any]:
    """Median seconds for 9 views of one identity in one batch: the edit + synthesis, and the full closed loop."""
    from tools.bench.harness import time_call

    ws = sample_ws(G, 1, 0, 0.7).expand(9, -1, -1)
    target = torch.tensor([[y, 0.0] for y in torch.linspace(-40, 40, 9).tolist()])
    steps = control.steps_for("direction", target)
    gen = time_call(lambda: render(G, control.edit(ws, steps, "direction")), repeats=repeats)
    loop = time_call(lambda: closed_loop(G, reader, control, ws, target, "direction"), repeats=repeats)
    return {"views": 9, "resolution": G.img_resolution, "generate_seconds": gen.wall_s,
            "closed_loop_seconds": loop.wall_s, "load1": loop.load1, "threads": torch.get_num_threads()}


def turn_scores(G: StyleGenerator, reader: Reader, control: PoseControl, identities: int = 16, size: int = 64,
                method: str = "direction", seed: int = 11, truncation: float = 0.7, render_seed: int = 301
                ) -> dict[str, Any]:
    """Mean |pixel change| (images in [0, 1]) between two yaws 1° inside the calibrated yaw range (pitch at
    the calibrated zero or the range's nearest end), for generated identities through the closed loop and
    for data-engine heads rendered at the same two poses; `ratio` = generated / rendered. An identity
    change at one pose is given beside each, for scale."""
    lo, hi = control.calibration(method, "yaw").range
    p_lo, p_hi = control.calibration(method, "pitch").range
    yaws, pitch = (lo + 1.0, hi - 1.0), min(max(0.0, p_lo), p_hi)
    ws = sample_ws(G, identities, seed, truncation)
    gen = [closed_loop(G, reader, control, ws, torch.tensor([[y, pitch]] * identities), method).images for y in yaws]
    gen = [torch.nn.functional.interpolate(g, size=(size, size), mode="area") if g.shape[-1] != size else g
           for g in gen]
    return _turn_result(gen, _rendered_turn(identities, yaws, pitch, size, render_seed), yaws, pitch, identities)


def _rendered_turn(identities: int, yaws: tuple[float, float], pitch: float, size: int, render_seed: int
                   ) -> torch.Tensor:
    """`[2, I, 3, S, S]` data-engine heads rendered at the two yaws."""
    from scenes.build import build_scene
    from scenes.render import render_built

    cfg = HeadSetConfig(identities=identities, views=1, size=size, seed=render_seed)
    rendered = []
    for i in range(identities):
        head, _, light = draw_identity(cfg, i)
        spec = head_scene(head, [(y, pitch) for y in yaws], light, size, 2)
        out = render_built(build_scene(spec), spec)
        rgb, _ = fill_cracks(out.rgb, out.mask)
        rendered.append(rgb.permute(0, 3, 1, 2) * 2 - 1)
    return torch.stack(rendered, 1)


def _turn_result(gen: list[torch.Tensor], real: torch.Tensor, yaws: tuple[float, float], pitch: float,
                 identities: int) -> dict[str, Any]:
    def change(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a - b).abs().mean() / 2)

    g_turn, r_turn = change(gen[0], gen[1]), change(real[0], real[1])
    return {"yaws": list(yaws), "pitch": pitch, "identities": identities, "generated": g_turn, "rendered": r_turn,
            "ratio": g_turn / max(r_turn, 1e-12), "generated_identity_change": change(gen[1], gen[1].roll(1, 0)),
            "rendered_identity_change": change(real[1], real[1].roll(1, 0))}


def mask_scores(images: torch.Tensor, masks: torch.Tensor) -> dict[str, float]:
    """IoU of background-keyed masks of renders against their true masks."""
    return {"iou": mask_iou(key_masks(images), masks), "images": len(images)}


def pose_bins_table(scores: dict[str, Any], floor: dict[str, Any]) -> list[dict[str, Any]]:
    """Per 10° yaw bin: generated-pose error per method beside the estimator's error on ground truth."""
    floor_bins = {tuple(b["yaw_bin"]): b for b in floor["pose_error"]["bins"]}
    rows = []
    for method, result in scores.items():
        for b in result["pose_error"]["bins"]:
            f = floor_bins.get(tuple(b["yaw_bin"]), {})
            rows.append({"method": method, "yaw_bin": b["yaw_bin"], "n": b["n"], "yaw_err": b["yaw_median_abs"],
                         "pitch_err": b["pitch_median_abs"], "floor_yaw": f.get("yaw_median_abs"),
                         "floor_pitch": f.get("pitch_median_abs")})
    return rows



def condition_scores(G: Generator, reader: Reader, identities: int) -> dict[str, Any]:
    """The `condition` method's sweep (`tools.faces.condition.evaluate`), closed loop and open loop (the label
    alone), with drift relative to the generator's own frontal between-identity spread."""
    from tools.faces import condition

    spread = condition.frontal_spread(G, reader)
    return {"condition": condition.evaluate(G, reader, identities=identities, spread=spread),
            "condition open-loop": condition.evaluate(G, reader, identities=identities, spread=spread, iterations=0)}


def condition_quality(G: Generator, analyzer: HeadAnalyzer, real: torch.Tensor, real_ref: torch.Tensor,
                      seed: int = 401) -> dict[str, float]:
    """`quality_scores` of a pose-conditioned generator: truncation 1, poses drawn uniformly over the trained
    range (the reference sets' pose distribution)."""
    from tools.faces import condition
    from tools.faces.pose_labels import POSE_SCALE

    n = len(real)
    gen = torch.Generator().manual_seed(seed + 1)
    pose = (torch.rand(n, 2, generator=gen) * 2 - 1) * torch.tensor(POSE_SCALE)
    fake = condition.render_pose(G, condition.sample_identity_ws(G, n, seed, 1.0), pose)
    scores = frechet_scores(real, fake, real_ref, analyzer.features)
    with torch.no_grad():
        scores["face_rate_fake"] = float((analyzer.analyze(fake)["face"] > 0.5).float().mean())
    scores["samples"] = n
    return scores


def condition_speed(G: Generator, reader: Reader, repeats: int = 5) -> dict[str, Any]:
    """`speed_scores` of the `condition` method: 9 views of one identity, label + synthesis and the closed loop."""
    from tools.bench.harness import time_call
    from tools.faces import condition

    ws = condition.sample_identity_ws(G, 1, 0, 0.7).expand(9, -1, -1)
    target = torch.tensor([[y, 0.0] for y in torch.linspace(-40, 40, 9).tolist()])
    gen = time_call(lambda: condition.render_pose(G, ws, target), repeats=repeats)
    loop = time_call(lambda: condition.closed_loop(G, reader, ws, target), repeats=repeats)
    return {"views": 9, "resolution": G.img_resolution, "generate_seconds": gen.wall_s,
            "closed_loop_seconds": loop.wall_s, "load1": loop.load1, "threads": torch.get_num_threads()}


def condition_turn(G: Generator, reader: Reader, identities: int = 16, size: int = 64, seed: int = 11,
                   truncation: float = 0.7, render_seed: int = 301, yaws: tuple[float, float] = (-39.0, 39.0)
                   ) -> dict[str, Any]:
    """`turn_scores` of the `condition` method (closed loop at the two yaws, pitch 0) beside renders."""
    from tools.faces import condition

    ws = condition.sample_identity_ws(G, identities, seed, truncation)
    gen = [condition.closed_loop(G, reader, ws, torch.tensor([[y, 0.0]] * identities)).images for y in yaws]
    gen = [torch.nn.functional.interpolate(g, size=(size, size), mode="area") if g.shape[-1] != size else g
           for g in gen]
    return _turn_result(gen, _rendered_turn(identities, yaws, 0.0, size, render_seed), yaws, 0.0, identities)


def bench_condition(G: Generator, analyzer: HeadAnalyzer, work: Path, identities: int, real: int, truth: int,
                    say: Any) -> dict[str, Any]:
    """Every `bench faces` measurement for a pose-conditioned generator (same keys as the W-space bench)."""
    from tools.faces.readers import analyzer_reader

    reader = analyzer_reader(analyzer)
    say("ground-truth sweep (estimator floor)")
    gt = ground_truth_sweep(analyzer, truth)
    say("pose control sweep (condition)")
    result: dict[str, Any] = {"ground_truth": {k: v for k, v in gt.items() if k not in ("images", "masks")},
                              "masks": mask_scores(gt["images"], gt["masks"]),
                              "control": condition_scores(G, reader, identities)}
    say("reference sets and Fréchet distances")
    ref_a, ref_b = real_sets(work, real)
    result["quality"] = condition_quality(G, analyzer, ref_a, ref_b)
    result["speed"] = condition_speed(G, reader)
    say("turn check against renders")
    result["turn"] = condition_turn(G, reader)
    return result
