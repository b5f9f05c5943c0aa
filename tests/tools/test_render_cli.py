import json

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image

from render3d.cameras import Cameras
from render3d.io import save_mesh, save_pointcloud
from render3d.structures import Meshes, Pointclouds
from tools.cli import main


@pytest.fixture()
def sphere_file(tmp_path):
    ico = trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    m = Meshes([torch.tensor(ico.vertices, dtype=torch.float32) + torch.tensor([1.0, 2.0, 3.0])],
               [torch.tensor(ico.faces)], vert_colors=[torch.full((len(ico.vertices), 3), 0.8)])
    path = tmp_path / "sphere.ply"
    save_mesh(path, m)
    return path


def test_render_mesh_writes_consistent_outputs(tmp_path, sphere_file):
    out = tmp_path / "out"
    assert main(["render", str(sphere_file), "--out", str(out), "--size", "48", "--views", "3"]) == 0
    for i in range(3):
        for name in (f"rgb_{i:03d}.png", f"mask_{i:03d}.png", f"depth_{i:03d}.npy", f"normal_{i:03d}.png"):
            assert (out / name).is_file(), name
    assert (out / "sheet.png").is_file()
    cams = json.loads((out / "cameras.json").read_text())
    assert len(cams) == 3 and cams[0]["width"] == 48
    # The sphere (center (1,2,3), radius 0.5) projects through the written cameras onto the mask's centroid,
    # and the depth map at that pixel is the distance to the near surface.
    for i, c in enumerate(cams):
        cam = Cameras(torch.tensor([c["K"]]), torch.tensor([c["R"]]), torch.tensor([c["t"]]), c["width"], c["height"])
        u, v, z = cam.project(torch.tensor([[[1.0, 2.0, 3.0]]]))[0, 0].tolist()
        alpha = np.asarray(Image.open(out / f"mask_{i:03d}.png"))  # antialiased coverage
        mask = alpha > 127
        ys, xs = np.nonzero(mask)
        assert abs(xs.mean() + 0.5 - u) < 1.0 and abs(ys.mean() + 0.5 - v) < 1.0
        depth = np.load(out / f"depth_{i:03d}.npy")
        assert depth[int(v), int(u)] == pytest.approx(z - 0.5, abs=0.02)
        assert (depth[alpha == 0] == 0).all() and (depth[mask] > 0).all()
        # Foreground area matches the projected disk of the sphere within tessellation/aliasing error.
        f = c["K"][0][0]
        expected = np.pi * (f * 0.5 / np.sqrt(z**2 - 0.25)) ** 2
        assert mask.sum() == pytest.approx(expected, rel=0.08)


def test_render_pointcloud(tmp_path):
    pts = torch.nn.functional.normalize(torch.randn(3000, 3, generator=torch.Generator().manual_seed(0)), dim=1)
    path = tmp_path / "cloud.npy"
    save_pointcloud(path, Pointclouds([pts], features=[torch.ones(3000, 3) * torch.tensor([1.0, 0.0, 0.0])]))
    out = tmp_path / "pc"
    assert main(["render", str(path), "--out", str(out), "--size", "32", "--views", "2",
                 "--outputs", "rgb,mask,depth"]) == 0
    rgb = np.asarray(Image.open(out / "rgb_000.png")).astype(float)
    mask = np.asarray(Image.open(out / "mask_000.png")) > 127
    assert 0.1 < mask.mean() < 0.9
    assert rgb[mask][:, 0].mean() > 200 and rgb[mask][:, 1].mean() < 60  # red points
    assert not (out / "normal_000.png").exists()


