"""GLB files carry a matte PBR material: glTF's default material is fully metallic (metallicFactor 1), which
other viewers show near-black, and trimesh's texture conversion would dim the texture to a 0.4 base color."""

import json
import struct

import pytest
import torch
import trimesh

from render3d.io import load_mesh, save_mesh
from render3d.io.meshes import glb_bytes
from render3d.structures import Meshes

V = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
F = torch.tensor([[0, 1, 2], [0, 2, 3]])


def _gltf_json(path) -> dict:
    blob = path.read_bytes()
    assert blob[:4] == b"glTF"
    length, kind = struct.unpack_from("<II", blob, 12)
    assert kind == 0x4E4F534A  # "JSON"
    return json.loads(blob[20:20 + length])


def _meshes(kind: str) -> Meshes:
    if kind == "texture":
        return Meshes([V], [F], verts_uvs=[V[:, :2]], faces_uvs=[F], textures=[torch.rand(8, 8, 3)])
    if kind == "vertex":
        return Meshes([V], [F], vert_colors=[torch.rand(4, 3)])
    return Meshes([V], [F])


@pytest.mark.parametrize("kind", ["texture", "vertex", "plain"])
def test_glb_material_is_matte_dielectric_with_white_base(tmp_path, kind):
    save_mesh(tmp_path / "m.glb", _meshes(kind))
    doc = _gltf_json(tmp_path / "m.glb")
    primitives = [p for m in doc["meshes"] for p in m["primitives"]]
    assert all("material" in p for p in primitives)  # none falls back to the metallic default
    for p in primitives:
        pbr = doc["materials"][p["material"]]["pbrMetallicRoughness"]
        assert pbr["metallicFactor"] == 0.0
        assert pbr["roughnessFactor"] == pytest.approx(1.0)
        assert pbr["baseColorFactor"] == [1.0, 1.0, 1.0, 1.0]
        assert ("baseColorTexture" in pbr) == (kind == "texture")
        assert ("COLOR_0" in p["attributes"]) == (kind == "vertex")
    (tmp_path / "bytes.glb").write_bytes(glb_bytes(_meshes(kind)))
    assert _gltf_json(tmp_path / "bytes.glb")["materials"] == doc["materials"]  # the viewer's bytes: same material


def test_glb_material_read_by_trimesh_and_colors_round_trip(tmp_path):
    m = _meshes("vertex")
    save_mesh(tmp_path / "m.glb", m)
    material = trimesh.load(tmp_path / "m.glb", force="mesh", process=False).visual.material
    assert material.metallicFactor == 0.0 and material.roughnessFactor == pytest.approx(1.0)
    back = load_mesh(tmp_path / "m.glb")
    torch.testing.assert_close(back.vert_colors_packed(), m.vert_colors_packed(), atol=1 / 255, rtol=0)


def test_textured_glb_round_trip_keeps_texture(tmp_path):
    m = _meshes("texture")
    save_mesh(tmp_path / "m.glb", m)
    back = load_mesh(tmp_path / "m.glb")
    assert back.has_texture
    torch.testing.assert_close(back.textures_list()[0], m.textures_list()[0], atol=1 / 255, rtol=0)
