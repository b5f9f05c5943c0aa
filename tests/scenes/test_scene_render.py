"""Scene rendering: analytic depth and masks, occlusion between objects, instance ids, transparency,
bit-identical re-renders, agreement with pyrender, and every example scene rendering at small size."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from scenes.assets import BoxParams, PlaneParams, SphereParams
from scenes.fileio import load_scene, save_scene
from scenes.render import render, render_scene_file
from scenes.scene import Scene
from scenes.schema import CameraSpec, LookAtView, MaterialSpec, RenderFlags, TransformSpec
from scenes.script import load_scene_script

pytestmark = pytest.mark.usefixtures("one_thread")

EXAMPLE_DIR = Path(__file__).parents[2] / "scenes" / "examples"
EXAMPLES = sorted([*EXAMPLE_DIR.glob("*.yaml"), *EXAMPLE_DIR.glob("*.py")])
ALL = ["rgb", "depth", "normals", "mask", "instance", "albedo"]


def _two_spheres(**render) -> Scene:
    s = Scene("two").add_asset(SphereParams(radius=0.5, segments=32, rings=16), name="front",
                               transform=TransformSpec(translation=(0, 0, 0.5)))
    s.add_asset(SphereParams(radius=0.8, segments=24, rings=12), name="back",
                transform=TransformSpec(translation=(0.6, 0, -1)), material=MaterialSpec(base_color=(0.9, 0.1, 0.1)))
    return s.look_at((0, 0, 3)).configure(**{"width": 64, "height": 64, "outputs": ALL, **render})


def test_depth_mask_and_instances_match_the_geometry() -> None:
    out = render(_two_spheres())
    c = 32  # image center: the front sphere's nearest point, 3 - 0.5 - 0.5 = 2 away
    assert out.depth[0, c, c].item() == pytest.approx(2.0, abs=5e-3)  # tessellated: slightly inside
    assert out.instance[0, c, c].item() == 1 and out.mask[0, c, c].item() == 1.0
    assert out.instance[0, 0, 0].item() == 0 and out.depth[0, 0, 0].item() == 0 and out.alpha[0, 0, 0] == 0
    # The back sphere shows right of the front one; pixels of id 2 lie deeper than pixels of id 1.
    assert (out.instance[0] == 2).any()
    assert out.depth[0][out.instance[0] == 2].min() > out.depth[0][out.instance[0] == 1].max()
    # Front sphere silhouette: a disk of radius f·r/sqrt(d² - r²) pixels (d = 2.5 to its center).
    f = out.cameras.K[0, 0, 0].item()
    radius_px = f * 0.5 / (2.5**2 - 0.25) ** 0.5
    assert (out.instance[0] == 1).sum().item() == pytest.approx(np.pi * radius_px**2, rel=0.03)
    n = out.normals[0, c, c]
    assert torch.allclose(n, torch.tensor([0.0, 0.0, 1.0]), atol=0.05)  # pixel center is 0.5 px off axis
    assert torch.allclose(out.albedo[0, c, c], torch.tensor([0.8, 0.8, 0.8]), atol=1e-4)


def test_objects_outside_the_mask_occlude_but_are_not_labelled() -> None:
    s = Scene("floor").add_asset(SphereParams(radius=0.5), name="ball")
    s.add_asset(BoxParams(size=(0.4, 0.4, 0.4)), name="wall", transform=TransformSpec(translation=(0, 0, 1.2)),
                flags=RenderFlags(in_mask=False))
    out = render(s.look_at((0, 0, 3)).configure(width=48, height=48, outputs=["mask", "instance"]))
    c = 24
    assert out.mask[0, c, c] == 0 and out.instance[0, c, c] == 0  # the wall hides the ball's center
    assert out.alpha[0, c, c] == 1 and out.depth[0, c, c].item() == pytest.approx(1.6, abs=1e-3)
    assert out.mask[0].sum() > 0 and out.instance[0].max() == 1  # the ball rim is still visible


def test_supersampling_gives_fractional_edges_and_the_same_interior() -> None:
    hard, soft = render(_two_spheres()), render(_two_spheres(supersample=2))
    frac = (soft.alpha > 0) & (soft.alpha < 1)
    assert frac.any() and not ((hard.alpha > 0) & (hard.alpha < 1)).any()
    inner = (hard.alpha == 1) & (soft.alpha == 1) & (hard.instance == soft.instance)
    assert (soft.depth[inner] - hard.depth[inner]).abs().quantile(0.99) < 0.02
    # Where the objects meet, depth follows the majority object and never averages the two.
    assert (hard.instance != soft.instance).float().mean() < 0.01


def test_transparent_background_writes_rgba(tmp_path: Path) -> None:
    render(_two_spheres(background="transparent"), tmp_path)
    img = np.asarray(Image.open(tmp_path / "rgb" / "frame_000.png"))
    assert img.shape == (64, 64, 4) and img[0, 0, 3] == 0 and img[32, 32, 3] == 255


def test_run_directory_is_complete_and_rerenders_bit_identically(tmp_path: Path) -> None:
    s = _two_spheres(width=32, height=32).orbit(frames=2)
    render(s, tmp_path / "a")
    render(s, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    names = {str(p) for p in files}
    for expected in ("scene.yaml", "cameras.json", "sheet.png", "turntable.gif", "rgb/frame_002.png",
                     "depth/frame_000.npy", "depth/frame_000.png", "normals/frame_001.png", "mask/frame_002.png",
                     "instance/frame_000.png", "instance/frame_000_color.png", "albedo/frame_002.png"):
        assert expected in names, expected
    for rel in files:
        a, b = (tmp_path / "a" / rel).read_bytes(), (tmp_path / "b" / rel).read_bytes()
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest(), rel
    depth = np.load(tmp_path / "a" / "depth" / "frame_000.npy")
    assert depth.dtype == np.float32 and depth.shape == (32, 32)
    # The written scene file renders the same images again.
    render_scene_file(tmp_path / "a" / "scene.yaml", tmp_path / "c")
    again = (tmp_path / "c" / "rgb" / "frame_002.png").read_bytes()
    assert again == (tmp_path / "a" / "rgb" / "frame_002.png").read_bytes()


def test_render_scene_file_overrides(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    save_scene(_two_spheres().spec(), path)
    render_scene_file(path, tmp_path / "out", width=24, height=16)
    assert Image.open(tmp_path / "out" / "rgb" / "frame_000.png").size == (24, 16)
    assert load_scene(tmp_path / "out" / "scene.yaml").render.width == 24
    # An explicit K (pixels of the file's size) is rescaled with the override.
    k = ((80.0, 0.0, 32.0), (0.0, 80.0, 32.0), (0.0, 0.0, 1.0))
    save_scene(_two_spheres().add_camera(CameraSpec(K=k, view=LookAtView(eye=(0, 0, 3)))).spec(), path)
    render_scene_file(path, tmp_path / "k", width=32, height=16)
    cams = json.loads((tmp_path / "k" / "cameras.json").read_text())
    assert cams[1]["K"] == [[40.0, 0.0, 16.0], [0.0, 20.0, 8.0], [0.0, 0.0, 1.0]]


def _pyrender_missing() -> str | None:
    from render3d.backends import unavailable_reason

    return unavailable_reason("pyrender")


@pytest.mark.skipif(_pyrender_missing() is not None, reason=f"pyrender unavailable: {_pyrender_missing()}")
def test_reference_and_pyrender_agree_on_masks_and_depth() -> None:
    def scene(backend: str) -> Scene:
        s = Scene("agree").add_asset(SphereParams(radius=0.5), transform=TransformSpec(translation=(-0.3, 0, 0.4)))
        s.add_asset(BoxParams(size=(0.6, 0.9, 0.5)), transform=TransformSpec(translation=(0.5, 0.1, -0.4),
                                                                          rotation_euler_deg=(10, 35, 0)))
        s.add_asset(PlaneParams(size=(3, 3)), transform=TransformSpec(translation=(0, -0.6, 0)),
                    flags=RenderFlags(in_mask=False))
        return s.orbit(frames=3, distance=3.0, elevation_deg=20).configure(
            width=64, height=64, backend=backend, outputs=["rgb", "depth", "mask", "instance"])

    ref, pr = render(scene("torch")), render(scene("pyrender"))
    a, b = ref.mask > 0.5, pr.mask > 0.5
    assert ((a & b).sum() / (a | b).sum()).item() >= 0.99
    both = (ref.depth > 0) & (pr.depth > 0)
    assert ((ref.depth > 0) == (pr.depth > 0)).float().mean() > 0.99
    assert (ref.depth - pr.depth)[both].abs().quantile(0.99) < 1e-2
    assert (ref.instance == pr.instance).float().mean() > 0.99


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_scene_renders_at_small_size(tmp_path: Path, path: Path) -> None:
    spec = load_scene(path)  # .py scripts load through the same path as scene files
    small = Scene.from_spec(spec).configure(width=24, height=24, supersample=1)
    small.cameras = [c.model_copy(update={"view": c.view.model_copy(update={"frames": 2})})
                     if hasattr(c.view, "frames") else c for c in small.cameras]
    out = render(small, tmp_path)
    assert out.rgb.shape[1:] == (24, 24, 3) and torch.isfinite(out.rgb).all()
    assert out.alpha.sum() > 0, "the example shows nothing"
    assert (tmp_path / "sheet.png").is_file()


def test_scene_script_errors(tmp_path: Path) -> None:
    from scenes.errors import SceneFileError

    bad = tmp_path / "bad.py"
    bad.write_text("scene = 42\n")
    with pytest.raises(SceneFileError, match="must define `scene`"):
        load_scene_script(bad)
    with pytest.raises(SceneFileError, match="no such scene script"):
        load_scene_script(tmp_path / "absent.py")
    # Relative assets in a script resolve against the script's folder.
    (tmp_path / "tri.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    ok = tmp_path / "ok.py"
    ok.write_text("from scenes.scene import Scene\nscene = Scene().add_mesh('tri.obj')\n")
    assert Path(load_scene_script(ok).objects[0].mesh) == (tmp_path / "tri.obj").resolve()


def test_backend_errors_name_the_problem() -> None:
    from render3d.errors import BackendUnavailable
    from scenes.errors import SceneFileError

    with pytest.raises(BackendUnavailable, match="unknown backend 'nope'"):
        render(_two_spheres(backend="nope"))
    if _pyrender_missing() is None:
        with pytest.raises(SceneFileError, match="does not produce normals"):
            render(_two_spheres(backend="pyrender"))
