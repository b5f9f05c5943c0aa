"""`neurender datagen` datasets: browse samples, each its ground-truth mesh with the views as frustums.

Layout read (format `neurender-multiview`, see `scenes.datagen`): `dataset.json` lists finished
samples; `samples/NNNNNN/` holds `image_XXX.png`, `mask_XXX.png`, `depth_XXX.npy`,
`normals_XXX.png`, `cameras.json` (`{"views": [...]}`), `params.json` and the mesh it names. A
single sample folder opens on its own too.
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
    colorize_depth,
    frustum_scale,
    look_through,
    mesh_glb,
    panel_image,
    read_depth,
    read_image,
    require,
    scene_center,
    side_view,
)
from tools.view.report import Block, Images, Table

CHANNELS = ("image", "mask", "depth", "normals")
REPORT_SAMPLES = 8  # the HTML report shows the first samples only: it inlines every image


@dataclass
class Sample:
    """One sample folder."""

    path: Path
    cameras: list[RunCamera]
    params: dict
    mesh: Path

    def channel(self, name: str, v: int) -> np.ndarray:
        """`[H, W, 3]` uint8 of view v: image, mask, depth (false color) or normals."""
        if name == "depth":
            return colorize_depth(read_depth(self.path / f"depth_{v:03d}.npy"))
        return read_image(self.path / f"{name}_{v:03d}.png")

    def pose(self, v: int) -> str:
        views = self.params.get("views", [])
        if v < len(views) and isinstance(views[v], dict):
            p = {k: float(views[v].get(f"{k}_deg", 0.0)) for k in ("yaw", "pitch", "roll")}
            return f"yaw {p['yaw']:.1f}°, pitch {p['pitch']:.1f}°, roll {p['roll']:.1f}°"
        return ""


def open_sample(folder: Path) -> Sample:
    """Check and open one sample folder (every view's files, cameras, params, mesh)."""
    cams_path, params_path = require(folder, "datagen sample", "cameras.json", "params.json")
    cameras = load_cameras(cams_path)
    try:
        params = json.loads(params_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ToolError(f"{params_path}: unreadable ({e})") from None
    names = [f"{c}_{v:03d}.{'npy' if c == 'depth' else 'png'}" for v in range(len(cameras)) for c in CHANNELS]
    require(folder, "datagen sample", *names)
    (mesh,) = require(folder, "datagen sample", str(params.get("mesh", "mesh.obj")))
    return Sample(folder, cameras, params, mesh)


@dataclass
class DatagenPage:
    """A dataset: its index and its samples."""

    path: Path
    index: dict
    samples: list[Sample]
    kind: str = "datagen"

    @property
    def title(self) -> str:
        return f"datagen: {self.path.name}"

    def home(self) -> tuple[np.ndarray, np.ndarray]:
        cams = self.samples[0].cameras
        return side_view(cams[0], scene_center(cams))

    def show(self, server, root: str) -> None:
        gui = server.gui
        s = self.index.get("settings", {})
        gui.add_markdown(f"**{len(self.samples)} samples** of {s.get('kind', '?')}, {s.get('views', '?')} views, "
                         f"{s.get('size', '?')} px" + ("" if self.index.get("complete", True) else " (incomplete)"))
        sample = gui.add_slider("sample", 0, len(self.samples) - 1, 1, 0, disabled=len(self.samples) == 1)
        view = gui.add_slider("view", 0, max(len(c.cameras) for c in self.samples) - 1, 1, 0)
        channel = gui.add_dropdown("channel", CHANNELS, initial_value="image")
        shown = gui.add_image(panel_image(self.samples[0].channel("image", 0)), label="image 0")
        info = gui.add_markdown("")
        show_cams = gui.add_checkbox("cameras", True)
        look = gui.add_button("look through this view")
        state: dict[str, list] = {"nodes": [], "frustums": []}

        def current() -> tuple[Sample, int]:
            smp = self.samples[int(sample.value)]
            return smp, min(int(view.value), len(smp.cameras) - 1)

        def refresh_image(_=None) -> None:
            smp, v = current()
            shown.image = panel_image(smp.channel(channel.value, v))
            shown.label = f"{channel.value} {v}"
            info.content = f"`{smp.path.name}` seed {smp.params.get('seed', '?')}; view {v}: {smp.pose(v)}"

        def refresh_scene(_=None) -> None:
            for node in state["nodes"]:
                node.remove()
            smp, _v = current()
            target = scene_center(smp.cameras)
            mesh = server.scene.add_glb(f"{root}/mesh", mesh_glb(smp.mesh))
            frustums = add_frustums(server, f"{root}/cameras", smp.cameras,
                                    [smp.channel("image", v) for v in range(len(smp.cameras))],
                                    frustum_scale(smp.cameras, target))
            for h in frustums:
                h.visible = show_cams.value
            state["nodes"], state["frustums"] = [mesh, *frustums], frustums
            refresh_image()

        sample.on_update(refresh_scene)
        view.on_update(refresh_image)
        channel.on_update(refresh_image)

        @show_cams.on_update
        def _(_) -> None:
            for h in state["frustums"]:
                h.visible = show_cams.value

        @look.on_click
        def _(event) -> None:
            smp, v = current()
            if event.client is not None:
                look_through(event.client, smp.cameras[v])

        refresh_scene()

    def report(self) -> list[Block]:
        s = self.index.get("settings", {})
        blocks: list[Block] = [Table("dataset", {"samples": len(self.samples), "complete": self.index.get("complete"),
                                                 **{k: s[k] for k in ("kind", "views", "size", "seed") if k in s}})]
        for smp in self.samples[:REPORT_SAMPLES]:
            items = [(f"{c} {v}", smp.channel(c, v)) for v in range(len(smp.cameras)) for c in CHANNELS]
            blocks.append(Images(f"sample {smp.path.name} (seed {smp.params.get('seed', '?')})", items))
        return blocks


def open_datagen(run: Path) -> DatagenPage:
    """Open a dataset folder (its index and every listed sample) or one sample folder."""
    if (run / "params.json").is_file() and not (run / "dataset.json").is_file():
        return DatagenPage(run, {}, [open_sample(run)])
    (index_path,) = require(run, "datagen", "dataset.json")
    try:
        index = json.loads(index_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ToolError(f"{index_path}: unreadable dataset index ({e})") from None
    entries = index.get("samples") if isinstance(index, dict) else None
    if not isinstance(entries, list):
        raise ToolError(f"{index_path}: not a dataset index (no samples list)")
    if not entries:
        raise ToolError(f"{run}: the dataset has no finished samples yet")
    samples = []
    for e in entries:
        folder = run / str(e.get("dir", f"samples/{e.get('id', '')}"))
        if not folder.is_dir():
            raise ToolError(f"{run}: datagen run is missing {folder.relative_to(run)} (listed in dataset.json)")
        samples.append(open_sample(folder))
    return DatagenPage(run, index, samples)


def _matches(run: Path) -> bool:
    return ((run / "dataset.json").is_file() and (run / "samples").is_dir()) or (
        (run / "params.json").is_file() and (run / "cameras.json").is_file())


KIND = RunKind("datagen", "dataset.json + samples/ (neurender datagen)", _matches, open_datagen)
