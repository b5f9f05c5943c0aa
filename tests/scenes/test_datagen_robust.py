"""The dataset engine under failure: a sample that raises is named and skipped, Ctrl-C leaves no
temp folder, a killed run's temp folders are never taken for samples."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import scenes.datagen as datagen
from scenes.datagen import DatagenConfig, generate, sample_seed
from scenes.errors import DatagenError, JobError

CFG = DatagenConfig("shapes", count=4, views=1, size=16, workers=1, supersample=1)


pytestmark = pytest.mark.usefixtures("one_thread")


def _fail_for(monkeypatch, bad_seeds: set[int], exc: BaseException) -> None:
    real = datagen.make_sample

    def make_sample(kind, seed, *args, **kwargs):
        if seed in bad_seeds:
            raise exc
        return real(kind, seed, *args, **kwargs)

    monkeypatch.setattr(datagen, "make_sample", make_sample)


def test_a_failing_sample_is_named_recorded_and_the_rest_still_render(tmp_path: Path, monkeypatch) -> None:
    bad = sample_seed(0, 1)
    _fail_for(monkeypatch, {bad}, ValueError("no UVs here"))
    with pytest.raises(DatagenError, match=rf"1 of 4 samples failed .*sample 000001 \(index 1, seed {bad}\): no UVs"):
        generate(CFG, tmp_path, progress=False)
    done = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert done == ["000000", "000002", "000003"]  # no temp folder, the others finished
    index = json.loads((tmp_path / "dataset.json").read_text())
    assert not index["complete"] and [s["id"] for s in index["samples"]] == ["000000", "000002", "000003"]
    assert index["failed"] == [{"id": "000001", "index": 1, "seed": bad, "error": index["failed"][0]["error"]}]
    # A re-run retries only the failed sample, names it again, and succeeds once it can.
    with pytest.raises(DatagenError, match=r"1 of 1 samples failed"):
        generate(CFG, tmp_path, progress=False)
    monkeypatch.undo()
    report = generate(CFG, tmp_path, progress=False)
    assert (report.written, report.skipped) == (1, 3)
    index = json.loads((tmp_path / "dataset.json").read_text())
    assert index["complete"] and index["failed"] == []


def test_a_systematic_failure_stops_early(tmp_path: Path, monkeypatch) -> None:
    cfg = DatagenConfig("shapes", count=40, views=1, size=16, workers=1, supersample=1)
    _fail_for(monkeypatch, {sample_seed(0, i) for i in range(40)}, RuntimeError("broken"))
    with pytest.raises(JobError, match="first 10 samples all failed"):
        generate(cfg, tmp_path, progress=False)
    assert len(json.loads((tmp_path / "dataset.json").read_text())["failed"]) == 10


def test_interrupt_removes_the_unfinished_sample_and_indexes_the_finished(tmp_path: Path, monkeypatch) -> None:
    real = datagen.save_scene
    calls = []

    def save_scene(spec, path):  # the last file of a sample: interrupt the third sample mid-write
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(spec, path)

    monkeypatch.setattr(datagen, "save_scene", save_scene)
    with pytest.raises(KeyboardInterrupt):
        generate(CFG, tmp_path, progress=False)
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["000000", "000001"]
    index = json.loads((tmp_path / "dataset.json").read_text())
    assert [s["id"] for s in index["samples"]] == ["000000", "000001"] and not index["complete"]
    monkeypatch.undo()
    assert generate(CFG, tmp_path, progress=False).written == 2


def test_a_killed_runs_temp_folder_is_removed_not_taken_for_a_sample(tmp_path: Path) -> None:
    stale = tmp_path / "samples" / ".tmp-000001-424242"
    stale.mkdir(parents=True)
    (stale / "image_000.png").write_bytes(b"half a png")
    (stale / "params.json").write_text("{")
    report = generate(DatagenConfig("shapes", count=2, views=1, size=16, workers=1, supersample=1), tmp_path,
                      progress=False)
    assert report.written == 2 and not stale.exists()
    assert json.loads((tmp_path / "samples" / "000001" / "params.json").read_text())["index"] == 1


SCRIPT = """
import sys
from scenes.datagen import DatagenConfig, generate
try:
    generate(DatagenConfig("heads", count=40, views=2, size=48, workers=2, supersample=2), sys.argv[1],
             progress=False)
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.slow  # two fresh torch imports (the run and its fork server): ~8 s idle
def test_ctrl_c_with_worker_processes_leaves_no_temp_folder(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        # Interrupt while the workers are writing: once a temp folder exists.
        while not list((tmp_path / "samples").glob(".tmp-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    samples = tmp_path / "samples"
    assert not list(samples.glob(".tmp-*"))
    for folder in samples.iterdir():  # whatever finished is complete
        assert (folder / "scene.yaml").is_file() and (folder / "params.json").is_file()
    index = json.loads((tmp_path / "dataset.json").read_text())
    assert len(index["samples"]) == len(list(samples.iterdir())) < 40
