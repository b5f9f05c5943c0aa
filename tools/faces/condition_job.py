"""`neurender faces --method condition`: a pose-conditioned generator's seeds × requested yaw/pitch.

Writes what the W-space methods' run writes (`tools.faces.job`): one image per view, `poses.json`
(requested and measured pose per view), a labelled grid per identity, `metrics.json` (pose error per
10° yaw bin, identity drift, the estimator's noise floor, requests outside the trained pose range) and
`config.json`. The generator is `--weights` or the bundle's `generator_condition.safetensors`; the pose
reader is the bundle's analyzer (or landmarks). With a photo, the one identity is the photo's head
inverted into the generator's label-free w (`tools.faces.invert`, the bundle's
`inverter_condition.safetensors` as the start), written as `photo_*` views beside `photo_input.png` and
`photo_reconstruction.png`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from tools.errors import ToolError
from tools.faces import condition
from tools.faces.analyzer import load_analyzer
from tools.faces.bundle import ANALYZER, WEIGHTS_DIR
from tools.faces.metrics import identity_drift, pose_summary
from tools.faces.outputs import to_pil, write_identity, write_json
from tools.faces.readers import Reader, analyzer_reader
from tools.rundir import staged_dir


@dataclass(frozen=True)
class ConditionJob:
    """A resolved `neurender faces --method condition` run (written as `config.json`)."""

    seeds: tuple[int, ...]
    yaws: tuple[float, ...]
    pitches: tuple[float, ...]
    weights: str
    size: int = 64
    truncation: float = 0.7
    iterations: int = 3
    tolerance: float = 0.5
    method: str = "condition"
    photo: str | None = None


def _reader(analyzer: Any, estimator: str) -> Reader:
    if estimator == "landmarks":
        from tools.faces.landmarks import landmark_reader

        return landmark_reader()
    if analyzer is None:
        raise ToolError("the head analyzer weights are missing from the faces bundle")
    return analyzer_reader(analyzer)


def run_condition(job: ConditionJob, estimator: str, out: Path, say: Callable[[str], None] | None = None,
                  bundle: Path = WEIGHTS_DIR) -> tuple[dict[str, Any], list[str]]:
    """Run `job` into `out` (all-or-nothing); returns (metrics, warnings).

    Raises:
        ToolError: the weights are not a pose-conditioned generator, or no reader is available.
    """
    G, fmt = condition.load_conditioned(Path(job.weights))
    analyzer, extra = load_analyzer(bundle / ANALYZER) if (bundle / ANALYZER).is_file() else (None, {})
    reader = _reader(analyzer, estimator)
    grid = torch.tensor([[y, p] for p in job.pitches for y in job.yaws], dtype=torch.float32)
    views, descriptors, requested, measured, outside = [], [], [], [], []
    with staged_dir(out) as stage:
        t0 = time.perf_counter()
        if job.photo is None:
            who, ws, inversion = list(job.seeds), condition.seed_identity_ws(G, list(job.seeds), job.truncation), None
        else:
            inversion = _invert_photo(G, job.weights, analyzer, Path(job.photo), bundle, job.size, stage)
            who, ws = [None], inversion.ws
            if say:
                say(f"inverted {job.photo} at yaw {inversion.pose[0]:+.1f}° pitch {inversion.pose[1]:+.1f}°: L1 "
                    f"{inversion.encoder_l1:.3f} (encoder) -> {inversion.l1:.3f} (optimized)")
        for k, seed in enumerate(who):
            result = condition.closed_loop(G, reader, ws[k:k + 1].expand(len(grid), -1, -1), grid,
                                           iterations=job.iterations, tolerance=job.tolerance)
            title = f"{'photo' if seed is None else f'seed {seed}'}  condition  requested yaw/pitch -> measured"
            write_identity(result, grid, seed, job.size, stage, len(job.yaws), title, views, outside)
            requested.append(grid)
            measured.append(result.measured)
            if analyzer is not None:
                with torch.no_grad():
                    descriptors.append(analyzer.identity(result.images))
            if say and seed is not None:
                say(f"seed {seed}: {len(grid)} views")
        seconds = time.perf_counter() - t0
        metrics: dict[str, Any] = {
            "method": "condition", "truncation": job.truncation, "views": len(views),
            "pose_error": pose_summary(torch.cat(requested), torch.cat(measured)),
            "estimator_noise_floor": extra.get("scores", {}).get("noise_floor"),
            "calibrated_range": {a: list(condition.trained_range(i)) for i, a in enumerate(("yaw", "pitch"))},
            "outside_calibrated_range": outside,
            "seconds": round(seconds, 3), "seconds_per_identity": round(seconds / len(who), 3),
        }
        if inversion is not None:
            metrics["inversion"] = {"l1_encoder": inversion.encoder_l1, "l1_optimized": inversion.l1,
                                    "face_score": inversion.face_score, "photo_pose": list(inversion.pose)}
        if descriptors:
            d = torch.stack(descriptors)
            spread = condition.frontal_spread(G, reader) if analyzer is not None and estimator == "analyzer" else None
            metrics["identity_drift"] = {"vs_generator_identities": identity_drift(d, spread) if spread else None,
                                         "vs_these_identities": identity_drift(d) if len(d) > 1 else None}
        write_json(stage / "poses.json", {"views": views})
        write_json(stage / "metrics.json", metrics)
        write_json(stage / "config.json", {**asdict(job), "source": f"{job.weights} ({fmt})"})
    from tools.faces.run import missed_warnings, out_of_range_warnings

    return metrics, out_of_range_warnings(metrics) + missed_warnings(views, outside)


def _invert_photo(G: Any, weights: str, analyzer: Any, photo: Path, bundle: Path, size: int, stage: Path) -> Any:
    """Invert `photo` into `G` (loaded from `weights`)'s label-free w at its analyzed pose; writes the input and
    reconstruction images.

    Raises:
        ToolError: no analyzer (the photo's pose and face check need it), or no face in the photo.
    """
    from tools.faces.bundle import CONDITIONED, INVERTER_CONDITION
    from tools.faces.invert import invert, load_inverter, load_photo

    if analyzer is None:
        raise ToolError("--from-photo needs the faces bundle's head analyzer (it reads the photo's pose)")
    image = load_photo(photo, G.img_resolution)
    # The bundle's inverter knows the bundle's generator only; another one starts from its average w.
    own = Path(weights).resolve() == (bundle / CONDITIONED).resolve()
    inverter = load_inverter(bundle / INVERTER_CONDITION) if own and (bundle / INVERTER_CONDITION).is_file() else None
    result = invert(G, image, analyzer, inverter, name=str(photo))
    to_pil(image[0], size).save(stage / "photo_input.png")
    to_pil(result.reconstruction[0], size).save(stage / "photo_reconstruction.png")
    return result
