"""Every batch job on a real local Ray instance (2 CPUs), started once for this module because it costs
seconds: datasets byte for byte equal to a local run with 1 or 2 Ray workers, a task that raises is
retried then reported, a killed worker's task reruns, a rerun of a finished job sends no task, and
`neurender render SCENE_LIST --ray` / `datagen --ray` / the pc2img batch write what a local run writes."""

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from scenes.datagen import DatagenConfig, DatagenJob, generate
from scenes.jobs.driver import run_job
from scenes.jobs.local import InlineRunner
from tests.tools.batch.helpers import write_clouds_and_weights
from tools.cli import main

ray = pytest.importorskip("ray")
from scenes.jobs.ray_runner import RayRunner, init_ray  # noqa: E402 - needs Ray

CFG = DatagenConfig("shapes", count=4, views=1, size=16, workers=1, supersample=1)
SCENE = """version: 1
objects:
  - {{name: ball, procedural: {{type: {kind}, radius: 0.4}}, material: {{base_color: [0.8, {g}, 0.3]}}}}
cameras:
  - {{fov_deg: 40, view: {{type: orbit, center: [0, 0, 0], distance: 2.5, elevation_deg: 20, frames: 2}}}}
render: {{width: 20, height: 20, supersample: 1, outputs: [rgb, depth, mask]}}
"""


@pytest.fixture(scope="module")
def ray_instance():
    init_ray(None, workers=2)  # what `--ray` alone starts
    # Workers cannot import this test module (pytest put its folder on this process' path only): send
    # the test job by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def local_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local")
    generate(CFG, out, progress=False)
    return out


class Flaky(DatagenJob):
    """The dataset job with injected failures; each attempt leaves a file in `log`, so attempts made
    in Ray worker processes can be counted here."""

    def __init__(self, cfg: DatagenConfig, out: Path, log: Path, fail: dict[int, str]) -> None:
        super().__init__(cfg, out)
        self.log, self.fail = log, fail
        log.mkdir(parents=True, exist_ok=True)

    def attempts(self, i: int) -> int:
        return len(list(self.log.glob(f"{i}-*")))

    def write(self, i: int, tmp: Path) -> None:
        n = self.attempts(i)
        (self.log / f"{i}-{n}").touch()
        mode = self.fail.get(i)
        if mode == "always":
            raise ValueError("this sample never renders")
        if mode == "kill" and n == 0:
            tmp.mkdir()  # dies with a temp folder half-written
            os.kill(os.getpid(), signal.SIGKILL)
        super().write(i, tmp)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _assert_same_files(a: Path, b: Path, at_least: int) -> None:
    fa, fb = _files(a), _files(b)
    assert len(fa) >= at_least and fa.keys() == fb.keys()
    assert [k for k in fa if fa[k] != fb[k]] == []


@pytest.mark.parametrize("workers", [1, 2])
def test_ray_writes_the_local_dataset_byte_for_byte_and_a_rerun_sends_nothing(
        ray_instance, local_dataset: Path, tmp_path: Path, workers: int) -> None:
    report = generate(CFG, tmp_path, progress=False, runner=RayRunner(workers=workers))
    assert (report.written, report.skipped, report.retried) == (4, 0, 0)
    _assert_same_files(local_dataset, tmp_path, 4 * 8)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "samples").rglob("*")}
    job = Flaky(CFG, tmp_path, tmp_path.parent / f"{tmp_path.name}-attempts", {})
    again = run_job(job, RayRunner(workers=workers), progress=False)
    assert (again.written, again.skipped) == (0, 4) and not list(job.log.iterdir())  # no task was sent
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "samples").rglob("*")} == before


def test_a_raising_task_is_retried_then_reported_and_a_killed_worker_reruns(ray_instance, local_dataset: Path,
                                                                         tmp_path: Path) -> None:
    out = tmp_path / "ds"
    (out / "samples").mkdir(parents=True)
    job = Flaky(CFG, out, tmp_path / "attempts", {1: "always", 2: "kill"})
    report = run_job(job, RayRunner(workers=2), retries=2, progress=False)
    assert [f.index for f in report.failed] == [1]
    assert report.failed[0].error.startswith(job.describe(1))  # "sample 000001 (index 1, seed …)"
    assert "this sample never renders" in report.failed[0].error
    assert job.attempts(1) == 3 and job.attempts(2) == 2 and job.attempts(0) == 1  # 2 retries; the kill once
    assert report.retried == 3 and report.written == 3
    assert not list((out / "samples").glob(".tmp-*"))
    index = json.loads((out / "dataset.json").read_text())  # the job's finish indexed done and failed samples
    assert [s["id"] for s in index["samples"]] == ["000000", "000002", "000003"]
    assert [f["id"] for f in index["failed"]] == ["000001"]
    for i in (0, 2, 3):  # the rerun of the killed sample is the sample the local run wrote
        name = f"samples/{i:06d}"
        assert _files(out / name) == _files(local_dataset / name)


def test_datagen_cli_with_ray(ray_instance, local_dataset: Path, tmp_path: Path, capsys) -> None:
    args = ["datagen", "--kind", "shapes", "--count", "4", "--views", "1", "--size", "16", "--supersample", "1",
            "--no-progress", "--out", str(tmp_path), "--ray", "--workers", "2"]
    assert main(args) == 0
    assert "4 rendered, 0 already done" in capsys.readouterr().out
    _assert_same_files(local_dataset, tmp_path, 4 * 8)


def test_render_scene_list_on_ray_is_the_local_batch(ray_instance, tmp_path: Path, capsys) -> None:
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    for k, kind in enumerate(("sphere", "icosphere", "sphere")):
        (scenes / f"s{k}.yaml").write_text(SCENE.format(kind=kind, g=0.2 + 0.3 * k))
    (scenes / "list.txt").write_text("s0.yaml\ns1.yaml\ns2.yaml\n")
    local, remote = tmp_path / "local", tmp_path / "ray"
    assert main(["render", str(scenes / "list.txt"), "--out", str(local), "--workers", "1"]) == 0
    assert main(["render", str(scenes / "s*.yaml"), "--out", str(remote), "--ray", "--workers", "2"]) == 0
    assert "3 scenes rendered, 0 already done" in capsys.readouterr().out
    _assert_same_files(local, remote, 3 * 8)  # the GIF and MP4 of each 2-frame turntable included
    assert main(["render", str(scenes / "s*.yaml"), "--out", str(remote), "--ray"]) == 0
    assert "0 scenes rendered, 3 already done" in capsys.readouterr().out


def test_pc2img_batch_on_ray_is_the_local_batch(ray_instance, tmp_path: Path) -> None:
    from tools.batch.pc2img import run_pc2img_batch
    from tools.pc2img.render import Pc2ImgJob

    weights = write_clouds_and_weights(tmp_path)
    template = Pc2ImgJob("", views=2, size=32, weights=str(weights))
    local = run_pc2img_batch(str(tmp_path / "c*.ply"), tmp_path / "local", template, InlineRunner(),
                             progress=False)
    remote = run_pc2img_batch(str(tmp_path / "c*.ply"), tmp_path / "ray", template, RayRunner(workers=2),
                              progress=False)
    assert local.written == remote.written == 2
    for name in ("c0", "c1"):
        images = sorted(p.name for p in (tmp_path / "local" / name).glob("*.png"))
        assert len(images) == 2 * 4 + 1  # image, splat, visibility, coarse per view, and the sheet
        for f in images:
            assert (tmp_path / "local" / name / f).read_bytes() == (tmp_path / "ray" / name / f).read_bytes()
