"""`neurender faces`: seeds (or a photo) × requested yaw/pitch → pose-controlled multi-view face images.

For each identity every requested (yaw, pitch) is rendered by the chosen method (`direction` edits the
identity's styles along the calibrated directions, `mixing` takes the camera layers from a camera
code), the steps are corrected in closed loop until the reader measures the request, and the run writes
one image per view, `poses.json` (requested and measured pose per view), a labelled grid per identity
and `metrics.json` (pose error per 10° yaw bin, identity drift, the estimator's noise floor, requests
outside the calibrated range).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from tools.errors import ToolError
from tools.faces.bundle import FacesModels
from tools.faces.control import AXES, METHODS, PoseControl, closed_loop, seed_ws
from tools.faces.evaluate import build_control
from tools.faces.metrics import identity_drift, pose_summary
from tools.faces.outputs import write_identity, write_json
from tools.faces.readers import Reader, analyzer_reader

MAX_VALUES = 1000
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"


def parse_values(text: str, what: str, limit: float) -> list[float]:
    """`a:b:n` → n values from a to b inclusive; a single number → that value.

    Raises:
        ToolError: malformed text, n < 1 or > 1000, or a value beyond ±`limit`.

    Example:
        >>> parse_values("-40:40:5", "--yaw", 180)
        [-40.0, -20.0, 0.0, 20.0, 40.0]
    """
    text = text.strip()
    single = re.fullmatch(_NUM, text)
    ranged = re.fullmatch(rf"({_NUM}):({_NUM}):(\d+)", text)
    if single:
        values = [float(text)]
    elif ranged:
        a, b, n = float(ranged.group(1)), float(ranged.group(2)), int(ranged.group(3))
        if not 1 <= n <= MAX_VALUES:
            raise ToolError(f"{what} {text!r}: the count n must be within 1..{MAX_VALUES}")
        if n == 1 and a != b:
            raise ToolError(f"{what} {text!r}: one value cannot span {a:g} to {b:g}; give a single number")
        values = [a + (b - a) * i / (n - 1) for i in range(n)] if n > 1 else [a]
    else:
        raise ToolError(f"{what} must be a number or a:b:n (n values from a to b), got {text!r}")
    bad = [v for v in values if not math.isfinite(v) or abs(v) > limit]
    if bad:
        raise ToolError(f"{what} {text!r}: values must lie within ±{limit:g} degrees")
    return [round(v, 6) for v in values]


@dataclass(frozen=True)
class FacesJob:
    """A resolved `neurender faces` run (written as `config.json`).

    Args:
        seeds: identity seeds (ignored with a photo).
        yaws, pitches: requested angles in degrees.
        size: side of the written images.
        method: "direction" or "mixing".
        truncation: truncation ψ of the identities' latents.
        iterations: closed-loop corrections per view.
        tolerance: closed loop stops when every view is within this many degrees.
        weights: generator checkpoint (None = embedded).
        photo: photo to rotate instead of seeds.
    """

    seeds: tuple[int, ...]
    yaws: tuple[float, ...]
    pitches: tuple[float, ...]
    size: int = 64
    method: str = "direction"
    truncation: float = 0.7
    iterations: int = 3
    tolerance: float = 0.5
    weights: str | None = None
    photo: str | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ToolError(f"--method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not (math.isfinite(self.truncation) and 0.0 <= self.truncation <= 1.5):
            raise ToolError(f"--truncation must be within 0..1.5, got {self.truncation}")
        if not 16 <= self.size <= 1024:
            raise ToolError(f"--size must be within 16..1024 pixels, got {self.size}")
        if not self.seeds and self.photo is None:
            raise ToolError("give --seeds or --from-photo")
        if len(self.seeds or [0]) * len(self.yaws) * len(self.pitches) > 20_000:
            raise ToolError("more than 20,000 views requested; split the run")


def _identity_reference(control: PoseControl) -> float | None:
    return control.report.get("identity_spread")


def run_faces(job: FacesJob, models: FacesModels, out: Path, ws: torch.Tensor | None = None,
              reader: Reader | None = None, progress: Any = None) -> dict[str, Any]:
    """Render the job into the (staged) folder `out`; returns the metrics (also in `metrics.json`).

    Args:
        job: what to render.
        models: generator, analyzer, pose control (fitted here when missing; written as control.json).
        out: the run folder (empty).
        ws: `[1, L, D]` styles of a photo's inversion (photo mode), else None (styles from the seeds).
        reader: pose reader; default the bundle's analyzer.
        progress: callable(message) for progress lines.

    Raises:
        ToolError: no reader available, or a method that is not calibrated.
    """
    if reader is None:
        if models.analyzer is None:
            raise ToolError("no pose estimator: the analyzer weights are missing from the bundle")
        reader = analyzer_reader(models.analyzer)
    G = models.G
    control = models.control
    if control is None:
        control = build_control(G, reader, samples=1500, pairs=48, progress=progress)
        write_json(out / "control.json", control.to_dict())
    identities: list[int | None] = [None] if ws is not None else list(job.seeds)
    if ws is None:
        ws = seed_ws(G, list(job.seeds), job.truncation)
    grid = torch.tensor([[y, p] for p in job.pitches for y in job.yaws], dtype=torch.float32)
    t0 = time.perf_counter()
    views, descriptors, requested, measured, outside = [], [], [], [], []
    for k, who in enumerate(identities):
        result = closed_loop(G, reader, control, ws[k:k + 1].expand(len(grid), -1, -1), grid, job.method,
                             iterations=job.iterations, tolerance=job.tolerance)
        title = f"{'photo' if who is None else f'seed {who}'}  {job.method}  requested yaw/pitch -> measured"
        write_identity(result, grid, who, job.size, out, len(job.yaws), title, views, outside)
        requested.append(grid)
        measured.append(result.measured)
        if models.analyzer is not None:
            with torch.no_grad():
                descriptors.append(models.analyzer.identity(result.images))
        if progress:
            progress(f"{'photo' if who is None else f'seed {who}'}: {len(grid)} views")
    seconds = time.perf_counter() - t0
    req, meas = torch.cat(requested), torch.cat(measured)
    metrics: dict[str, Any] = {
        "method": job.method, "truncation": job.truncation, "views": len(views),
        "pose_error": pose_summary(req, meas),
        "estimator_noise_floor": models.noise_floor,
        "calibrated_range": {a: list(control.calibration(job.method, a).range) for a in AXES},
        "outside_calibrated_range": outside,
        "seconds": round(seconds, 3), "seconds_per_identity": round(seconds / len(identities), 3),
    }
    if descriptors:
        d = torch.stack(descriptors)
        reference = _identity_reference(control)
        metrics["identity_drift"] = {
            "vs_generator_identities": identity_drift(d, reference) if reference else None,
            "vs_these_identities": identity_drift(d) if len(d) > 1 else None}
    write_json(out / "poses.json", {"views": views})
    write_json(out / "metrics.json", metrics)
    write_json(out / "config.json", {**asdict(job), "source": models.source})
    return metrics
