"""`neurender datagen --from-gan`: the pose-controlled generator as a multi-view data engine.

Each sample is one generated identity seen from `views` requested poses (yaw stratified over the yaw
range, pitch uniform in the pitch range, both drawn from (seed, index)), rendered by closed-loop pose
control and written in the data engine's `neurender-multiview/1` layout (scenes/DATASET.md) through
`scenes.multiview`: RGB views, background-keyed masks, and `cameras.json` holding the data engine's
head-rig cameras (`scenes.samples.pose_cameras("heads", …)`) for the controlled poses, so render3d uses
them as they are. `params.json` adds the measured poses, the latent, the identity descriptor (as
estimated head codes) and the identity's drift across its views.

The requested ranges are first cut to the generator's calibrated range (with a warning): a camera is
written for the pose it asks for, so a view the generator cannot turn to would carry a false camera.
The ranges used are recorded in the settings (`yaw_used`, `pitch_used`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scenes.multiview import sample_name, write_index, write_views
from scenes.outputs import write_json
from scenes.samples import pose_cameras
from tools.errors import ToolError
from tools.faces.bundle import FacesModels
from tools.faces.control import METHODS, PoseControl, closed_loop, seed_ws
from tools.faces.metrics import identity_drift
from tools.faces.readers import Reader
from tools.faces.segment import key_masks


@dataclass(frozen=True)
class GanDatagenConfig:
    """What to generate (recorded as the dataset's `settings`).

    Args:
        identities: samples (one generated identity each).
        views: views per identity.
        size: image side (the generator's output is resampled when it differs).
        seed: dataset seed; sample i's latent and poses come from (seed, i).
        yaw, pitch: requested pose ranges in degrees.
        method: pose-control method (`condition`: the pose label of a pose-conditioned generator).
        truncation: truncation ψ of the identities.
        generator: where the generator came from (recorded).
    """

    identities: int
    views: int
    size: int = 64
    seed: int = 0
    yaw: tuple[float, float] = (-40.0, 40.0)
    pitch: tuple[float, float] = (-15.0, 15.0)
    method: str = "direction"
    truncation: float = 0.7
    generator: str = "embedded"

    def __post_init__(self) -> None:
        object.__setattr__(self, "yaw", tuple(float(v) for v in self.yaw))
        object.__setattr__(self, "pitch", tuple(float(v) for v in self.pitch))
        checks = [(1 <= self.identities <= 10_000_000,
                   f"--identities must be within 1..10000000, got {self.identities}"),
                  (1 <= self.views <= 1000, f"--views must be within 1..1000, got {self.views}"),
                  (16 <= self.size <= 1024, f"--size must be within 16..1024, got {self.size}"),
                  (self.method in (*METHODS, "condition"), f"--method must be one of {', '.join(METHODS)}, "
                                                             "condition"),
                  (all(math.isfinite(v) for v in (*self.yaw, *self.pitch)), "pose ranges must be finite"),
                  (self.yaw[0] <= self.yaw[1] and self.pitch[0] <= self.pitch[1], "pose ranges must be LOW:HIGH"),
                  (abs(self.pitch[0]) < 90 and abs(self.pitch[1]) < 90, "pitch must stay within ±90°"),
                  (0 <= self.seed < 2**31, f"--seed must be within 0..2^31-1, got {self.seed}")]
        for ok, msg in checks:
            if not ok:
                raise ToolError(msg)


def sample_plan(cfg: GanDatagenConfig, index: int, yaw: tuple[float, float] | None = None,
                pitch: tuple[float, float] | None = None) -> tuple[int, np.ndarray]:
    """The generator seed and `[V, 2]` requested (yaw, pitch) of sample `index`, drawn in `yaw` and `pitch`
    (default: the config's ranges)."""
    rng = np.random.default_rng([cfg.seed, index, 17])
    gan_seed = int(rng.integers(0, 2**31 - 1))
    lo, hi = cfg.yaw if yaw is None else yaw
    p_lo, p_hi = cfg.pitch if pitch is None else pitch
    strata = (np.arange(cfg.views) + rng.random(cfg.views)) / cfg.views
    yaws = lo + (hi - lo) * strata
    pitches = p_lo + (p_hi - p_lo) * rng.random(cfg.views)
    return gan_seed, np.stack([yaws, pitches], 1)


def calibrated_ranges(cfg: GanDatagenConfig, control: PoseControl | None
                      ) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """The requested yaw and pitch ranges cut to the calibrated range of `cfg.method` (`condition`: the
    trained pose range), and a warning per cut.

    Raises:
        ToolError: a requested range lies wholly outside the calibrated range.
    """
    from tools.faces.condition import trained_range

    used, warnings = {}, []
    for k, (axis, (lo, hi)) in enumerate((("yaw", cfg.yaw), ("pitch", cfg.pitch))):
        c_lo, c_hi = trained_range(k) if control is None else control.calibration(cfg.method, axis).range
        cut = (max(lo, c_lo), min(hi, c_hi))
        if cut[0] > cut[1]:
            raise ToolError(f"--{axis} {lo:g}:{hi:g} lies outside this generator's calibrated {axis} range "
                            f"{c_lo:+.1f}..{c_hi:+.1f}°")
        if cut != (lo, hi):
            warnings.append(f"--{axis} {lo:g}:{hi:g} cut to the calibrated range {cut[0]:+.1f}..{cut[1]:+.1f}° "
                            f"(the generator does not turn further; each camera is written for its requested pose)")
        used[axis] = cut
    return used, warnings


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-1] == size:
        return images
    return torch.nn.functional.interpolate(images, size=(size, size), mode="area" if images.shape[-1] > size
                                           else "bilinear", antialias=False)


def render_sample(cfg: GanDatagenConfig, index: int, models: FacesModels, control: PoseControl | None,
                  reader: Reader, out: Path, ranges: dict[str, tuple[float, float]] | None = None,
                  reference: float | None = None) -> None:
    """Write sample `index` into `out/samples/<id>` atomically (skipped when present); poses are drawn in
    `ranges` (`{"yaw", "pitch"}`, default the config's). `control` None: `models.G` is pose-conditioned
    (`cfg.method == "condition"`). Identity drift is relative to `reference` (default: the control's)."""
    final = out / "samples" / sample_name(index)
    if final.is_dir():
        return
    ranges = ranges or {}
    gan_seed, poses = sample_plan(cfg, index, ranges.get("yaw"), ranges.get("pitch"))
    target = torch.from_numpy(poses).float()
    if control is None:
        from tools.faces import condition

        ws = condition.seed_identity_ws(models.G, [gan_seed], cfg.truncation)
        result = condition.closed_loop(models.G, reader, ws.expand(len(target), -1, -1), target)
    else:
        ws = seed_ws(models.G, [gan_seed], cfg.truncation)
        result = closed_loop(models.G, reader, control, ws.expand(len(target), -1, -1), target, cfg.method)
    images = _resize(result.images, cfg.size)
    tmp = out / "samples" / f".tmp-{sample_name(index)}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rgb = ((images + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1)
    cams = pose_cameras("heads", [(float(y), float(p), 0.0) for y, p in poses], cfg.size)
    write_views(tmp, rgb, cams, mask=key_masks(images))
    views = [{"yaw_deg": float(y), "pitch_deg": float(p), "roll_deg": 0.0, "yaw_measured_deg": float(m[0]),
              "pitch_measured_deg": float(m[1])} for (y, p), m in zip(poses, result.measured.tolist(), strict=True)]
    params: dict[str, Any] = {"kind": "gan", "index": index, "seed": gan_seed, "mesh": None, "views": views,
                              "w": ws[0, 0].tolist(), "truncation": cfg.truncation, "method": cfg.method,
                              "shape_code": [], "appearance_code": [], "assets": []}
    if models.analyzer is not None:
        ident = models.analyzer.identity(result.images)
        codes = models.analyzer.codes(result.images).mean(0).tolist()
        params["shape_code"], params["appearance_code"] = codes[:14], codes[14:]
        reference = reference or (control.report.get("identity_spread") if control is not None else None)
        if reference:
            params["identity_drift"] = identity_drift(ident[None], reference)["drift"]
    write_json(tmp / "params.json", params)
    os.replace(tmp, final)


def generate_from_gan(cfg: GanDatagenConfig, models: FacesModels, reader: Reader, out: str | os.PathLike,
                      progress: bool = True, warn: Callable[[str], None] | None = None) -> dict:
    """Render every missing sample, then the index (`write_index`); returns the index. Requested ranges
    are cut to the calibrated range (`calibrated_ranges`); each cut is passed to `warn`.

    Raises:
        ToolError: `out` holds a dataset with other settings, the generator has no pose control, or a
            requested range lies outside the calibrated one.
    """
    from tqdm import tqdm

    conditioned = cfg.method == "condition"
    if models.control is None and not conditioned:
        raise ToolError("this generator has no pose control yet: run `neurender faces --weights CKPT` once "
                        "(it writes CKPT's control.json into its --out; copy it beside CKPT as CKPT.control.json)")
    out = Path(out)
    control = None if conditioned else models.control
    ranges, warnings = calibrated_ranges(cfg, control)
    for line in warnings:
        (warn or (lambda _m: None))(line)
    settings = json.loads(json.dumps({**asdict(cfg), "yaw_used": ranges["yaw"], "pitch_used": ranges["pitch"]}))
    index_path = out / "dataset.json"
    if index_path.is_file():
        old = json.loads(index_path.read_text()).get("settings", {})
        if {k: v for k, v in old.items() if k != "identities"} != {k: v for k, v in settings.items()
                                                                   if k != "identities"}:
            raise ToolError(f"{out} holds a dataset with other settings; resume with the same ones or use "
                            "another --out")
    (out / "samples").mkdir(parents=True, exist_ok=True)
    for stale in (out / "samples").glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    with torch.no_grad():
        reference = None
        if conditioned:
            from tools.faces.condition import frontal_spread

            reference = frontal_spread(models.G, reader, truncation=cfg.truncation)
        for i in tqdm(range(cfg.identities), disable=not progress, desc="datagen gan", unit="identity"):
            render_sample(cfg, i, models, control, reader, out, ranges, reference)
    return write_index(out, settings, cfg.identities)


def run_gan_datagen(weights: Path | None, cfg: GanDatagenConfig, out: Path, progress: bool = True) -> dict:
    """`neurender datagen --from-gan`: load the faces models (`weights` replaces the embedded generator) and
    generate (range cuts are warned on stderr); returns the index. The embedded generator and a
    pose-conditioned `weights` run with `cfg.method = "condition"`, others with W-space control.

    Raises:
        CheckpointError: missing or corrupt weights.
        ToolError: the bundle has no analyzer, or the generator no pose control.
    """
    from tools.faces.bundle import load_models
    from tools.faces.readers import analyzer_reader
    from tools.rundir import check_out_dir

    check_out_dir(out)
    models = _conditioned_models(weights)
    if models is not None:
        cfg = dataclasses.replace(cfg, method="condition")
    else:
        models = load_models(weights)
    if models.analyzer is None:
        raise ToolError("the faces bundle has no head analyzer; it measures the poses datagen --from-gan records")
    return generate_from_gan(cfg, models, analyzer_reader(models.analyzer), out, progress,
                             lambda line: print(f"warning: {line}", file=sys.stderr))


def _conditioned_models(weights: Path | None) -> FacesModels | None:
    """The bundle with the embedded pose-conditioned generator (`weights` None) or `weights` when it is
    pose-conditioned; None for a W-space generator."""
    from tools.faces.analyzer import load_analyzer
    from tools.faces.bundle import ANALYZER, CONDITIONED, WEIGHTS_DIR
    from tools.faces.condition import is_pose_conditioned
    from tools.gan.networks import load_gan_network

    path = WEIGHTS_DIR / CONDITIONED if weights is None else weights
    if weights is not None and (weights.suffix != ".safetensors" or not weights.is_file()):
        return None
    G, fmt = load_gan_network(path)
    if not is_pose_conditioned(G):
        return None
    analyzer, extra = load_analyzer(WEIGHTS_DIR / ANALYZER)
    return FacesModels(G=G.eval(), analyzer=analyzer, control=None, source=f"{path} ({fmt})", analyzer_extra=extra)
