"""The bad-input battery (issue 9 §6–7): every case exits non-zero (2 for usage/input errors, 130 for
Ctrl-C) with one line on stderr naming what was wrong, no traceback, and nothing left in `--out`.

Most cases call `tools.cli.main` in-process; real subprocesses check start-up (no torch for `--help`
and usage errors: `sys.modules` is inspected, never the clock), the CUDA warning, and SIGINT.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan2d.checkpoint import save_checkpoint, save_network
from gan2d.data.toy import write_disc_folder
from gan2d.nets.stylegan2 import Generator, GeneratorConfig
from tests.gan2d.pkl_fixtures import dump_official_pickle, persistent, randomize
from tools.cli import main
from tools.rundir import MARKER

ROOT = Path(__file__).resolve().parents[2]
G_CFG = GeneratorConfig(img_resolution=8, z_dim=4, w_dim=4, channel_base=32, channel_max=4, mapping_layers=1)
TRI = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\n"
TINY_TRAIN = ["--resolution", "8", "--batch", "2", "--workers", "0", "--no-progress", "--z-dim", "4", "--w-dim", "4",
              "--channel-base", "32", "--channel-max", "4", "--mapping-layers", "1"]


def _run(argv: list[str], capsys) -> tuple[int, str]:
    rc = main(argv)
    return rc, capsys.readouterr().err


def _assert_one_line(err: str, pattern: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    assert lines[0].startswith("neurender: "), err
    assert re.search(pattern, lines[0]), f"{pattern!r} not in {lines[0]!r}"


def _leftovers(folder: Path) -> list[str]:
    """Staging folders and temp files (all hidden) a run left anywhere below `folder`."""
    return sorted(str(p) for p in folder.rglob(".*") if p.name != MARKER)


# --- files the cases need --------------------------------------------------------------------------------

def _obj(tmp: Path, faces: str = "f 1 2 3\n") -> Path:
    (tmp / "m.obj").write_text(TRI + faces)
    return tmp / "m.obj"


def _generator(tmp: Path) -> Path:
    torch.manual_seed(0)
    return save_network(tmp / "g.safetensors", randomize(Generator(G_CFG)))


def _empty_pt(tmp: Path) -> Path:
    (tmp / "empty.pt").write_bytes(b"")
    return tmp / "empty.pt"


def _huge_config(tmp: Path) -> Path:
    cfg = dict(img_resolution=1024, z_dim=10**6, w_dim=10**6, mapping_layers=1, channel_base=2**20, channel_max=2**20)
    return save_checkpoint(tmp / "huge.safetensors", "stylegan2.generator", cfg, {"x": torch.zeros(1)})


def _huge_tensor_header(tmp: Path) -> Path:
    header = json.dumps({"w": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4 * 10**12]}}).encode()
    (tmp / "header.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(16))
    return tmp / "header.safetensors"


def _pickle(tmp: Path, edit: Callable) -> Path:
    G = randomize(Generator(G_CFG))

    def data():
        g = persistent(G, "raise SystemExit")
        edit(g)
        return {"G_ema": g}

    dump_official_pickle(tmp / "net.pkl", data)
    return tmp / "net.pkl"


def _string_resolution(tmp: Path) -> Path:
    return _pickle(tmp, lambda g: g.meta["state"].update(img_resolution="abc"))


def _self_reference(tmp: Path) -> Path:
    def link(g):
        synthesis = g.meta["state"]["_modules"]["synthesis"]
        # a sub-module sharing its parent's state dict: the module tree contains itself
        synthesis.meta["state"]["_modules"]["again"] = type(synthesis)({**synthesis.meta})

    return _pickle(tmp, link)


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _malicious(tmp: Path) -> Path:
    (tmp / "evil.pkl").write_bytes(pickle.dumps({"G_ema": _Evil(tmp / "pwned")}))
    return tmp / "evil.pkl"


def _rosinality_wrong_shapes(tmp: Path) -> Path:
    sd = {"style.1.weight": torch.zeros(8), "style.1.bias": torch.zeros(8), "input.input": torch.zeros(1, 4, 4, 4)}
    torch.save({"g_ema": sd}, tmp / "r.pt")
    return tmp / "r.pt"


def _discs(tmp: Path) -> Path:
    return write_disc_folder(tmp / "discs", 4, 8)


def _photo(tmp: Path) -> Path:
    img = np.zeros((32, 32, 3), np.uint8)
    img[8:24, 8:24] = 200  # a bright square on a black backdrop
    Image.fromarray(img).save(tmp / "photo.png")
    return tmp / "photo.png"


def _not_images(tmp: Path) -> Path:
    (tmp / "junk").mkdir()
    for i in range(3):
        (tmp / "junk" / f"{i}.png").write_text("this is not a PNG")
    return tmp / "junk"


SCENE = """
version: 1
objects:
  - {name: ball, procedural: {type: icosphere, radius: 0.5, subdivisions: 2}, material: {texture: bomb.png}}
