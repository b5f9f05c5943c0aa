"""`neurender pc2img` runs: the point cloud with the cameras, each frustum carrying its refined image, and the stages.

Layout read (see `tools.pc2img.render`): `image_XXX.png` (refined), `splat_XXX.png` (naive splat,
the pipeline's input), `visibility_XXX.png`, `coarse_XXX.png`, `sheet.png`, `cameras.json` and
`config.json`, whose `job.source` names the cloud (a point-cloud file or a COLMAP model). The
cloud lives outside the run and may have moved: then the panel says so and shows the cameras only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.errors import ToolError
from tools.view.cameras import RunCamera, load_cameras
from tools.view.pages.base import (
    RunKind,
    add_frustums,
    frustum_scale,
    look_through,
    panel_image,
    read_image,
    require,
    scene_center,
    side_view,
)
from tools.view.report import Block, Images, Table

STAGES = ("image", "splat", "visibility", "coarse")
MAX_POINTS = 200_000  # the browser draws every point; more only slows it down


@dataclass
class Pc2ImgPage:
    """A pc2img run."""

    path: Path
    cameras: list[RunCamera]
    config: dict
    cloud: tuple[np.ndarray, np.ndarray] | None  # (points [N, 3], colors [N, 3] uint8); None: source gone

    kind: str = "pc2img"

    @property
    def title(self) -> str:
        return f"pc2img: {self.path.name}"

    def stage(self, name: str, i: int) -> np.ndarray:
        return read_image(self.path / f"{name}_{i:03d}.png")

    def home(self) -> tuple[np.ndarray, np.ndarray]:
        return side_view(self.cameras[0], scene_center(self.cameras))

    def show(self, server, root: str) -> None:
        target = scene_center(self.cameras)
        scale = frustum_scale(self.cameras, target)
        frustums = add_frustums(server, f"{root}/cameras", self.cameras,
                                [self.stage("image", i) for i in range(len(self.cameras))], scale)
        cloud = self.cloud
        if cloud is not None:
            server.scene.add_point_cloud(f"{root}/points", cloud[0], cloud[1], point_size=scale * 0.01,
                                         point_shape="circle")
        gui = server.gui
        note = f"{len(cloud[0])} points shown" if cloud is not None else "source cloud not found: cameras only"
        gui.add_markdown(f"**{len(self.cameras)} views** of `{self.config.get('job', {}).get('source', '?')}` "
                         f"({self.config.get('points', '?')} points; {note})")
        stage = gui.add_dropdown("stage", STAGES, initial_value="image")
        view = gui.add_slider("view", 0, len(self.cameras) - 1, 1, 0, disabled=len(self.cameras) == 1)
        shown = gui.add_image(panel_image(self.stage("image", 0)), label="image 0")
        inputs = gui.add_image(panel_image(self.stage("splat", 0)), label="splat 0 (the pipeline's input)")
        show_cams = gui.add_checkbox("cameras", True)
        look = gui.add_button("look through this view")

        def refresh(_=None) -> None:
            i = int(view.value)
            shown.image = panel_image(self.stage(stage.value, i))
            shown.label = f"{stage.value} {i}"
            inputs.image = panel_image(self.stage("splat", i))
            inputs.label = f"splat {i} (the pipeline's input)"

        stage.on_update(refresh)
        view.on_update(refresh)

        @show_cams.on_update
        def _(_) -> None:
            for h in frustums:
                h.visible = show_cams.value

        @look.on_click
        def _(event) -> None:
            if event.client is not None:
                look_through(event.client, self.cameras[int(view.value)])

    def report(self) -> list[Block]:
        n = min(len(self.cameras), 12)
        secs = self.config.get("seconds", {}).get("per_view", [])
        blocks: list[Block] = [Table("run", {"source": self.config.get("job", {}).get("source", "?"),
                                             "points": self.config.get("points", "?"), "views": len(self.cameras),
                                             "weights": self.config.get("weights", "?"),
                                             "seconds per view": float(np.median(secs)) if secs else "?"})]
        blocks += [Images(name, [(f"{name} {i}", self.stage(name, i)) for i in range(n)]) for name in STAGES]
        return blocks


def _source(run: Path, config: dict) -> Path | None:
    name = config.get("job", {}).get("source") if isinstance(config.get("job"), dict) else None
    if not isinstance(name, str):
        return None
    p = Path(name)
    for cand in (p, run.parent / p):  # recorded as typed: as is, then relative to the run's parent
        if cand.exists():
            return cand
    return None


def _load_cloud(source: Path) -> tuple[np.ndarray, np.ndarray]:
    """The source cloud (subsampled to MAX_POINTS) through the pc2img job's own loader."""
    from render3d.errors import Render3DError
    from tools.pc2img.inputs import load_input

    try:
        scene = load_input(source)
    except (ToolError, Render3DError) as e:
        raise ToolError(f"{source} (the run's source): {e}") from None
    pts = scene.points.detach().cpu().numpy().astype(np.float32)
    cols = (np.full((len(pts), 3), 120, np.uint8) if scene.colors is None
            else (scene.colors.detach().cpu().numpy().clip(0, 1) * 255 + 0.5).astype(np.uint8))
    if len(pts) > MAX_POINTS:
        keep = np.random.default_rng(0).choice(len(pts), MAX_POINTS, replace=False)
        pts, cols = pts[keep], cols[keep]
    return pts, cols


def open_pc2img(run: Path) -> Pc2ImgPage:
    """Open a pc2img run (cameras, config and every stage image of every view)."""
    cams_path, config_path = require(run, "pc2img", "cameras.json", "config.json")
    cameras = load_cameras(cams_path)
    require(run, "pc2img", *[f"{s}_{i:03d}.png" for i in range(len(cameras)) for s in STAGES])
    try:
        config = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ToolError(f"{config_path}: unreadable ({e})") from None
    if not isinstance(config, dict):
        raise ToolError(f"{config_path}: expected a JSON object")
    source = _source(run, config)
    return Pc2ImgPage(run, cameras, config, None if source is None else _load_cloud(source))


def _matches(run: Path) -> bool:
    return (run / "cameras.json").is_file() and (run / "splat_000.png").is_file()


KIND = RunKind("pc2img", "cameras.json + splat_000.png + image_000.png (neurender pc2img)", _matches, open_pc2img)
