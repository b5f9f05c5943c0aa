"""Batches on this machine: list files and globs, `neurender render SCENE_LIST` (the folders a single
render writes, failures named, a rerun does only what is missing), the `--ray` option, and no Ray
import without `--ray`."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.tools.batch.helpers import write_clouds_and_weights
from tools.batch.inputs import expand_inputs, is_batch_input, output_names
from tools.batch.options import expand_ray_flag, make_runner
from tools.cli import main
from tools.errors import ToolError

ROOT = Path(__file__).parents[3]
SCENE = """version: 1
objects:
  - {{name: ball, procedural: {{type: sphere, radius: {r}}}, material: {{base_color: [0.8, 0.4, 0.3]}}}}
cameras:
  - {{fov_deg: 40, view: {{type: orbit, center: [0, 0, 0], distance: 2.5, elevation_deg: 20, frames: 1}}}}
render: {{width: 16, height: 16, supersample: 1, outputs: [rgb, mask]}}
"""


def _scenes(folder: Path, radii: dict[str, float]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, r in radii.items():
        (folder / f"{name}.yaml").write_text(SCENE.format(r=r))
    return folder


def test_list_files_and_globs(tmp_path: Path) -> None:
    _scenes(tmp_path / "a", {"x": 0.3, "y": 0.4})
    _scenes(tmp_path / "b", {"x": 0.5})
    (tmp_path / "list.txt").write_text("# scenes\n\na/x.yaml\n  b/x.yaml  \n")
    listed = expand_inputs(tmp_path / "list.txt", (".yaml",))
    assert listed == [tmp_path / "a" / "x.yaml", tmp_path / "b" / "x.yaml"]  # relative to the list's folder
    assert output_names(listed) == ["a-x", "b-x"]  # stems clash: paths below the common folder
    globbed = expand_inputs(f"{tmp_path}/**/*.yaml", (".yaml",))
    assert [p.relative_to(tmp_path).as_posix() for p in globbed] == ["a/x.yaml", "a/y.yaml", "b/x.yaml"]
    assert output_names(globbed[1:2] + globbed[2:]) == ["y", "x"]
    assert is_batch_input("s/*.yaml") and is_batch_input("l.txt") and not is_batch_input("s.yaml")
    (tmp_path / "bad.txt").write_text("a/x.yaml\na/nope.yaml\n")
    with pytest.raises(ToolError, match=r"bad.txt line 2: .*nope.yaml does not exist"):
        expand_inputs(tmp_path / "bad.txt", (".yaml",))
    (tmp_path / "twice.txt").write_text("a/x.yaml\n./a/x.yaml\n")
    with pytest.raises(ToolError, match="listed twice"):
        output_names(expand_inputs(tmp_path / "twice.txt", (".yaml",)))
    with pytest.raises(ToolError, match=r"is not a scene file \(\.yaml\)"):
        expand_inputs(tmp_path / "list.txt", (".yaml",), "scene file") and expand_inputs(
            f"{tmp_path}/*.txt", (".yaml",), "scene file")
    with pytest.raises(ToolError, match="matches no file"):
        expand_inputs(f"{tmp_path}/*.obj", (".yaml",))


def test_the_ray_option_takes_an_optional_address() -> None:
    assert expand_ray_flag(["l.txt", "--out", "o", "--ray"]) == ["l.txt", "--out", "o", "--ray=local"]
    assert expand_ray_flag(["--ray", "l.txt"]) == ["--ray=local", "l.txt"]  # a path is not an address
    for address in ("auto", "head-node:6379", "10.0.0.2:6379", "ray://head:10001", "[::1]:6379"):
        assert expand_ray_flag(["--ray", address]) == ["--ray", address]
    with pytest.raises(ToolError, match="--ray takes auto, HOST:PORT"):
        make_runner("not an address", None)
    assert make_runner(None, 1).name == "inline" and make_runner(None, None).name == "local"


def _last_line(stderr: str) -> str:
    """The error line after a progress bar (which redraws itself with carriage returns)."""
    return stderr.replace("\r", "\n").strip().splitlines()[-1]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_render_scene_list_writes_single_render_folders_names_failures_and_resumes(tmp_path: Path, capsys) -> None:
    scenes = _scenes(tmp_path / "scenes", {"s0": 0.3, "s1": 0.5})
    (scenes / "s2.yaml").write_text("version: 1\nobjects: [{name: x, procedural: {type: blob}}]\n")
    out = tmp_path / "out"
    assert main(["render", f"{scenes}/*.yaml", "--out", str(out), "--workers", "1"]) == 2
    err = _last_line(capsys.readouterr().err)
    assert err.startswith("neurender: error: 1 of 3 scenes failed") and "s2.yaml" in err
    index = json.loads((out / "batch.json").read_text())
    assert [s["done"] for s in index["inputs"]] == [True, True, False]
    assert [f["name"] for f in index["failed"]] == ["s2"] and "blob" in index["failed"][0]["error"]
    assert sorted(p.name for p in out.iterdir()) == ["batch.json", "s0", "s1"]  # nothing of s2, no temp folder
    assert main(["render", str(scenes / "s1.yaml"), "--out", str(tmp_path / "single")]) == 0
    batch, single = _tree(out / "s1"), _tree(tmp_path / "single")
    assert batch.keys() == single.keys()  # the run directory a single render writes, marker included
    assert all(batch[k] == single[k] for k in batch if k != ".neurender-run")
    (scenes / "s2.yaml").write_text(SCENE.format(r=0.4))
    capsys.readouterr()
    assert main(["render", f"{scenes}/*.yaml", "--out", str(out), "--workers", "2"]) == 0
    assert "1 scenes rendered, 2 already done" in capsys.readouterr().out
    assert json.loads((out / "batch.json").read_text())["failed"] == []
    assert main(["render", f"{scenes}/*.yaml", "--out", str(out), "--size", "32"]) == 2
    assert "holds a batch made with {'size': None" in capsys.readouterr().err


def test_pc2img_cloud_list_writes_single_run_folders(tmp_path: Path, capsys) -> None:
    weights = write_clouds_and_weights(tmp_path)
    common = ["--views", "2", "--size", "32", "--weights", str(weights)]
    assert main(["pc2img", f"{tmp_path}/c*.ply", "--out", str(tmp_path / "batch"), "--workers", "1", *common]) == 0
    assert "2 clouds rendered, 0 already done" in capsys.readouterr().out
    assert main(["pc2img", str(tmp_path / "c1.ply"), "--out", str(tmp_path / "single"), *common]) == 0
    batch, single = _tree(tmp_path / "batch" / "c1"), _tree(tmp_path / "single")
    assert batch.keys() == single.keys() and len(batch) >= 2 * 4 + 3
    assert all(batch[k] == single[k] for k in batch if k.endswith(".png"))  # config.json holds timings
    index = json.loads((tmp_path / "batch" / "batch.json").read_text())
    assert [i["name"] for i in index["inputs"]] == ["c0", "c1"] and index["settings"]["views"] == 2
    assert main(["pc2img", f"{tmp_path}/c*.ply", "--out", str(tmp_path / "batch"), *common[:2]]) == 2
    assert "holds a batch made with" in capsys.readouterr().err  # other settings (the shipped weights)


@pytest.mark.parametrize(("argv", "reason"), [
    (["{list}", "--views", "3"], "--views apply to asset files"),
    (["{one}", "--ray"], "--ray and --workers apply to a scene list"),
    (["{list}", "--ray=bogus"], "--ray takes auto, HOST:PORT"),
    (["{list}", "--ray", "bogus:host"], "unexpected extra argument"),  # not an address: --ray alone, then junk
    (["{list}", "--retries", "-1"], "--retries must be within 0..100"),
])
def test_bad_batch_input_exits_2_with_one_line(tmp_path: Path, capsys, argv: list[str], reason: str) -> None:
    scenes = _scenes(tmp_path / "scenes", {"s0": 0.3})
    (scenes / "list.txt").write_text("s0.yaml\n")
    values = {"list": str(scenes / "list.txt"), "one": str(scenes / "s0.yaml")}
    assert main(["render", *[a.format(**values) for a in argv], "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and reason in err  # refused before any progress bar
    assert not (tmp_path / "out").exists()


def test_nothing_imports_ray_without_the_option(tmp_path: Path) -> None:
    _scenes(tmp_path / "scenes", {"s0": 0.3, "s1": 0.4})
    script = textwrap.dedent(f"""
        import sys
        from tools.cli import main
        assert main(["datagen", "--kind", "shapes", "--count", "1", "--views", "1", "--size", "16",
                     "--supersample", "1", "--workers", "1", "--no-progress", "--out", {str(tmp_path / "ds")!r}]) == 0
        assert main(["render", {str(tmp_path / "scenes" / "*.yaml")!r}, "--out", {str(tmp_path / "r")!r},
                     "--workers", "1"]) == 0
        print("RAY LOADED" if any(m == "ray" or m.startswith("ray.") for m in sys.modules) else "NO RAY")
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "NO RAY"
    assert (tmp_path / "r" / "s1" / "rgb" / "frame_000.png").is_file()
