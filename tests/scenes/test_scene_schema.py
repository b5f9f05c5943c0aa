"""Broken scene files: every error names the file, the field path and the bad value."""

from pathlib import Path

import pytest
import yaml

from render3d.errors import Render3DError
from scenes.errors import SceneFileError
from scenes.fileio import load_scene, parse_scene

GOOD_OBJECT = {"name": "ball", "procedural": {"type": "sphere", "radius": 0.5}}

# (case name, scene document, expected field path, expected fragment of the message or value)
CATALOGUE = [
    ("missing asset", {"objects": [{"name": "m", "mesh": "missing.obj"}]}, "objects[0].mesh", "missing.obj"),
    ("missing texture", {"objects": [{**GOOD_OBJECT, "material": {"texture": "nope.png"}}]},
     "objects[0].material.texture", "nope.png"),
    ("bad enum output", {"objects": [GOOD_OBJECT], "render": {"outputs": ["rgb", "heat"]}},
     "render.outputs[1]", "'heat'"),
    ("bad enum shading", {"objects": [GOOD_OBJECT], "render": {"shading": "toon"}}, "render.shading", "'toon'"),
    ("bad procedural type", {"objects": [{"name": "x", "procedural": {"type": "blob"}}]},
     "objects[0].procedural", "blob"),
    ("bad light type", {"objects": [GOOD_OBJECT], "lights": [{"type": "laser"}]}, "lights[0]", "laser"),
    ("wrong type radius", {"objects": [{"name": "b", "procedural": {"type": "sphere", "radius": "big"}}]},
     "objects[0].procedural.radius", "'big'"),
    ("wrong type translation", {"objects": [{**GOOD_OBJECT, "transform": {"translation": [0, 1]}}]},
     "objects[0].transform.translation", "[0, 1]"),
    ("wrong type objects", {"objects": {"name": "b"}}, "objects", "{'name': 'b'}"),
    ("negative radius", {"objects": [{"name": "b", "procedural": {"type": "sphere", "radius": -1}}]},
     "objects[0].procedural.radius", "-1"),
    ("negative scale", {"objects": [{**GOOD_OBJECT, "transform": {"scale": -2}}]},
     "objects[0].transform.scale", "-2"),
    ("zero width", {"objects": [GOOD_OBJECT], "render": {"width": 0}}, "render.width", "0"),
    ("negative box size", {"objects": [{"name": "b", "procedural": {"type": "box", "size": [1, -1, 1]}}]},
     "objects[0].procedural.size[1]", "-1"),
    ("unknown key object", {"objects": [{**GOOD_OBJECT, "colour": "red"}]}, "objects[0].colour", "'red'"),
    ("unknown key top", {"objects": [GOOD_OBJECT], "camera": {}}, "camera", "{}"),
    ("unknown key primitive", {"objects": [{"name": "b", "procedural": {"type": "torus", "radius": 1}}]},
     "objects[0].procedural.radius", "1"),
    ("color out of range", {"objects": [{**GOOD_OBJECT, "material": {"base_color": [2, 0, 0]}}]},
     "objects[0].material.base_color[0]", "2"),
    ("no source", {"objects": [{"name": "empty"}]}, "objects[0]", "exactly one of mesh, points, procedural"),
    ("two rotations", {"objects": [{**GOOD_OBJECT, "transform": {"rotation_euler_deg": [0, 1, 0],
                                                                "rotation_quat": [1, 0, 0, 0]}}]},
     "objects[0].transform", "at most one rotation"),
    ("duplicate names", {"objects": [GOOD_OBJECT, GOOD_OBJECT]}, "<top level>", "unique"),
    ("no objects", {"objects": []}, "objects", "at least 1"),
    ("fov out of range", {"objects": [GOOD_OBJECT], "cameras": [{"fov_deg": 200}]}, "cameras[0].fov_deg", "200"),
    ("bad orbit frames", {"objects": [GOOD_OBJECT], "cameras": [{"view": {"type": "orbit", "frames": 0}}]},
     "cameras[0].view.frames", "0"),
    ("missing dolly end", {"objects": [GOOD_OBJECT], "cameras": [{"view": {"type": "dolly", "start": [0, 0, 3]}}]},
     "cameras[0].view.end", "Field required"),
    ("matrix not rigid", {"objects": [GOOD_OBJECT], "cameras": [{"view": {"type": "matrix", "world_to_camera":
                                                                          [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 3],
                                                                           [0, 0, 0, 1]]}}]},
     "cameras[0].view", "rotation"),
    ("bad version", {"version": 2, "objects": [GOOD_OBJECT]}, "version", "2"),
    ("radius on a mesh", {"objects": [{**GOOD_OBJECT, "point_radius": 0.1}]}, "objects[0]", "point-cloud objects only"),
]


@pytest.mark.parametrize(("case", "doc", "where", "what"), CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_broken_scene_file_names_file_field_and_value(tmp_path: Path, case: str, doc: dict, where: str,
                                                      what: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(SceneFileError) as info:
        load_scene(path)
    msg = str(info.value)
    lines = [ln for ln in msg.splitlines() if f"{path}: {where}" in ln]
    assert lines, f"{case}: no line for field {where!r} in:\n{msg}"
    assert any(what in ln for ln in lines), f"{case}: {what!r} not in {lines}"


def test_scene_file_error_is_a_render3d_error_for_the_cli() -> None:
    assert issubclass(SceneFileError, Render3DError)


@pytest.mark.parametrize(("name", "text", "fragment"), [
    ("bad.yaml", "objects: [unclosed", "not valid YAML"),
    ("bad.json", "{\"objects\": ", "not valid JSON"),
    ("list.yaml", "- 1\n- 2\n", "must be a mapping"),
    ("scene.txt", "objects: []", "scene files end in"),
])
def test_unreadable_scene_files(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SceneFileError, match=fragment):
        load_scene(path)


def test_missing_scene_file(tmp_path: Path) -> None:
    with pytest.raises(SceneFileError, match="cannot read"):
        load_scene(tmp_path / "absent.yaml")


def test_relative_asset_paths_resolve_against_the_scene_file(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "tri.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    path = tmp_path / "scene.yaml"
    path.write_text(yaml.safe_dump({"objects": [{"name": "t", "mesh": "assets/tri.obj"}]}))
    spec = load_scene(path)
    assert Path(spec.objects[0].mesh) == (tmp_path / "assets" / "tri.obj").resolve()


def test_defaults_fill_in() -> None:
    spec = parse_scene({"objects": [GOOD_OBJECT]})
    assert spec.render.width == 256 and spec.render.outputs == ("rgb",)
    assert spec.lights is None and spec.num_frames() == 1
    assert spec.instance_ids() == [1]


def test_specs_are_frozen() -> None:
    spec = parse_scene({"objects": [GOOD_OBJECT]})
    with pytest.raises(Exception, match="frozen"):
        spec.name = "other"
