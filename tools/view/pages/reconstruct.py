"""`neurender reconstruct` runs: the textured mesh, the input camera with the photo on it, views, metrics.

Layout read: `mesh.glb` (or `mesh.obj` + `.mtl` + texture), `camera.json` (the input view, OpenCV,
in the photo's pixels), `metrics.json`, `views/view_XXX_azYYY.png`, `mask.png`, `report.png`,
`turntable.gif` (+ `turntable.mp4`), `config.json` (its `image` names the input photo, which lives
outside the run and may have moved: then the panel says so and shows the mask instead).
"""

from __future__ import annotations

import base64
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
    mesh_glb,
    panel_image,
    read_image,
    require,
    side_view,
)
from tools.view.report import Block, Images, Table, Text


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ToolError(f"{path}: unreadable JSON ({e})") from None
    if not isinstance(data, dict):
        raise ToolError(f"{path}: expected a JSON object")
    return data


@dataclass
class ReconstructPage:
    """A reconstruction run."""

    path: Path
    mesh: Path
    camera: RunCamera
    metrics: dict
    views: list[Path]
    photo: Path | None  # the input photo when it can still be found
    kind: str = "reconstruct"

    @property
    def title(self) -> str:
        return f"reconstruct: {self.path.name}"

    def input_image(self) -> np.ndarray:
        """The input photo, or the run's mask when the photo is gone."""
        return read_image(self.photo if self.photo is not None else self.path / "mask.png")

    def home(self) -> tuple[np.ndarray, np.ndarray]:
        return side_view(self.camera, np.zeros(3))

    def show(self, server, root: str) -> None:
        # The baked texture already holds the photo's lighting: shown unlit, as the run's own views show it.
        server.scene.add_glb(f"{root}/mesh", mesh_glb(self.mesh, unlit=True))
        target = np.zeros(3)
        (frustum,) = add_frustums(server, f"{root}/input_camera", [self.camera], [self.input_image()],
                                  frustum_scale([self.camera], target), color=(230, 120, 20))
        gui = server.gui
        photo_note = "" if self.photo is not None else " (photo not found; showing the mask)"
        gui.add_image(panel_image(self.input_image()), label=f"input{photo_note}")
        if self.views:
            gui.add_image(panel_image(read_image(self.views[0])), label=f"fit: {self.views[0].stem}")
        gui.add_markdown(_metrics_markdown(self.metrics))
        if self.views:
            view = gui.add_slider("view", 0, len(self.views) - 1, 1, 0)
            shown = gui.add_image(panel_image(read_image(self.views[0])), label=self.views[0].stem)

            @view.on_update
            def _(_) -> None:
                shown.image = panel_image(read_image(self.views[int(view.value)]))
                shown.label = self.views[int(view.value)].stem

        gif = self.path / "turntable.gif"
        if gif.is_file():
            uri = "data:image/gif;base64," + base64.b64encode(gif.read_bytes()).decode("ascii")
            gui.add_html(f'<img src="{uri}" style="width:100%" alt="turntable">')
        show_cam = gui.add_checkbox("input camera", True)
        look = gui.add_button("look through the input camera")

        @show_cam.on_update
        def _(_) -> None:
            frustum.visible = show_cam.value

        @look.on_click
        def _(event) -> None:
            if event.client is not None:
                look_through(event.client, self.camera)

    def report(self) -> list[Block]:
        blocks: list[Block] = []
        fit = [(f"fit: {self.views[0].stem}", self.views[0])] if self.views else []
        label = "input photo" if self.photo is not None else "mask (input photo not found)"
        blocks.append(Images("input and fit", [(label, self.input_image()), *fit]))
        blocks.append(Table("metrics", self.metrics))
        if self.views:
            blocks.append(Images("views", [(p.stem, p) for p in self.views]))
        turn = [(p.name, p) for p in (self.path / "turntable.mp4", self.path / "turntable.gif") if p.is_file()]
        if turn:
            blocks.append(Images("turntable", turn))
        if (self.path / "report.png").is_file():
            blocks.append(Images("report sheet", [("report.png", self.path / "report.png")]))
        blocks.append(Text("mesh", f"{self.mesh.name} (open in any glTF viewer, or `neurender view {self.path}`)"))
        return blocks


def _metrics_markdown(metrics: dict) -> str:
    rows = "\n".join(f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items())
    return f"| metric | value |\n| --- | --- |\n{rows}"


def _photo(run: Path, config: dict) -> Path | None:
    name = config.get("image")
    if not isinstance(name, str):
        return None
    p = Path(name)
    # The run records the path as typed; try it as is, then relative to the run's parent.
    for cand in (p, run.parent / p, run / p.name):
        if cand.is_file():
            return cand
    return None


def open_reconstruct(run: Path) -> ReconstructPage:
    """Open a reconstruction run (camera, mesh and metrics must be present)."""
    (cam_path, metrics_path) = require(run, "reconstruct", "camera.json", "metrics.json")
    mesh = run / "mesh.glb" if (run / "mesh.glb").is_file() else run / "mesh.obj"
    if not mesh.is_file():
        raise ToolError(f"{run}: reconstruct run is missing mesh.glb (and mesh.obj)")
    (camera,) = load_cameras(cam_path)[:1]
    config = _read_json(run / "config.json") if (run / "config.json").is_file() else {}
    views = sorted((run / "views").glob("view_*.png"))
    return ReconstructPage(run, mesh, camera, _read_json(metrics_path), views, _photo(run, config))


def _matches(run: Path) -> bool:
    return (run / "camera.json").is_file() or ((run / "metrics.json").is_file() and (run / "views").is_dir())


KIND = RunKind("reconstruct", "camera.json + mesh.glb + metrics.json (neurender reconstruct)", _matches,
               open_reconstruct)