@pytest.mark.parametrize("args,needle", [
    (["render", "missing.obj"], "no such file"),
    (["render", "{nan}"], "NaN"),
    (["render", "{sphere}", "--size", "0"], "--size"),
    (["render", "{sphere}", "--outputs", "rgb,albedo"], "--outputs"),
    (["render", "{empty}"], "no points"),
    (["render", "{sphere}", "--backend", "nosuch"], "unknown backend"),
])
def test_render_bad_input_exits_2_with_one_line(tmp_path, sphere_file, capsys, args, needle):
    (tmp_path / "nan.obj").write_text("v 0 0 0\nv 1 0 nan\nv 0 1 0\nf 1 2 3\n")
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    paths = {"nan": tmp_path / "nan.obj", "sphere": sphere_file, "empty": tmp_path / "empty.npy"}
    args = [a.format(**paths) for a in args] + ["--out", str(tmp_path / "bad")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not (tmp_path / "bad").exists()


SCENE = """
version: 1
name: tiny
objects:
  - {name: ball, procedural: {type: icosphere, radius: 0.5, subdivisions: 2}, material: {base_color: [0.9, 0.2, 0.2]}}
lights:
  - {type: ambient, intensity: 1.0}
cameras:
  - fov_deg: 40
    view: {type: orbit, center: [0.0, 0.0, 0.0], distance: 3.0, elevation_deg: 0, frames: 2}
render: {width: 64, height: 64, outputs: [rgb, mask]}
"""


def test_render_dispatches_scene_files(tmp_path):
    (tmp_path / "tiny.yaml").write_text(SCENE)
    out = tmp_path / "scene"
    assert main(["render", str(tmp_path / "tiny.yaml"), "--out", str(out), "--size", "32"]) == 0
    frames = sorted((out / "rgb").glob("frame_*.png"))
    assert len(frames) == 2 and all(Image.open(p).size == (32, 32) for p in frames)
    mask = np.asarray(Image.open(sorted((out / "mask").glob("frame_*.png"))[0])) > 127
    # radius 0.5 at distance 3 with fov 40° at 32 px: a disk of about 7.3 px radius
    assert mask.sum() == pytest.approx(np.pi * 7.3**2, rel=0.15)
    assert (out / "sheet.png").is_file()


def test_render_scene_rejects_orbit_flags(tmp_path, capsys):
    (tmp_path / "tiny.yaml").write_text(SCENE)
    assert main(["render", str(tmp_path / "tiny.yaml"), "--out", str(tmp_path / "x"), "--views", "3"]) == 2
    assert "--views" in capsys.readouterr().err


def test_render_with_named_backend_matches_reference(tmp_path, sphere_file):
    pytest.importorskip("pytorch3d")
    masks = {}
    for backend in ("torch", "pytorch3d"):
        out = tmp_path / backend
        args = ["render", str(sphere_file), "--out", str(out), "--size", "32", "--views", "1", "--outputs", "mask",
                "--backend", backend]
        assert main(args) == 0
        masks[backend] = np.asarray(Image.open(out / "mask_000.png")).astype(int)
    assert np.abs(masks["torch"] - masks["pytorch3d"]).max() <= 2


def _listed_available() -> list:
    from render3d.backends import backend_names, unavailable_reason

    slow = {"open3d"}  # Filament's first frames take seconds to minutes on a busy CPU (see test_parity)
    return [pytest.param(n, id=n, marks=[pytest.mark.slow] if n in slow else [])
            for n in backend_names() if unavailable_reason(n) is None]


@pytest.mark.parametrize("backend", _listed_available())
def test_every_available_backend_renders_through_the_cli(tmp_path, sphere_file, capsys, backend):
    """`neurender render mesh --backend NAME` for every backend `neurender backends` lists as available:
    the outputs it can produce, the same silhouette and depth as the reference; the others named in one line."""
    from render3d.backends import backend_info

    filled = backend_info(backend).capabilities.outputs
    args = ["render", str(sphere_file), "--size", "32", "--views", "2", "--backend", backend]
    assert main([*args[:-2], "--out", str(tmp_path / "ref")]) == 0  # the reference, torch
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    stdout = capsys.readouterr().out
    ref, out = tmp_path / "ref", tmp_path / "out"
    for i in range(2):
        ours = np.asarray(Image.open(out / f"mask_{i:03d}.png")).astype(int)
        theirs = np.asarray(Image.open(ref / f"mask_{i:03d}.png")).astype(int)
        assert np.abs(ours - theirs).mean() < 2.0 and (np.abs(ours - theirs) > 128).mean() < 0.01
        depth, ref_depth = np.load(out / f"depth_{i:03d}.npy"), np.load(ref / f"depth_{i:03d}.npy")
        both = (depth > 0) & (ref_depth > 0)
        assert both.sum() > 100 and np.quantile(np.abs(depth - ref_depth)[both], 0.99) < 1e-2
    assert (out / "normal_000.png").is_file() == ("normals" in filled)
    if "phong" not in backend_info(backend).capabilities.shadings:
        assert f"backend '{backend}' does not draw phong shading; rendering unlit" in stdout
        assert json.loads((out / "config.json").read_text())["shading"] == "unlit"
    if "normals" not in filled:
        assert f"backend '{backend}' does not produce normal; writing rgb, depth, mask" in stdout
        assert main([*args, "--out", str(tmp_path / "bad"), "--outputs", "rgb,normal"]) == 2
        err = capsys.readouterr().err.strip()
        assert f"backend '{backend}' cannot produce normal" in err and len(err.splitlines()) == 1
        assert not (tmp_path / "bad").exists()


class _UnlitOnly:
    """A renderer that draws unlit only (like open3d), built on the reference so the test is fast."""

    def render_meshes(self, meshes, cameras, lights=None, materials=None, settings=None):
        assert settings.shading == "unlit", "the CLI must not ask an unlit-only backend for lit shading"
        from render3d.backends import get_backend

        return get_backend("torch").render_meshes(meshes, cameras, lights, materials, settings)


def test_unlit_only_backend_renders_unlit_and_says_so(tmp_path, sphere_file, capsys, monkeypatch):
    from render3d.backends import BackendInfo, Capabilities, Task, register_backend, registry

    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    caps = Capabilities(tasks=frozenset({Task.RENDER_MESHES}), differentiable=False, devices=frozenset({"cpu"}),
                        outputs=frozenset({"rgb", "alpha", "depth"}), shadings=frozenset({"unlit"}))
    register_backend(BackendInfo("zz_unlit", caps, "test double", "-", lambda: None, _UnlitOnly))
    try:
        out = tmp_path / "out"
        assert main(["render", str(sphere_file), "--out", str(out), "--size", "32", "--views", "1",
                     "--backend", "zz_unlit"]) == 0
    finally:
        registry._probe.cache_clear()
        registry._instance.cache_clear()
    stdout = capsys.readouterr().out
    assert "backend 'zz_unlit' does not draw phong shading; rendering unlit" in stdout
    assert "backend 'zz_unlit' does not produce normal; writing rgb, depth, mask" in stdout
    rgb = np.asarray(Image.open(out / "rgb_000.png")).astype(int)
    inside = np.asarray(Image.open(out / "mask_000.png")) == 255  # fully covered (edges mix with white)
    assert inside.sum() > 100 and np.abs(rgb[inside] - round(0.8 * 255)).max() <= 1  # the vertex color, unlit
