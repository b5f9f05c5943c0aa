import json

import numpy as np
import pytest
import torch
from PIL import Image

from render3d.cameras import Cameras
from render3d.io import load_mesh
from tools.cli import main
from tools.reconstruct.render import hard_mask
from tools.reconstruct.synthetic import photo_camera, render_photo, shapes
from tools.reconstruct.synthetic_hard import hard_shapes


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A 48x40 RGBA photo of the benchmark ellipsoid (alpha = mask), plus an RGB copy."""
    shape = next(s for s in shapes() if s.name == "ellipsoid")
    cam = photo_camera(48, shape.azimuth, shape.elevation)
    rgb, alpha = render_photo(shape.mesh, cam)
    rgba = torch.cat([rgb, alpha[..., None]], -1)[4:44]  # crop rows: a non-square photo
    d = tmp_path_factory.mktemp("photo")
    a = (rgba.numpy() * 255 + 0.5).astype(np.uint8)
    Image.fromarray(a).save(d / "obj.png")
    Image.fromarray(a[..., :3]).save(d / "obj_rgb.png")
    return d


def test_reconstruct_writes_consistent_outputs(tmp_path, photo):
    out = tmp_path / "run"
    code = main(["reconstruct", str(photo / "obj.png"), "--out", str(out), "--size", "48", "--steps", "24",
                 "--fov", "40"])
    assert code == 0
    for name in ("mesh.obj", "mesh.mtl", "mesh.glb", "camera.json", "turntable.gif", "metrics.json", "report.png",
                 "config.json", "mask.png"):
        assert (out / name).is_file(), name
    assert len(list((out / "views").glob("view_*.png"))) == 8
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["input_iou"] > 0.9 and metrics["steps"] == 24 and metrics["mask_source"] == "alpha channel"
    assert metrics["textured_psnr"] > 20.0
    config = json.loads((out / "config.json").read_text())
    assert config["fit"]["steps"] == 24 and config["working_size"] == [48, 40]
    # camera.json is the input view in the photo's pixels: rendering the saved mesh with it gives the photo's mask.
    cam = json.loads((out / "camera.json").read_text())
    assert (cam["width"], cam["height"]) == (48, 40)
    cameras = Cameras(torch.tensor([cam["K"]]), torch.tensor([cam["R"]]), torch.tensor([cam["t"]]), 48, 40)
    mesh = load_mesh(out / "mesh.obj")
    assert mesh.has_texture
    pred = hard_mask(mesh, cameras)[0]
    target = torch.from_numpy(np.asarray(Image.open(photo / "obj.png"))[..., 3] > 127).float()
    assert float((pred * target).sum() / (pred + target - pred * target).sum()) > 0.9


def test_reconstruct_segments_rgb_photos(tmp_path, photo):
    out = tmp_path / "run"
    assert main(["reconstruct", str(photo / "obj_rgb.png"), "--out", str(out), "--size", "48", "--steps", "6"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mask_source"] == "segmentation" and metrics["input_iou"] > 0.8


def test_bad_inputs_exit_2(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(blank)
    assert main(["reconstruct", str(blank), "--out", str(tmp_path / "a")]) == 2
    assert "no object found" in capsys.readouterr().err
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 definitely not a jpeg")
    assert main(["reconstruct", str(broken), "--out", str(tmp_path / "b")]) == 2
    assert "cannot read image" in capsys.readouterr().err
    assert main(["reconstruct", str(tmp_path / "missing.png")]) == 2
    assert main(["reconstruct", str(blank), "--symmetry", "y"]) == 2
    assert main(["reconstruct", str(blank), "--K", "1,2,3"]) == 2
    assert main(["reconstruct", str(blank), "--backend", "nvdiffrast"]) == 2


def test_bad_template_and_perceptual_files_fail_before_writing_anything(tmp_path, photo, capsys):
    flat = tmp_path / "flat.obj"
    flat.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3\nf 2 4 3\nf 1 3 2\nf 2 3 4\n")
    garbage_mesh = tmp_path / "garbage.obj"
    garbage_mesh.write_bytes(b"\x00\x01 this is not a mesh \xff" * 10)
    garbage_weights = tmp_path / "vgg16.pth"
    garbage_weights.write_bytes(b"definitely not a state dict" * 10)
    cases = [(["--template", str(flat)], "degenerate mesh"), (["--template", str(garbage_mesh)], "--template"),
             (["--perceptual", str(garbage_weights)], "--perceptual")]
    for i, (args, reason) in enumerate(cases):
        out = tmp_path / f"run{i}"
        assert main(["reconstruct", str(photo / "obj.png"), "--out", str(out), "--size", "32", "--steps", "2",
                     *args]) == 2
        err = capsys.readouterr().err.strip()
        assert reason in err and len(err.splitlines()) == 1 and "torch.load" not in err and "Traceback" not in err
        assert not out.exists()


def test_choice_options_are_checked(tmp_path, photo):
    for args in (["--prior", "bogus"], ["--device", "tpu"], ["--backend", "pyrender"], ["--symmetry", "q"]):
        assert main(["reconstruct", str(photo / "obj.png"), "--out", str(tmp_path / "x"), *args]) == 2
    assert not (tmp_path / "x").exists()


def test_panels_and_pairs_are_switched_by_the_cli_and_named_in_the_metrics(tmp_path):
    # A chair (four feet, a backrest: the panel prior) and a quadruped (two leg pairs: the pairs prior) of the
    # hard set, photographed as the bench does (fitted at 64 px); --no-panels / --no-pairs turn each off and the
    # metrics say so.
    for name, flag, words in (("chair", "--no-panels", "upright panel"), ("quadruped", "--no-pairs", "legs as deep")):
        shape = next(s for s in hard_shapes() if s.name == name)
        cam = photo_camera(128, shape.azimuth, shape.elevation)
        rgb, alpha = render_photo(shape.mesh, cam)
        path = tmp_path / f"{name}.png"
        Image.fromarray((torch.cat([rgb, alpha[..., None]], -1).numpy() * 255 + 0.5).astype(np.uint8)).save(path)
        named = {}
        for extra in ([], [flag]):
            out = tmp_path / f"{name}{''.join(extra)}"
            assert main(["reconstruct", str(path), "--out", str(out), "--size", "64", "--steps", "2", "--fov", "40",
                         *extra]) == 0
            named[bool(extra)] = json.loads((out / "metrics.json").read_text())["priors"]
            config = json.loads((out / "config.json").read_text())
            assert config["fit"][flag.removeprefix("--no-")] is not bool(extra)
        assert words in named[False] and words not in named[True], named
