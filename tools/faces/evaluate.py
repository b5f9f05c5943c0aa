"""Fit and score pose control for a generator: the pieces `train faces`, `faces --weights` and the bench share.

`evaluate_control` sweeps identities over a yaw × pitch grid through the closed loop and reports the pose
error per 10° bin and the identity drift. `build_control` fits directions, discovers the camera layers,
chooses which layers the `direction` method edits (all of them, or only the camera layers: whichever keeps
the identity better at equal pose accuracy), calibrates both methods and measures the between-identity
spread drift is relative to.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch

from tools.errors import ToolError
from tools.faces.control import (
    METHODS,
    PoseControl,
    StyleGenerator,
    calibrate,
    closed_loop,
    fit_directions,
    sample_ws,
)
from tools.faces.layers import discover_camera_layers
from tools.faces.metrics import identity_drift, identity_spread, pose_summary
from tools.faces.readers import Reader

SWEEP_YAWS = tuple(float(y) for y in range(-40, 41, 10))
SWEEP_PITCHES = (-15.0, 0.0, 15.0)


def frontal_identity_spread(G: StyleGenerator, reader: Reader, control: PoseControl, method: str = "direction",
                            n: int = 256, seed: int = 7, truncation: float = 0.7) -> float:
    """RMS spread of identity descriptors of `n` identities all shown frontally (yaw = pitch = 0)."""
    ws = sample_ws(G, n, seed, truncation)
    result = closed_loop(G, reader, control, ws, torch.zeros(n, 2), method, iterations=1)
    return identity_spread(reader(result.images).identity)


def evaluate_control(G: StyleGenerator, reader: Reader, control: PoseControl, method: str, identities: int = 16,
                     seed: int = 11, truncation: float = 0.7, yaws: tuple[float, ...] = SWEEP_YAWS,
                     pitches: tuple[float, ...] = SWEEP_PITCHES, iterations: int = 3) -> dict[str, Any]:
    """Pose error and identity drift of `identities` latents over the yaw × pitch grid.

    Returns:
        `{"pose_error": pose_summary, "identity_drift": identity_drift | None, "in_range": share}`.
    """
    grid = torch.tensor([[y, p] for p in pitches for y in yaws])
    ws = sample_ws(G, identities, seed, truncation)
    return score_sweep(lambda w: closed_loop(G, reader, control, w, grid, method, iterations=iterations), reader,
                       ws, grid, control.report.get("identity_spread"))


def score_sweep(loop: Callable[[torch.Tensor], Any], reader: Reader, ws: torch.Tensor, grid: torch.Tensor,
                spread: float | None) -> dict[str, Any]:
    """Run `loop` (styles `[V, L, D]` → a closed-loop result at `grid [V, 2]`) for each identity of
    `ws [N, L, D]`; pose error, identity drift relative to `spread` (None: not measured) and in-range share."""
    req, meas, desc, inside = [], [], [], []
    for k in range(len(ws)):
        result = loop(ws[k:k + 1].expand(len(grid), -1, -1))
        req.append(grid)
        meas.append(result.measured)
        inside.append(result.in_range)
        ident = reader(result.images).identity
        if ident is not None:
            desc.append(ident)
    drift = identity_drift(torch.stack(desc), spread) if desc and spread else None
    return {"pose_error": pose_summary(torch.cat(req), torch.cat(meas)), "identity_drift": drift,
            "in_range": float(torch.cat(inside).float().mean()), "identities": len(ws),
            "views_per_identity": len(grid)}


def build_control(G: StyleGenerator, reader: Reader, samples: int = 3000, pairs: int = 96,
                  progress: Callable[[str], None] | None = None) -> PoseControl:
    """The full pose control of a generator (directions, layers, calibrations, identity spread)."""
    say = progress or (lambda _msg: None)
    say(f"fitting yaw/pitch directions on {samples} samples")
    control = fit_directions(G, reader, n=samples)
    say("discovering camera layers by style swapping")
    control.camera_layers, control.report["layers"] = discover_camera_layers(G, reader, pairs=pairs)
    say(f"camera layers: {list(control.camera_layers)}")
    candidates = {"all": tuple(range(G.num_ws))}
    if control.camera_layers and len(control.camera_layers) < G.num_ws:
        candidates["camera"] = control.camera_layers
    trials, failed = {}, {}
    for name, layers in candidates.items():
        trial = copy.deepcopy(control)
        trial.edit_layers = layers
        try:
            calibrate(G, reader, trial, "direction")
        except ToolError as e:  # e.g. the camera layers alone do not turn this generator
            failed[name] = str(e)
            say(f"direction on {name} layers: {e}")
            continue
        if "identity_spread" not in control.report:
            control.report["identity_spread"] = frontal_identity_spread(G, reader, trial)
        trial.report["identity_spread"] = control.report["identity_spread"]
        trials[name] = (trial, evaluate_control(G, reader, trial, "direction", identities=8))
        say(f"direction on {name} layers: {_line(trials[name][1])}")

    def cost(item: tuple[str, tuple[PoseControl, dict[str, Any]]]) -> tuple[bool, float]:
        result = item[1][1]
        drift = result["identity_drift"]["drift"] if result["identity_drift"] else 0.0
        return (result["pose_error"]["yaw_median_abs"] > 3.0, drift)

    if not trials:
        raise ToolError(f"pose control failed for this generator: {failed}")
    chosen, (best, _) = min(trials.items(), key=cost)
    control.edit_layers = best.edit_layers
    control.calibrations["direction"] = best.calibrations["direction"]
    control.report["edit_layer_trials"] = {k: {"layers": list(t.edit_layers), **r} for k, (t, r) in trials.items()}
    control.report["edit_layers_chosen"] = chosen
    control.report["edit_layer_failures"] = failed
    for method in METHODS:
        if method != "direction" and control.camera_layers:
            say(f"calibrating {method}")
            try:
                calibrate(G, reader, control, method)
            except ToolError as e:
                control.report[f"{method}_failure"] = str(e)
                say(f"{method}: {e}")
    return control


def _line(result: dict[str, Any]) -> str:
    pose, drift = result["pose_error"], result["identity_drift"]
    text = f"median |err| yaw {pose['yaw_median_abs']:.2f}° pitch {pose['pitch_median_abs']:.2f}°"
    return text + (f", drift {100 * drift['drift']:.1f}%" if drift else "")
