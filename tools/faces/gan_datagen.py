"""`neurender datagen --from-gan`: the pose-controlled generator as a multi-view data engine.

Each sample is one generated identity seen from `views` requested poses (yaw stratified over the yaw
range, pitch uniform in the pitch range, both drawn from (seed, index)), rendered by closed-loop pose
control and written in the data engine's `neurender-multiview/1` layout (scenes/DATASET.md) through
`scenes.multiview`: RGB views, background-keyed masks, and `cameras.json` holding the data engine's
head-rig cameras (`scenes.samples.pose_cameras("heads", …)`) for the controlled poses, so render3d uses
them as they are. `params.json` adds the measured poses, the latent, the identity descriptor (as
estimated head codes) and the identity's drift across its views.
"""

from __future__ import annotations

import json
import math
import os
import shutil
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
        method: pose-control method.
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
                  (self.method in METHODS, f"--method must be one of {', '.join(METHODS)}"),
                  (all(math.isfinite(v) for v in (*self.yaw, *self.pitch)), "pose ranges must be finite"),
                  (self.yaw[0] <= self.yaw[1] and self.pitch[0] <= self.pitch[1], "pose ranges must be LOW:HIGH"),
                  (abs(self.pitch[0]) < 90 and abs(self.pitch[1]) < 90, "pitch must stay within ±90°"),
                  (0 <= self.seed < 2**31, f"--seed must be within 0..2^31-1, got {self.seed}")]
        for ok, msg in checks:
            if not ok:
                raise ToolError(msg)


def sample_plan(cfg: GanDatagenConfig, index: int) -> tuple[int, np.ndarray]:
    """The generator seed and `[V, 2]` requested (yaw, pitch) of sample `index`."""
    rng = np.random.default_rng([cfg.seed, index, 17])
    gan_seed = int(rng.integers(0, 2**31 - 1))
    lo, hi = cfg.yaw
    strata = (np.arange(cfg.views) + rng.random(cfg.views)) / cfg.views
    yaw = lo + (hi - lo) * strata
    pitch = cfg.pitch[0] + (cfg.pitch[1] - cfg.pitch[0]) * rng.random(cfg.views)
    return gan_seed, np.stack([yaw, pitch], 1)


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-1] == size:
        return images
    return torch.nn.functional.interpolate(images, size=(size, size), mode="area" if images.shape[-1] > size
                                           else "bilinear", antialias=False)


def render_sample(cfg: GanDatagenConfig, index: int, models: FacesModels, control: PoseControl, reader: Reader,
                  out: Path) -> None:
    """Write sample `index` into `out/samples/<id>` atomically (skipped when present)."""
    final = out / "samples" / sample_name(index)
    if final.is_dir():
        return
    gan_seed, poses = sample_plan(cfg, index)
    ws = seed_ws(models.G, [gan_seed], cfg.truncation)
    target = torch.from_numpy(poses).float()
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
        reference = control.report.get("identity_spread")
        if reference:
            params["identity_drift"] = identity_drift(ident[None], reference)["drift"]
    write_json(tmp / "params.json", params)
    os.replace(tmp, final)


def generate_from_gan(cfg: GanDatagenConfig, models: FacesModels, reader: Reader, out: str | os.PathLike,
                      progress: bool = True) -> dict:
    """Render every missing sample, then the index (`write_index`); returns the index.

    Raises:
        ToolError: `out` holds a dataset with other settings, or the generator has no pose control.
    """
    from tqdm import tqdm

    if models.control is None:
        raise ToolError("this generator has no pose control yet: run `neurender faces --weights CKPT` once "
                        "(it writes CKPT's control.json into its --out; copy it beside CKPT as CKPT.control.json)")
    out = Path(out)
    settings = json.loads(json.dumps(asdict(cfg)))
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
        for i in tqdm(range(cfg.identities), disable=not progress, desc="datagen gan", unit="identity"):
            render_sample(cfg, i, models, models.control, reader, out)
    return write_index(out, settings, cfg.identities)


def run_gan_datagen(weights: Path | None, cfg: GanDatagenConfig, out: Path, progress: bool = True) -> dict:
    """`neurender datagen --from-gan`: load the faces models (`weights` replaces the embedded generator) and
    generate; returns the index.

    Raises:
        CheckpointError: missing or corrupt weights.
        ToolError: the bundle has no analyzer, or the generator no pose control.
    """
    from tools.faces.bundle import load_models
    from tools.faces.readers import analyzer_reader
    from tools.rundir import check_out_dir

    check_out_dir(out)
    models = load_models(weights)
    if models.analyzer is None:
        raise ToolError("the faces bundle has no head analyzer; it measures the poses datagen --from-gan records")
    return generate_from_gan(cfg, models, analyzer_reader(models.analyzer), out, progress)
