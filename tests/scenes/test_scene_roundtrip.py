"""Scene file ⇄ model round trips (YAML and JSON, code-built and file-read scenes)."""

from pathlib import Path

import pytest
import yaml

from scenes.assets import CheckerParams, HeadParams, SuperquadricParams, TorusParams
from scenes.fileio import load_scene, save_scene, scene_to_dict
from scenes.scene import Scene
from scenes.schema import MaterialSpec, PointLightSpec, SHLightSpec, TransformSpec


def _scene(tmp_path: Path) -> Scene:
    (tmp_path / "tri.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    s = Scene("roundtrip")
    s.add_asset(TorusParams(major=0.7), transform=TransformSpec(translation=(1, 0, 0), rotation_euler_deg=(10, 20, 30)),
                material=MaterialSpec(procedural_texture=CheckerParams(squares=4), model="metallic_roughness"))
    s.add_asset(HeadParams(seed=5, nose_length=0.3), transform=TransformSpec(rotation_quat=(0.9, 0, 0.1, 0)))
    s.add_asset(SuperquadricParams(seed=2), transform=TransformSpec(look_at=(0, 0, 5), scale=(1, 2, 1)))
    s.add_mesh(tmp_path / "tri.obj", name="tri")
    s.add_light(PointLightSpec(position=(1, 2, 3))).add_light(SHLightSpec(coefficients=[(0.1, 0.2, 0.3)] * 9))
    s.orbit(frames=6).dolly((0, 0, 5), (0, 0, 2), frames=3).keyframes([(0, 0, 3), (3, 0, 0), (0, 3, 1)], frames=5)
    s.look_at((0, 1, 4)).configure(width=64, height=48, outputs=["rgb", "depth", "mask"], background="transparent")
    return s


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_model_file_model(tmp_path: Path, suffix: str) -> None:
    spec = _scene(tmp_path).spec()
    path = tmp_path / "sub" / f"scene{suffix}"
    save_scene(spec, path)
    assert load_scene(path) == spec
    assert load_scene(path).num_frames() == 6 + 3 + 5 + 1


def test_saved_asset_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    spec = _scene(tmp_path).spec()
    path = tmp_path / "out" / "scene.yaml"
    save_scene(spec, path)
    doc = yaml.safe_load(path.read_text())
    assert doc["objects"][3]["mesh"] == "../tri.obj"
    assert "rotation_quat" not in doc["objects"][0]["transform"]  # unset optionals stay out of the file


def test_file_model_file(tmp_path: Path) -> None:
    (tmp_path / "a.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    doc = {"name": "tiny", "objects": [{"name": "a", "mesh": "a.obj", "transform": {"scale": 2.0}},
                                       {"name": "b", "procedural": {"type": "box", "size": [1, 2, 3]}}],
           "cameras": [{"view": {"type": "orbit", "frames": 4}}], "render": {"width": 32, "height": 32}}
    src = tmp_path / "in.yaml"
    src.write_text(yaml.safe_dump(doc))
    spec = load_scene(src)
    out = tmp_path / "copy.yaml"
    save_scene(spec, out)
    again = scene_to_dict(load_scene(out), tmp_path)
    assert again == scene_to_dict(spec, tmp_path)
    assert again["objects"][0]["mesh"] == "a.obj"
    assert again["objects"][1]["procedural"]["size"] == [1.0, 2.0, 3.0]


def test_builder_from_loaded_scene(tmp_path: Path) -> None:
    spec = _scene(tmp_path).spec()
    path = tmp_path / "scene.yaml"
    save_scene(spec, path)
    assert Scene.load(path).spec() == spec
