"""The scene run directory: `render` returns buffers, `write_run` writes exactly the listed files, and a
render into the folder of an earlier one leaves no stale frames of it (while other files stay)."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scenes.assets import SphereParams
from scenes.outputs import run_files, write_run
from scenes.render import render
from scenes.result import SceneRender
from scenes.scene import Scene
from tools.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")


def _scene(frames: int, outputs: list[str]) -> Scene:
    return Scene("ball").add_asset(SphereParams(radius=0.6, segments=16, rings=8)).orbit(
        frames=frames, distance=3.0).configure(width=16, height=16, supersample=1, outputs=outputs)


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_render_returns_buffers_and_writes_nothing_itself(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = render(_scene(2, ["rgb", "mask"]))
    assert isinstance(result, SceneRender) and result.rgb.shape == (2, 16, 16, 3)
    assert list(tmp_path.iterdir()) == []
    write_run(result, _scene(2, ["rgb", "mask"]).spec(), tmp_path / "run")
    assert _files(tmp_path / "run") == run_files(2, ["rgb", "mask"])
    mask = np.asarray(Image.open(tmp_path / "run" / "mask" / "frame_001.png")) > 127
    assert mask.sum() == (result.mask[1] > 0.5).sum().item() > 20


def test_rewriting_fewer_frames_and_outputs_leaves_no_stale_files(tmp_path):
    out = tmp_path / "run"
    four = _scene(4, ["rgb", "depth", "instance", "albedo"])
    render(four, out)
    assert _files(out) == run_files(4, ["rgb", "depth", "instance", "albedo"])
    (out / "notes.txt").write_text("mine")  # files neurender did not write are never touched
    (out / "rgb" / "keep.png").write_bytes(b"not ours")
    two = _scene(2, ["rgb", "mask"])
    render(two, out)
    assert _files(out) == run_files(2, ["rgb", "mask"]) | {"notes.txt", "rgb/keep.png"}
    assert not (out / "depth").exists() and not (out / "albedo").exists()  # emptied folders go too
    assert len(json.loads((out / "cameras.json").read_text())) == 2


def test_scene_file_rerendered_through_the_cli_keeps_no_stale_views(tmp_path):
    from scenes.fileio import save_scene

    out = tmp_path / "out"
    for frames in (4, 2):
        save_scene(_scene(frames, ["rgb", "depth"]).spec(), tmp_path / "scene.yaml")
        assert main(["render", str(tmp_path / "scene.yaml"), "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "rgb").iterdir()) == ["frame_000.png", "frame_001.png"]
    assert sorted(p.name for p in (out / "depth").glob("*.npy")) == ["frame_000.npy", "frame_001.npy"]
    assert len(json.loads((out / "cameras.json").read_text())) == 2
