"""`neurender pc2img CLOUD|COLMAP_DIR`: the library function behind the command, and its run directory.

Layout of `--out` (written all-or-nothing through `tools.rundir.staged_dir`):

    image_000.png …       the refined photo of each camera, at that camera's width × height
    splat_000.png …       the naive z-buffered splat (the pipeline's input, colors over the background)
    visibility_000.png …  the learned visibility of each covered pixel (white = seen)
    coarse_000.png …      the coarse stage's image
    sheet.png             one row per view (at most 8): splat, visibility, coarse, refined
    cameras.json          per view K, R, t, width, height (the format `neurender render` writes)
    config.json           the resolved run: input, cameras, weights, background, model config, timings
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from render3d.cameras import Cameras
from render3d.io import contact_sheet, save_png
from tools.errors import ToolError
from tools.pc2img.fit import is_scene, load_scene
from tools.pc2img.inputs import load_cameras_json, load_input, orbit_cameras, resize_camera
from tools.pc2img.pipeline import prepare_cloud, render_views
from tools.pc2img.weights import DEFAULT_WEIGHTS, load_weights
from tools.rundir import staged_dir

SHEET_ROWS = 8


@dataclass(frozen=True)
class Pc2ImgJob:
    """What to render.

    Attributes:
        source: a point-cloud file, a COLMAP model folder, or a fitted scene folder (`pc2img fit`).
        cameras: a `cameras.json`; None: the COLMAP model's own cameras, or an orbit.
        views / elevation: the orbit (when there are no cameras).
        size: orbit image side; with cameras, their longer side is scaled to it (None keeps them).
        weights: model file (None: the shipped weights).
        background: RGB in [0, 1] behind the rendered points.
    """

    source: str
    cameras: str | None = None
    views: int = 4
    elevation: float = 20.0
    size: int | None = None
    weights: str | None = None
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        if not 1 <= self.views <= 360:
            raise ToolError(f"--views must be within 1..360, got {self.views}")
        if not -89.0 <= self.elevation <= 89.0:
            raise ToolError(f"--elevation must be within -89..89 degrees, got {self.elevation}")
        if self.size is not None and not 16 <= self.size <= 4096:
            raise ToolError(f"--size must be within 16..4096 pixels, got {self.size}")
        if len(self.background) != 3 or not all(0.0 <= c <= 1.0 for c in self.background):
            raise ToolError(f"--background must be three numbers in [0, 1], got {self.background}")


def parse_background(text: str) -> tuple[float, float, float]:
    """`"1,1,1"` → (1.0, 1.0, 1.0).

    Raises:
        ToolError: not three numbers in [0, 1].
    """
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ToolError(f"--background must be R,G,B in [0, 1], got {text!r}") from None
    if len(values) != 3 or not all(0.0 <= v <= 1.0 for v in values):
        raise ToolError(f"--background must be R,G,B in [0, 1], got {text!r}")
    return values  # type: ignore[return-value]


def job_cameras(job: Pc2ImgJob, points: torch.Tensor, own: list[Cameras] | None) -> tuple[list[Cameras], str]:
    """The cameras to render and where they came from."""
    if job.cameras is not None:
        cams, where = load_cameras_json(job.cameras), f"cameras.json {job.cameras}"
    elif own:
        cams, where = own, "COLMAP images"
    else:
        return orbit_cameras(points, job.views, job.elevation, job.size or 256), "orbit"
    return ([resize_camera(c, job.size) for c in cams] if job.size else cams), where


def _cameras_json(cams: list[Cameras]) -> list[dict]:
    return [dict(K=c.K[0].tolist(), R=c.R[0].tolist(), t=c.t[0].tolist(), width=c.width, height=c.height)
            for c in cams]


def run_pc2img(job: Pc2ImgJob, out: str | os.PathLike) -> list[Path]:
    """Render every camera of `job` into the run directory `out`; returns the files written.

    Raises:
        ToolError: bad input (empty / NaN cloud, unreadable model or weights, bad cameras, a camera
            that sees no point); nothing is written then.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    if is_scene(job.source):  # a fitted scene carries its own model and learned point features
        weights, extra = Path(job.source) / "scene.safetensors", {"fitted_scene": job.source}
        model, cloud = load_scene(job.source)
        cams, where = job_cameras(job, cloud.points, None)
        has_colors, has_normals = True, cloud.normals is not None
    else:
        scene = load_input(job.source)
        cams, where = job_cameras(job, scene.points, scene.cameras)
        weights = Path(job.weights) if job.weights else DEFAULT_WEIGHTS
        model, extra = load_weights(weights)
        t0 = time.perf_counter()
        cloud = prepare_cloud(scene.points, scene.colors, scene.normals, model.config.splat, model.config.spacing_k)
        has_colors, has_normals = scene.colors is not None, scene.normals is not None
    prep = time.perf_counter() - t0
    bg = torch.tensor(job.background)
    results, seconds = [], []
    with torch.no_grad():
        for i, cam in enumerate(tqdm(cams, unit="view", desc="pc2img", disable=len(cams) < 4)):
            t = time.perf_counter()
            try:
                results.append(render_views(model, cloud, cam, bg))
            except ToolError as e:
                raise ToolError(f"view {i} ({where}): {e}") from None
            seconds.append(time.perf_counter() - t)
    written: list[Path] = []
    with staged_dir(out) as stage:
        rows = []
        for i, r in enumerate(results):
            vis = torch.where(r.buffers.mask[0, ..., None], r.visibility[0, ..., None].expand(-1, -1, 3),
                              torch.zeros(1, 1, 3))
            for name, img in (("image", r.image[0]), ("splat", r.splat[0]), ("visibility", vis),
                              ("coarse", r.coarse[0])):
                save_png(stage / f"{name}_{i:03d}.png", img)
                written.append(Path(out) / f"{name}_{i:03d}.png")
            if i < SHEET_ROWS:
                rows += [r.splat[0], vis, r.coarse[0], r.image[0]]
        save_png(stage / "sheet.png", contact_sheet(rows, cols=4))
        (stage / "cameras.json").write_text(json.dumps(_cameras_json(cams), indent=2) + "\n")
        config = {"job": asdict(job), "cameras_from": where, "weights": str(weights), "weights_info": extra,
                  "model": model.config.to_dict(), "points": cloud.num_points,
                  "has_colors": has_colors, "has_normals": has_normals,
                  "spacing_median": float(cloud.radius.median()) / model.config.splat.radius_scale,
                  "seconds": {"prepare_cloud": round(prep, 4), "per_view": [round(s, 4) for s in seconds]}}
        (stage / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return [*written, Path(out) / "sheet.png", Path(out) / "cameras.json", Path(out) / "config.json"]