lights: [{type: ambient, intensity: 1.0}]
cameras: [{fov_deg: 40, view: {type: orbit, center: [0, 0, 0], distance: 3.0, frames: 1}}]
render: {width: 16, height: 16, outputs: [rgb]}
"""


def _bomb_scene(tmp: Path, bomb_png) -> Path:
    bomb_png(tmp / "bomb.png")
    (tmp / "scene.yaml").write_text(SCENE)
    return tmp / "scene.yaml"


def _bomb_folder(tmp: Path, bomb_png) -> Path:
    folder = write_disc_folder(tmp / "bombs", 2, 8)
    bomb_png(folder / "zzz.png")
    return folder


# --- the in-process cases ------------------------------------------------------------------------------------

# (id, argv with {placeholders}, the message pattern); every one must exit 2 and leave {out} absent.
CASES = [
    ("size-not-int", ["render", "{obj}", "--out", "{out}", "--size", "abc"], r"Invalid value for '--size'"),
    ("missing-out", ["render", "{obj}"], r"Missing option '--out'"),
    ("unknown-option", ["render", "{obj}", "--out", "{out}", "--bogus"], r"No such option: --bogus"),
    ("no-such-command", ["rendr", "{obj}"], r"No such command 'rendr'"),
    ("bad-choice", ["gan", "generate", "{gen}", "--out", "{out}", "--noise-mode", "loud"], r"'--noise-mode'.*const"),
    ("bad-arch", ["train", "refiner", "--out", "{out}", "--arch", "gan"], r"'--arch'.*spade"),
    ("out-is-file", ["render", "{obj}", "--out", "{file}"], r"--out .*file.txt exists and is not a directory"),
    ("out-under-file", ["gan", "generate", "{gen}", "--out", "{file}/sub"], r"file.txt is a file, not a directory"),
    ("out-read-only-render", ["render", "{obj}", "--out", "{ro}/out"], r"cannot write in"),
    ("out-read-only-generate", ["gan", "generate", "{gen}", "--out", "{ro}/out"], r"cannot write in"),
    ("out-read-only-train", ["train", "stylegan2", "--data", "{discs}", "--out", "{ro}/out", *TINY_TRAIN],
     r"cannot write in"),
    ("out-read-only-datagen", ["datagen", "--count", "1", "--out", "{ro}/out"], r"cannot write in"),
    ("out-holds-other-files", ["render", "{obj}", "--out", "{data_dir}"], r"holds files that are not a neurender run"),
    ("empty-pt", ["gan", "info", "{empty_pt}"], r"empty.pt: not a readable torch checkpoint \(EOFError\)"),
    ("huge-config", ["gan", "generate", "{huge}", "--out", "{out}"], r"refused before allocating"),
    ("huge-tensor-header", ["gan", "info", "{header}"], r"not a readable safetensors checkpoint"),
    ("string-resolution", ["gan", "info", "{strres}"], r"img_resolution must be an integer, got 'abc'"),
    ("self-reference", ["gan", "generate", "{selfref}", "--out", "{out}"], r"refers back to itself"),
    ("rosinality-shapes", ["gan", "info", "{rosi}"], r"'style.1.weight' has shape \(8,\)"),
    ("malicious-pickle", ["gan", "info", "{evil}"], r"posix.system, which is not allowed"),
    ("trunc-nan", ["gan", "generate", "{gen}", "--out", "{out}", "--trunc", "nan"], r"--trunc must be a finite number"),
    ("seed-too-big", ["gan", "generate", "{gen}", "--out", "{out}", "--seeds", "4294967296"], r"seeds must be within"),
    ("obj-index-0", ["render", "{obj0}", "--out", "{out}"], r"face 'f 0 1 2' uses index 0 \(OBJ indices start at 1\)"),
    ("gamma-nan", ["train", "stylegan2", "--data", "{discs}", "--out", "{out}", "--gamma", "nan", *TINY_TRAIN],
     r"r1_gamma must be a finite number"),
    ("lr-nan", ["train", "stylegan2", "--data", "{discs}", "--out", "{out}", "--lr-g", "nan", *TINY_TRAIN],
     r"lr_g must be a finite number"),
    ("cond-without-labels", ["train", "stylegan2", "--data", "{discs}", "--out", "{out}", "--cond", *TINY_TRAIN],
     r"--cond needs class labels"),
    ("kimg-0", ["train", "stylegan2", "--data", "{discs}", "--out", "{out}", "--kimg", "0", *TINY_TRAIN],
     r"total_kimg and batch_size must be positive"),
    ("not-images", ["train", "stylegan2", "--data", "{junk}", "--out", "{out}", *TINY_TRAIN],
     r"0.png: cannot decode image"),
    ("image-bomb", ["train", "stylegan2", "--data", "{bombs}", "--out", "{out}", *TINY_TRAIN],
     r"zzz.png: image too large to decode safely"),
    ("photo-bomb", ["reconstruct", "{bomb}", "--out", "{out}"], r"bomb.png: image too large to decode safely"),
    ("texture-bomb", ["render", "{bomb_scene}", "--out", "{out}"], r"bomb.png: image too large to decode safely"),
    ("out-read-only-reconstruct", ["reconstruct", "{photo}", "--out", "{ro}/out", "--steps", "1"], r"cannot write in"),
]


@pytest.fixture
def readonly(tmp_path) -> Path:
    """A folder this process cannot create anything in (root ignores permission bits: use sysfs)."""
    if os.geteuid() == 0:
        folder = Path("/sys/kernel")
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
    try:
        (folder / ".probe").mkdir()
    except OSError:
        return folder
    (folder / ".probe").rmdir()
    pytest.skip(f"{folder} is writable here")


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "data_dir").mkdir()
    (tmp_path / "data_dir" / "thesis.tex").write_text("precious")
    return {"out": tmp_path / "out", "file": tmp_path / "file.txt", "data_dir": tmp_path / "data_dir"}


MAKERS = {"obj": _obj, "obj0": lambda t: _obj(t, "f 0 1 2\n"), "gen": _generator, "empty_pt": _empty_pt,
          "huge": _huge_config, "header": _huge_tensor_header, "strres": _string_resolution,
          "selfref": _self_reference, "evil": _malicious, "rosi": _rosinality_wrong_shapes, "discs": _discs,
          "junk": _not_images, "photo": _photo}


@pytest.mark.parametrize(("argv", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line(request, tmp_path, files, bomb_png, capsys, argv, pattern):
    names = set(re.findall(r"\{(\w+)\}", " ".join(argv)))
    values = {**files, **{k: MAKERS[k](tmp_path) for k in names & MAKERS.keys()}}
    if "bombs" in names:
        values["bombs"] = _bomb_folder(tmp_path, bomb_png)
    if "bomb" in names:
        values["bomb"] = bomb_png(tmp_path / "bomb.png")
    if "bomb_scene" in names:
        values["bomb_scene"] = _bomb_scene(tmp_path, bomb_png)
    if "ro" in names:
        values["ro"] = request.getfixturevalue("readonly")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    rc, err = _run([a.format(**values) for a in argv], capsys)
    assert rc == 2, err
    _assert_one_line(err, pattern)
    assert not (tmp_path / "out").exists()
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # nothing written or changed
    assert not (tmp_path / "pwned").exists()  # the malicious pickle ran nothing


def test_rerender_replaces_a_previous_run_whole(tmp_path, capsys):
    obj, out = _obj(tmp_path), tmp_path / "out"
    assert main(["render", str(obj), "--out", str(out), "--size", "16", "--views", "4", "--outputs", "mask"]) == 0
    assert len(list(out.glob("mask_*.png"))) == 4
    assert main(["render", str(obj), "--out", str(out), "--size", "16", "--views", "2", "--outputs", "mask"]) == 0
    assert sorted(p.name for p in out.glob("mask_*.png")) == ["mask_000.png", "mask_001.png"]  # no stale views
    assert len(json.loads((out / "cameras.json").read_text())) == 2
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("job", ["render", "generate", "train"])
def test_interrupt_in_process_exits_130_and_leaves_nothing(tmp_path, capsys, monkeypatch, job):
    import tools.gan.generate
    import tools.render
    import tools.train.run

    def interrupt(*args, **kwargs):
        for folder in tmp_path.glob(".out.*.partial"):  # a half-written output exists when Ctrl-C comes
            (folder / "half.png").write_bytes(b"\x89PNG")
        raise KeyboardInterrupt

    out = tmp_path / "out"
    if job == "render":
        monkeypatch.setattr(tools.render, "render_orbit", interrupt)
        argv = ["render", str(_obj(tmp_path)), "--out", str(out), "--size", "16"]
    elif job == "generate":
        monkeypatch.setattr(tools.gan.generate, "_style_mix", interrupt)
        argv = ["gan", "generate", str(_generator(tmp_path)), "--out", str(out), "--seeds", "0", "--mix-seeds", "1",
                "--mix-layers", "0"]
    else:
        monkeypatch.setattr(tools.train.run, "train", interrupt)
        argv = ["train", "stylegan2", "--data", str(_discs(tmp_path)), "--out", str(out), *TINY_TRAIN]
    rc, err = _run(argv, capsys)
    assert rc == 130
    _assert_one_line(err, r"^neurender: aborted$")
    assert _leftovers(tmp_path) == []
    if job != "train":  # staged outputs: nothing at all; a training run keeps its (complete) config to resume
        assert not out.exists()


# --- subprocesses: start-up, CUDA warning, SIGINT -----------------------------------------------------------

LIGHT = [["--help"], [], ["nosuch"], ["--bogus"], ["gan", "--help"], ["train", "--help"], ["bench", "--help"],
         ["gan", "generate", "g.pt", "--out", "o", "--trunc", "abc"],
         ["train", "stylegan2", "--out", "o", "--kimg", "x"], ["train", "refiner", "--out", "o", "--d-norm", "batch"],
         ["datagen", "--size", "abc", "--out", "o"], ["datagen", "--help"], ["faces", "--help"], ["pc2img", "--help"],
         ["view", "--help"], ["train", "faces", "--help"], ["train", "pc2img", "--help"],
         ["render", "--help"], ["render", "m.obj", "--out", "o", "--size", "abc"], ["backends", "--help"],
         ["backends", "--bogus"], ["bench", "render", "--help"], ["bench", "render", "--repeats", "0"],
         ["bench", "gan", "--help"], ["bench", "gan", "--batch", "x"], ["bench", "distributed", "--help"],
         ["bench", "distributed", "--size", "4"]]
PROBE = textwrap.dedent("""
    import contextlib, io, json, sys
    from tools.cli import main
    results = []
    for argv in json.loads(sys.argv[1]):
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            rc = main(argv)
        results.append([argv, rc, err.getvalue(), sorted(m for m in ("torch", "pytorch3d", "nvdiffrast")
                                                        if m in sys.modules)])
    # then what `neurender backends` (and `--backend auto`) do: probe the backends, the CUDA-only nvdiffrast
    # included; its stderr is the process's own (the commands above wrote theirs into `err`)
    from render3d.backends import unavailable_reason
    reasons = {n: unavailable_reason(n) for n in ("torch", "pytorch3d", "nvdiffrast")}
    print(json.dumps({"light": results, "reasons": reasons,
                      "cpp_extension": "torch.utils.cpp_extension" in sys.modules}))
