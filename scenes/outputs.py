"""The run directory of a scene render: what people open and what programs read back.

Layout (only the outputs the scene asks for):

    scene.yaml             the resolved scene (re-render with `neurender render scene.yaml`)
    cameras.json           per frame: K, R, t (world→camera, OpenCV), width, height
    rgb/frame_000.png      RGB, or RGBA when the background is transparent
    depth/frame_000.npy    float32 camera z (0 = background), and depth/frame_000.png false color
    normals/frame_000.png  world normals mapped (n + 1) / 2, black background
    mask/frame_000.png     white = object
    instance/frame_000.png 8-bit instance ids (0 = background), and instance/frame_000_color.png
    albedo/frame_000.png   unlit base color
    sheet.png              contact sheet: one row per frame (at most 8), one column per output
    turntable.gif          when there is more than one frame, and turntable.mp4 (H.264) beside it

Every file is written atomically and contains no timestamps, so re-rendering a scene rewrites
byte-identical files. Writing into the folder of an earlier scene render first removes the files
of that render this one does not rewrite (known from its own `cameras.json` and `scene.yaml`, so
the folder never mixes two runs); files neurender did not write are never touched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import torch

from render3d.cameras import Cameras
from render3d.io import atomic_write, colorize_depth, contact_sheet, save_gif, save_npy, save_png
from render3d.io.video import save_mp4
from scenes.errors import SceneFileError
from scenes.fileio import load_scene, save_scene
from scenes.result import SceneRender
from scenes.schema import SceneSpec

SHEET_ROWS = 8


def instance_colors(instance: torch.Tensor) -> torch.Tensor:
    """`[H, W]` ids → `[H, W, 3]` distinct colors (golden-ratio hues; background black)."""
    ids = instance.long()
    hue = (ids.float() * 0.618034) % 1.0
    k = (torch.tensor([5.0, 3.0, 1.0]) + hue[..., None] * 6) % 6
    rgb = 1 - 0.8 * torch.clamp(torch.minimum(k, 4 - k), 0, 1)
    return rgb * (ids > 0)[..., None]


def cameras_json(cameras: Cameras) -> list[dict]:
    """Per camera `{"K", "R", "t", "width", "height"}` as nested lists (OpenCV, world→camera)."""
    return [{"K": cameras.K[i].tolist(), "R": cameras.R[i].tolist(), "t": cameras.t[i].tolist(),
             "width": cameras.width, "height": cameras.height} for i in range(len(cameras))]


def write_json(path: str | os.PathLike, data: object) -> Path:
    """Pretty JSON, atomically."""
    text = json.dumps(data, indent=2) + "\n"
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def _views(result: SceneRender, outputs: tuple[str, ...], i: int) -> dict[str, torch.Tensor]:
    """Displayable `[H, W, 3]` images of frame i, per output."""
    views: dict[str, torch.Tensor] = {}
    for name in outputs:
        if name == "rgb":
            views[name] = result.rgb[i]
        elif name == "depth":
            views[name] = colorize_depth(result.depth[i])
        elif name == "normals":
            views[name] = (result.normals[i] + 1) / 2 * (result.depth[i] > 0)[..., None]
        elif name == "mask":
            views[name] = result.mask[i][..., None].expand(-1, -1, 3)
        elif name == "instance":
            views[name] = instance_colors(result.instance[i])
        elif name == "albedo" and result.albedo is not None:
            views[name] = result.albedo[i]
    return views


def run_files(frames: int, outputs: Iterable[str]) -> set[str]:
    """The files (relative paths) `write_run` writes for `frames` frames of `outputs`.

    Example:
        >>> sorted(run_files(2, ["rgb", "depth"]))  # doctest: +NORMALIZE_WHITESPACE
        ['cameras.json', 'depth/frame_000.npy', 'depth/frame_000.png', 'depth/frame_001.npy',
         'depth/frame_001.png', 'rgb/frame_000.png', 'rgb/frame_001.png', 'scene.yaml', 'sheet.png',
         'turntable.gif', 'turntable.mp4']
    """
    files = {"scene.yaml", "cameras.json", "sheet.png"} | ({"turntable.gif", "turntable.mp4"} if frames > 1 else set())
    for i in range(frames):
        for name in outputs:
            files.add(f"{name}/frame_{i:03d}.png")
            if name == "depth":
                files.add(f"depth/frame_{i:03d}.npy")
            elif name == "instance":
                files.add(f"instance/frame_{i:03d}_color.png")
    return files


def _previous_run(out: Path) -> set[str]:
    """The files an earlier scene render wrote into `out`, from its own records (empty if there is none)."""
    try:
        frames = len(json.loads((out / "cameras.json").read_text(encoding="utf-8")))
        outputs = load_scene(out / "scene.yaml").render.outputs
    except (OSError, ValueError, TypeError, SceneFileError):  # no (readable) earlier render: nothing is ours
        return set()
    return run_files(frames, outputs)


def _remove_stale(out: Path, stale: set[str]) -> None:
    for rel in sorted(stale):
        path = out / rel
        if path.is_file():
            path.unlink()
    for folder in sorted({(out / rel).parent for rel in stale} - {out}):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def write_run(result: SceneRender, spec: SceneSpec, out_dir: str | os.PathLike) -> Path:
    """Write every requested output of every frame, the sheet, the GIF, the scene and cameras.

    Files of an earlier scene render in `out_dir` that this one does not rewrite are removed
    first (see the module doc).

    Args:
        result: the rendered buffers.
        spec: the scene they came from (its `render.outputs` select what is written).
        out_dir: the run directory (created).

    Returns:
        `out_dir` as a Path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    outputs = tuple(spec.render.outputs)
    _remove_stale(out, _previous_run(out) - run_files(result.rgb.shape[0], outputs))
    save_scene(spec, out / "scene.yaml")
    write_json(out / "cameras.json", cameras_json(result.cameras))
    n = result.rgb.shape[0]
    for i in range(n):
        stem = f"frame_{i:03d}"
        views = _views(result, outputs, i)
        for name, img in views.items():
            if name == "rgb" and result.transparent:
                img = torch.cat([img, result.alpha[i][..., None]], -1)
            if name == "instance":
                save_png(out / name / f"{stem}.png", result.instance[i].clamp(0, 255).to(torch.uint8).numpy())
                save_png(out / name / f"{stem}_color.png", img)
            elif name == "mask":
                save_png(out / name / f"{stem}.png", result.mask[i])
            else:
                save_png(out / name / f"{stem}.png", img)
        if "depth" in outputs:
            save_npy(out / "depth" / f"{stem}.npy", result.depth[i].float())
    rows = sorted({round(k * (n - 1) / max(1, SHEET_ROWS - 1)) for k in range(min(n, SHEET_ROWS))})
    tiles = [img for i in rows for img in _views(result, outputs, i).values()]
    save_png(out / "sheet.png", contact_sheet(tiles, cols=len(tiles) // len(rows)))
    if n > 1:
        frames = result.rgb if not result.transparent else result.rgb * result.alpha[..., None] + (
            1 - result.alpha[..., None])
        save_gif(out / "turntable.gif", list(frames), fps=spec.render.fps)
        save_mp4(out / "turntable.mp4", list(frames), fps=spec.render.fps)
    return out
