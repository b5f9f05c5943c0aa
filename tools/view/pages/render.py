"""`neurender render` runs: the views as frustums with their images, and the depth maps fused into a cloud.

Two layouts share the page. An orbit render of an asset file writes `cameras.json`, `config.json`,
`rgb_000.png`, `mask_000.png`, `depth_000.npy`, `normal_000.png` … flat; a scene-file render writes
`scene.yaml`, `cameras.json` and one folder per output (`rgb/frame_000.png`, `depth/frame_000.npy`,
`normals/`, `mask/` …) plus `turntable.gif` (and `turntable.mp4`). Neither holds the mesh, so the
3D view shows what the cameras saw: every depth pixel lifted back into the world with its color.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.errors import ToolError
from tools.view.cameras import RunCamera, load_cameras, unproject_depth
from tools.view.pages.base import (
    RunKind,
    add_frustums,
    colorize_depth,
    frustum_scale,
    look_through,
    panel_image,
    read_depth,
    read_image,
    require,
    scene_center,
    side_view,
)
from tools.view.report import Block, Images, Table

MAX_POINTS = 150_000
OUTPUTS = ("rgb", "depth", "normal", "mask")  # display names; the scene layout calls normals `normals`


@dataclass
class RenderPage:
    """A render run: cameras, per-view images by output, and the fused depth cloud."""

    path: Path
    cameras: list[RunCamera]
    files: dict[str, list[Path]]  # output name → one file per view (PNG; depth: the .npy)
    kind: str = "render"

    @property
    def title(self) -> str:
        return f"render: {self.path.name}"

    def image(self, output: str, i: int) -> np.ndarray:
        """`[H, W, 3]` uint8 of view i for one output (depth false-colored)."""
        f = self.files[output][i]
        return colorize_depth(read_depth(f)) if f.suffix == ".npy" else read_image(f)

    def cloud(self) -> tuple[np.ndarray, np.ndarray] | None:
        """`(points [N, 3] float32, colors [N, 3] uint8)` from all views' depth, or None without depth."""
        if "depth" not in self.files:
            return None
        c0 = self.cameras[0]
        stride = max(1, int(np.ceil(np.sqrt(len(self.cameras) * c0.width * c0.height / MAX_POINTS))))
        pts, cols = [], []
        for i, cam in enumerate(self.cameras):
            depth = read_depth(self.files["depth"][i])
            if depth.shape != (cam.height, cam.width):
                raise ToolError(f"{self.files['depth'][i]}: depth is {depth.shape[1]}x{depth.shape[0]}, "
                                f"the camera {cam.width}x{cam.height}")
            p, pix = unproject_depth(depth, cam, stride)
            rgb = self.image("rgb", i) if "rgb" in self.files else np.full((*depth.shape, 3), 160, np.uint8)
            pts.append(p)
            cols.append(rgb[pix[:, 0], pix[:, 1]])
        return np.concatenate(pts), np.concatenate(cols)

    def home(self) -> tuple[np.ndarray, np.ndarray]:
        return side_view(self.cameras[0], scene_center(self.cameras))

    def show(self, server, root: str) -> None:
        target = scene_center(self.cameras)
        scale = frustum_scale(self.cameras, target)
        main = "rgb" if "rgb" in self.files else next(iter(self.files))
        frustums = add_frustums(server, f"{root}/cameras", self.cameras,
                                [self.image(main, i) for i in range(len(self.cameras))], scale)
        cloud = self.cloud()
        if cloud is not None:
            server.scene.add_point_cloud(f"{root}/points", cloud[0], cloud[1], point_size=scale * 0.015,
                                         point_shape="circle")
        gui = server.gui
        gui.add_markdown(f"**{len(self.cameras)} views**, {self.cameras[0].width}×{self.cameras[0].height}"
                         + ("" if cloud is None else f"; {len(cloud[0])} depth points"))
        output = gui.add_dropdown("output", tuple(self.files), initial_value=main)
        view = gui.add_slider("view", 0, len(self.cameras) - 1, 1, 0)
        shown = gui.add_image(panel_image(self.image(main, 0)), label=f"{main} 0")
        show_cams = gui.add_checkbox("cameras", True)
        look = gui.add_button("look through this view")

        def refresh(_=None) -> None:
            shown.image = panel_image(self.image(output.value, int(view.value)))
            shown.label = f"{output.value} {int(view.value)}"

        output.on_update(refresh)
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
        n = len(self.cameras)
        blocks: list[Block] = [Table("run", {"views": n, "size": f"{self.cameras[0].width}x{self.cameras[0].height}",
                                             "outputs": ", ".join(self.files)})]
        for name in self.files:
            blocks.append(Images(name, [(f"view {i}", self.image(name, i)) for i in range(min(n, 12))]))
        turn = [(p.name, p) for p in (self.path / "turntable.mp4", self.path / "turntable.gif") if p.is_file()]
        if turn:
            blocks.append(Images("turntable", turn))
        return blocks


def _orbit_files(run: Path, n: int) -> dict[str, list[Path]]:
    files: dict[str, list[Path]] = {}
    for name in OUTPUTS:
        ext = ".npy" if name == "depth" else ".png"
        if (run / f"{name}_000{ext}").exists():
            files[name] = require(run, "render", *[f"{name}_{i:03d}{ext}" for i in range(n)])
    return files


def _scene_files(run: Path, n: int) -> dict[str, list[Path]]:
    files: dict[str, list[Path]] = {}
    for name, folder in (("rgb", "rgb"), ("depth", "depth"), ("normal", "normals"), ("mask", "mask"),
                         ("albedo", "albedo")):
        ext = ".npy" if name == "depth" else ".png"
        if (run / folder).is_dir():
            files[name] = require(run, "render", *[f"{folder}/frame_{i:03d}{ext}" for i in range(n)])
    return files


def open_render(run: Path) -> RenderPage:
    """Open an orbit or scene render run (every view of every output present, cameras readable)."""
    (cams_path,) = require(run, "render", "cameras.json")
    cameras = load_cameras(cams_path)
    files = _scene_files(run, len(cameras)) if (run / "scene.yaml").is_file() else _orbit_files(run, len(cameras))
    if not files:
        raise ToolError(f"{run}: render run without images (no rgb_000.png or rgb/frame_000.png)")
    return RenderPage(run, cameras, files)


def _matches(run: Path) -> bool:
    if not (run / "cameras.json").is_file():
        return False
    return (run / "scene.yaml").is_file() or (run / "config.json").is_file() or (run / "sheet.png").is_file()


KIND = RunKind("render", "cameras.json with scene.yaml or config.json (neurender render)", _matches, open_render)
