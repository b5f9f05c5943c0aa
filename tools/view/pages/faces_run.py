"""`neurender faces` runs: the live pose page over the generator the run used.

Layout read (see `tools.faces.job`): `poses.json` (requested and measured pose per view),
`metrics.json` and `config.json` (the job: `weights`, None for the embedded generator, `method`,
`truncation`). The sliders span the yaw and pitch the run asked for (at least ±40° yaw and ±15°
pitch, the range the faces job is measured on); moving them renders the pose live, in closed loop,
and shows the measured pose.
"""

from __future__ import annotations

import json
from pathlib import Path

from tools.errors import ToolError
from tools.view.pages.base import RunKind, require
from tools.view.pages.faces import FacesPage

FILES = ("poses.json", "metrics.json", "config.json")
MIN_YAW, MIN_PITCH = 40.0, 15.0


def _matches(path: Path) -> bool:
    return all((path / name).is_file() for name in FILES)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ToolError(f"{path}: unreadable faces run file ({e})") from None
    if not isinstance(data, dict):
        raise ToolError(f"{path}: expected a JSON object")
    return data


def slider_range(values: list[float], at_least: float) -> tuple[float, float]:
    """Slider limits covering the requested `values` and at least ±`at_least` degrees.

    Example:
        >>> slider_range([-60.0, 0.0, 20.0], 40.0)
        (-60.0, 40.0)
    """
    return min([-at_least, *values]), max([at_least, *values])


def open_faces(run: Path) -> FacesPage:
    """The live page of a faces run.

    Raises:
        ToolError: a run file is missing or unreadable, or the generator it names cannot be loaded.
    """
    poses_path, _, config_path = require(run, "faces", *FILES)
    views = _read_json(poses_path).get("views")
    config = _read_json(config_path)
    if not isinstance(views, list) or not all(isinstance(v, dict) and {"yaw", "pitch"} <= set(v) for v in views):
        raise ToolError(f"{poses_path}: 'views' must be a list of objects with 'yaw' and 'pitch'")
    from gan2d.errors import Gan2DError
    from tools.faces.bundle import load_models
    from tools.faces.live import face_generator

    weights, method = config.get("weights"), str(config.get("method", "direction"))
    truncation = float(config.get("truncation", 0.7))
    try:
        if method == "condition":
            from tools.faces.analyzer import load_analyzer
            from tools.faces.bundle import ANALYZER, CONDITIONED, WEIGHTS_DIR
            from tools.faces.condition import load_conditioned
            from tools.faces.live import condition_generator

            G, _ = load_conditioned(Path(weights) if weights else WEIGHTS_DIR / CONDITIONED)
            generator = condition_generator(G, load_analyzer(WEIGHTS_DIR / ANALYZER)[0], truncation)
        else:
            generator = face_generator(load_models(None if weights is None else Path(weights)), method, truncation)
    except Gan2DError as e:
        raise ToolError(f"{run}: cannot load the run's generator ({e})") from None
    return FacesPage(run, generator,
                     yaw_range=slider_range([float(v["yaw"]) for v in views], MIN_YAW),
                     pitch_range=slider_range([float(v["pitch"]) for v in views], MIN_PITCH))


KIND = RunKind("faces", "poses.json + metrics.json + config.json (neurender faces)", _matches, open_faces)
