"""Hostile and oversized scene files: alias bombs, deep nesting, binary content, huge files and
renders that cannot fit in memory are refused up front with a one-line reason; `.py` scenes load
through the same path as YAML and JSON."""

import json
from pathlib import Path

import pytest

from scenes.budget import check_render_budget, estimate_render_bytes
from scenes.build import build_scene
from scenes.errors import SceneFileError
from scenes.fileio import MAX_DEPTH, MAX_FILE_BYTES, _short, load_scene, parse_text

EXAMPLES = Path(__file__).parents[2] / "scenes" / "examples"

# The classic "billion laughs": 9 levels of 9 aliases, 9^9 ≈ 387 million strings from ~700 bytes.
BOMB = "\n".join(
    ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 9)}]" for i in range(1, 9)]
    + ["objects: *lol8", ""])

def test_billion_laughs_is_refused_while_reading(tmp_path: Path) -> None:
    assert len(BOMB) < 800
    # parse_text stops at the alias that crosses the limit. (Reading alone never expands: YAML
    # aliases become shared references. What expanded them was validating and printing the value.)
    with pytest.raises(SceneFileError, match=r"bomb.yaml: line \d+: the document expands to more than 1,000,000 "
                                             r"values through YAML aliases"):
        parse_text(BOMB, ".yaml", "bomb.yaml")
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    with pytest.raises(SceneFileError, match="alias-expansion bomb") as err:
        load_scene(path)
    assert len(str(err.value)) < 300
    # Error messages print values without expanding them: 9^7 ≈ 4.8 million shared strings.
    value: object = ["lol"] * 9
    for _ in range(6):
        value = [value] * 9
    assert len(_short(value)) <= 80


def test_aliases_below_the_limit_load_and_their_errors_stay_short(tmp_path: Path) -> None:
    # 25 · 7^5 ≈ 420k strings: allowed, and the errors about them stay short: one line per
    # problem, at most 20 problems listed.
    doc = "\n".join(['a0: &a0 ["x", "x", "x", "x", "x", "x", "x"]']
                    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 7)}]" for i in range(1, 5)]
                    + [f"objects: [{', '.join(['*a4'] * 25)}]", ""])
    data = parse_text(doc, ".yaml", "ok.yaml")
    assert len(data["objects"]) == 25 and data["objects"][0] is data["objects"][1]
    path = tmp_path / "ok.yaml"
    path.write_text(doc)
    with pytest.raises(SceneFileError) as err:
        load_scene(path)
    lines = str(err.value).splitlines()
    assert len(lines) <= 22 and lines[-1].strip().startswith("... and") and max(map(len, lines)) < 400
    # A value that contains itself: refused while reading, and _short never recurses into it.
    with pytest.raises(SceneFileError, match="contains it"):
        parse_text("a: &a [1, *a]\n", ".yaml", "loop.yaml")
    loop: list = [1]
    loop.append(loop)
    assert len(_short(loop)) <= 80


def test_deep_nesting_is_refused_with_the_depth(tmp_path: Path) -> None:
    for depth in (MAX_DEPTH + 1, 100_000):
        for suffix in (".yaml", ".json"):
            path = tmp_path / f"deep{suffix}"
            path.write_text("{\"objects\": " + "[" * depth + "]" * depth + "}")
            with pytest.raises(SceneFileError, match=r"nested (more than 64 levels|too) deep"):
                load_scene(path)
    # Shallow pieces stacked by aliases count at the depth they expand to.
    chain = ["a0: &a0 " + "[" * 40 + "1" + "]" * 40, "a1: &a1 " + "[" * 30 + "*a0" + "]" * 30]
    with pytest.raises(SceneFileError, match="counting what aliases expand to"):
        parse_text("\n".join(chain), ".yaml", "stacked.yaml")


def test_binary_and_oversized_files_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "scene.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SceneFileError, match=r"not a text file \(byte 128 is not UTF-8"):
        load_scene(binary)
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(SceneFileError, match="too large for a scene file"):
        load_scene(big)


HUGE = {"objects": [{"name": "ball", "procedural": {"type": "sphere"}}],
        "cameras": [{"view": {"type": "orbit", "frames": 10000}}],
        "render": {"width": 4096, "height": 4096, "supersample": 4}}


def test_a_render_that_cannot_fit_in_memory_is_refused_up_front(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(HUGE))
    spec = load_scene(path)  # a valid scene ...
    est = estimate_render_bytes(spec)
    assert est.frames == 10000 and est.outputs == 10000 * 4096**2 * 200
    with pytest.raises(SceneFileError, match=r"render.width × render.height = 4096×4096 px, render.supersample 4, "
                                             r"10000 frames \(cameras\) need about 3\d\.\d TB of memory"):
        build_scene(spec)  # ... that no machine here can render: refused before anything is allocated
    from scenes.render import render_scene_file

    with pytest.raises(SceneFileError, match="TB of memory"):
        render_scene_file(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    small = load_scene(EXAMPLES / "primitives.yaml")
    need = estimate_render_bytes(small).total
    assert check_render_budget(small, available=need).total == need
    with pytest.raises(SceneFileError, match="is available"):
        check_render_budget(small, available=need - 1)


def test_python_scenes_load_through_load_scene_and_render(tmp_path: Path) -> None:
    from scenes.render import render_scene_file

    spec = load_scene(EXAMPLES / "scripted_scene.py")
    assert spec.name == "scripted_heads" and len(spec.objects) == 4
    run = render_scene_file(EXAMPLES / "scripted_scene.py", tmp_path / "run", width=32, height=20, supersample=1)
    frames = sorted((run / "rgb").glob("frame_*.png"))
    assert len(frames) == spec.num_frames() == 12
    assert load_scene(run / "scene.yaml").objects == spec.objects  # the resolved scene is a plain file again
    bad = tmp_path / "bad.py"
    bad.write_text("from scenes.scene import Scene\n\nscene = Scene().add_mesh(tmp_path)\n")
    with pytest.raises(SceneFileError, match=r"bad.py:3: the scene script raised NameError: name 'tmp_path'"):
        load_scene(bad)
    bad.write_text("from scenes.scene import Scene\n\nscene = Scene().add_light(None)\n")
    with pytest.raises(SceneFileError, match=r"(?s)bad.py: its `scene` is invalid: .*objects"):
        load_scene(bad)
    with pytest.raises(SceneFileError, match=r"end in \.yaml, \.yml, \.json, \.py, got '\.txt'"):
        load_scene(tmp_path / "scene.txt")
