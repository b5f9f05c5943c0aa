"""The `neurender faces` command body: load the models, pick the reader, invert a photo, stage the run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.errors import ToolError
from tools.faces.bundle import INVERTER, WEIGHTS_DIR, FacesModels, load_models
from tools.faces.job import FacesJob, run_faces
from tools.faces.outputs import to_pil
from tools.faces.readers import Reader, analyzer_reader
from tools.rundir import staged_dir


def make_reader(models: FacesModels, estimator: str) -> Reader:
    """The reader `--estimator` names.

    Raises:
        ToolError: the analyzer is missing, or the landmark backend is not installed.
    """
    if estimator == "landmarks":
        from tools.faces.landmarks import landmark_reader

        return landmark_reader()
    if models.analyzer is None:
        raise ToolError("the head analyzer weights are missing from the faces bundle")
    return analyzer_reader(models.analyzer)


def out_of_range_warnings(metrics: dict[str, Any]) -> list[str]:
    """One line per request outside the calibrated range, with what was measured instead."""
    ranges = metrics["calibrated_range"]
    lines = []
    for o in metrics["outside_calibrated_range"]:
        who = "photo" if o["seed"] is None else f"seed {o['seed']}"
        lines.append(f"{who}: requested yaw {o['yaw']:+g}° pitch {o['pitch']:+g}° lies outside the calibrated range "
                     f"(yaw {ranges['yaw'][0]:+.1f}..{ranges['yaw'][1]:+.1f}°, pitch {ranges['pitch'][0]:+.1f}.."
                     f"{ranges['pitch'][1]:+.1f}°); measured yaw {o['yaw_measured']:+.1f}° pitch "
                     f"{o['pitch_measured']:+.1f}°")
    return lines


def missed_warnings(views: list[dict[str, Any]], outside: list[dict[str, Any]], tolerance: float = 5.0) -> list[str]:
    """One line when views requested inside the calibrated range were measured more than `tolerance` degrees
    away (an identity, e.g. an inverted photo, that does not turn as the calibration's median identity does)."""
    skip = {(o["seed"], o["yaw"], o["pitch"]) for o in outside}
    inside = [v for v in views if (v["seed"], v["yaw"], v["pitch"]) not in skip]
    miss = [(max(abs(v["yaw_measured"] - v["yaw"]), abs(v["pitch_measured"] - v["pitch"])), v) for v in inside]
    miss = [m for m in miss if m[0] > tolerance]
    if not miss:
        return []
    err, worst = max(miss, key=lambda m: m[0])
    who = "photo" if worst["seed"] is None else f"seed {worst['seed']}"
    return [f"{len(miss)} of {len(inside)} views inside the calibrated range were measured more than {tolerance:g}° "
            f"from their request (worst {err:.1f}°: {who} requested yaw {worst['yaw']:+g}° pitch {worst['pitch']:+g}°, "
            f"measured {worst['yaw_measured']:+.1f}° / {worst['pitch_measured']:+.1f}°); poses.json has every view"]


def run_command(job: FacesJob, estimator: str, out: Path, say: Callable[[str], None] | None = None,
                bundle: Path = WEIGHTS_DIR) -> tuple[dict[str, Any], list[str]]:
    """Run `job` into `out` (all-or-nothing); returns (metrics, warnings)."""
    models = load_models(None if job.weights is None else Path(job.weights), bundle)
    reader = make_reader(models, estimator)
    with staged_dir(out) as stage:
        ws = None
        if job.photo is not None:
            from tools.faces.invert import invert, load_inverter, load_photo

            photo = load_photo(job.photo, models.G.img_resolution)
            inverter = load_inverter(bundle / INVERTER) if (bundle / INVERTER).is_file() else None
            result = invert(models.G, photo, models.analyzer, inverter, name=job.photo)
            ws = result.ws
            to_pil(photo[0], job.size).save(stage / "photo_input.png")
            to_pil(result.reconstruction[0], job.size).save(stage / "photo_reconstruction.png")
            if say:
                say(f"inverted {job.photo}: L1 {result.encoder_l1:.3f} (encoder) -> {result.l1:.3f} (optimized)")
        metrics = run_faces(job, models, stage, ws=ws, reader=reader, progress=say)
        if job.photo is not None:
            metrics["inversion"] = {"l1_encoder": result.encoder_l1, "l1_optimized": result.l1,
                                    "face_score": result.face_score}
            from tools.faces.outputs import write_json

            write_json(stage / "metrics.json", metrics)
        views = json.loads((stage / "poses.json").read_text())["views"]
    return metrics, out_of_range_warnings(metrics) + missed_warnings(views, metrics["outside_calibrated_range"])