""")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def fresh_process() -> tuple[dict, str]:
    """One fresh interpreter (a torch import costs seconds on a busy machine) for the start-up checks:
    the light commands first, torch-free, then the backend probe. Returns its report and its stderr."""
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(LIGHT)], capture_output=True, text=True,
                          cwd=ROOT, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def test_help_and_usage_errors_load_no_torch(fresh_process):
    report, _ = fresh_process
    assert [argv for argv, *_ in report["light"]] == LIGHT
    for argv, rc, err, heavy in report["light"]:
        assert heavy == [], f"{argv} imported {heavy}"
        if argv and "--help" not in argv:
            assert rc == 2, (argv, err)
            _assert_one_line(err, r"^neurender: error: ")
        else:
            assert rc == 0 and err == "", (argv, err)


def test_probing_backends_prints_no_cuda_warning_on_a_cpu_machine(fresh_process):
    # `neurender backends` (and `--backend auto`) probe the CUDA-only nvdiffrast; importing it loads
    # torch.utils.cpp_extension, which warns "No CUDA runtime is found" on every CPU machine.
    if torch.cuda.is_available():
        pytest.skip("the warning is about machines without CUDA")
    report, stderr = fresh_process
    assert "CUDA GPU" in report["reasons"]["nvdiffrast"] and not report["cpp_extension"]
    assert "CUDA" not in stderr, stderr


def test_ctrl_c_exits_130_and_leaves_nothing(tmp_path):
    """Real SIGINTs (what Ctrl-C sends) to a training run, a render and a datagen run, started together."""
    import trimesh

    mesh = tmp_path / "sphere.obj"
    trimesh.creation.icosphere(subdivisions=4).export(mesh)
    run, render_out, ds = tmp_path / "run", tmp_path / "out", tmp_path / "ds"
    jobs = {
        "train": (["train", "stylegan2", "--data", str(_discs(tmp_path)), "--out", str(run), "--kimg", "1000",
                   *TINY_TRAIN], lambda: (run / "train_config.json").is_file()),  # the loop has started
        "render": (["render", str(mesh), "--out", str(render_out), "--size", "256", "--views", "64"],
                   lambda: any(tmp_path.glob(".out.*.partial"))),  # staged: loading or rendering now
        "datagen": (["datagen", "--kind", "shapes", "--count", "400", "--views", "2", "--size", "32", "--workers", "1",
                     "--supersample", "1", "--no-progress", "--out", str(ds)],
                    lambda: any((ds / "samples").glob("0*"))),  # a sample is done, others are in progress
    }
    procs = {name: subprocess.Popen([sys.executable, "-m", "tools.cli", *argv], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
             for name, (argv, _) in jobs.items()}
    pending, deadline = set(jobs), time.monotonic() + 240
    try:
        while pending:
            for name in sorted(pending):
                if jobs[name][1]():
                    procs[name].send_signal(signal.SIGINT)
                    pending.discard(name)
                elif procs[name].poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{name} ended or stalled before its Ctrl-C: {procs[name].stderr.read()[-2000:]}")
            time.sleep(0.05)
        errs = {name: proc.communicate(timeout=120)[1] for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            proc.kill()
    for name, proc in procs.items():
        assert proc.returncode == 130, (name, errs[name])
        _assert_one_line(errs[name], r"^neurender: aborted$")
    assert _leftovers(tmp_path) == []
    assert not render_out.exists()  # staged outputs: all or nothing
    assert json.loads((run / "config.json").read_text())["task"] == "stylegan2"  # complete, so resumable


def test_corrupt_image_met_during_training_is_one_line(tmp_path, capsys):
    # 20 images: the up-front check decodes 8 spread over the folder (not index 1); the DataLoader
    # worker meets the corrupt one and re-raises it with its traceback inside the message.
    data = write_disc_folder(tmp_path / "discs", 20, 8)
    (data / "000001.png").write_text("not a PNG")
    out = tmp_path / "run"
    argv = ["train", "stylegan2", "--data", str(data), "--out", str(out), "--kimg", "0.04", *TINY_TRAIN,
            "--workers", "1"]  # the last --workers wins
    rc, err = _run(argv, capsys)
    assert rc == 2
    _assert_one_line(err, r"^neurender: error: 000001.png: cannot decode image")
    assert _leftovers(tmp_path) == []


def test_not_images_in_a_paired_folder_write_nothing(tmp_path, capsys):
    for sub in ("input", "target"):
        (tmp_path / "pairs" / sub).mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "pairs" / sub / "a.png")
        (tmp_path / "pairs" / sub / "b.png").write_text("not a PNG")
    argv = ["train", "refiner", "--data", str(tmp_path / "pairs"), "--out", str(tmp_path / "out"), "--resolution", "8",
            "--arch", "unet", "--base-channels", "2", "--d-channels", "2", "--workers", "0", "--no-progress"]
    rc, err = _run(argv, capsys)
    assert rc == 2
    _assert_one_line(err, r"b.png: cannot decode image")
    assert not (tmp_path / "out").exists()
