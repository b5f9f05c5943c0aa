"""The multi-view dataset engine: random samples rendered into one folder each, resumably, on all
cores or on a Ray cluster.

The output is a `neurender-multiview/1` folder (layout: `scenes/DATASET.md`; reader:
`scenes.multiview.MultiviewDataset`). The dataset is a `scenes.jobs` folder job: a sample folder
either exists complete or not at all (written under `samples/.tmp-…` and renamed), so an
interrupted run resumes by skipping the folders already there, whichever runner wrote them (this
process, local workers, Ray workers). Sample i is drawn from a seed derived from (seed, i) only and
rendered with one torch thread, so the files do not depend on the runner, the number of workers or
the order samples finish in.

A sample that raises (or whose worker dies) is retried; one that fails every attempt is reported
by index and seed and recorded in the index's `failed` list, the others are still rendered, and
the run then raises `DatagenError` naming it. A re-run retries it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from render3d.io import save_mesh
from render3d.structures import Meshes
from scenes.build import build_scene
from scenes.errors import DatagenError
from scenes.fileio import save_scene
from scenes.jobs.driver import JobReport, Runner, run_job
from scenes.jobs.folders import Failure, FolderJob, execute
from scenes.jobs.local import local_runner
from scenes.multiview import FORMAT, sample_name, write_index, write_views
from scenes.outputs import write_json
from scenes.render import render_built
from scenes.samples import DEFAULT_POSES, KINDS, Kind, PoseRanges, Range, make_sample


def _check_range(name: str, r: Range | None, limit: float) -> str | None:
    if r is None:
        return None
    if len(r) != 2 or not all(np.isfinite(r)) or not -limit <= r[0] <= r[1] <= limit:
        return f"{name} range must be (low, high) with -{limit:g} <= low <= high <= {limit:g} degrees, got {r}"
    return None


@dataclass(frozen=True)
class DatagenConfig:
    """What to generate.

    Attributes:
        kind: `heads`, `shapes` or `scenes` (see `scenes.samples.make_sample`).
        count: number of samples.
        views: views per sample.
        size: square image side in pixels.
        seed: dataset seed; sample i uses a seed derived from (seed, i).
        workers: processes rendering in parallel (each with one torch thread); does not change the files.
        supersample: anti-aliasing factor.
        yaw, pitch, roll: (low, high) degrees the view poses are drawn from uniformly; None keeps
            the kind's default (`scenes.samples.DEFAULT_POSES`: heads ±60° yaw, -20..25° pitch).

    Raises:
        DatagenError: a value out of range.
    """

    kind: Kind = "heads"
    count: int = 100
    views: int = 4
    size: int = 128
    seed: int = 0
    workers: int = 2
    supersample: int = 2
    yaw: Range | None = None
    pitch: Range | None = None
    roll: Range | None = None

    def __post_init__(self) -> None:
        checks = [(self.kind in KINDS, f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}"),
                  (1 <= self.count <= 10_000_000, f"count must be within 1..10000000, got {self.count}"),
                  (1 <= self.views <= 1000, f"views must be within 1..1000, got {self.views}"),
                  (8 <= self.size <= 4096, f"size must be within 8..4096 pixels, got {self.size}"),
                  (0 <= self.seed < 2**31, f"seed must be within 0..2^31-1, got {self.seed}"),
                  (1 <= self.workers <= 256, f"workers must be within 1..256, got {self.workers}"),
                  (1 <= self.supersample <= 4, f"supersample must be within 1..4, got {self.supersample}")]
        for ok, msg in checks:
            if not ok:
                raise DatagenError(msg)
        # Pitch stops short of the poles, where a camera looking at the subject has no defined up.
        for name, limit in (("yaw", 180.0), ("pitch", 85.0), ("roll", 180.0)):
            msg = _check_range(name, getattr(self, name), limit)
            if msg:
                raise DatagenError(msg)

    def pose_ranges(self) -> PoseRanges:
        """The ranges views are drawn from, defaults filled in."""
        d = DEFAULT_POSES[self.kind]
        return PoseRanges(*(tuple(map(float, getattr(self, k) or getattr(d, k))) for k in ("yaw", "pitch", "roll")))

    def settings(self) -> dict:
        """What the files depend on, as recorded in `dataset.json` (everything but `workers`)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("workers", "yaw", "pitch", "roll")}
        return {**out, **{k: list(v) for k, v in asdict(self.pose_ranges()).items()}}


def sample_seed(seed: int, index: int) -> int:
    """The seed of sample `index` of a dataset seeded `seed` (independent streams per sample)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] & 0x7FFFFFFF)


def _ground_truth(built, kind: str) -> tuple[Meshes, str]:
    """The in-mask objects joined into one mesh (textured for a lone textured mesh)."""
    meshes = [o.geometry for o in built.objects if o.in_mask and isinstance(o.geometry, Meshes)]
    if kind == "heads":
        return meshes[0], "mesh.obj"
    verts, faces, colors, offset = [], [], [], 0
    for m in meshes:
        v = m.verts_list()[0]
        if m.has_texture:
            tex, uv = m.textures_list()[0], m.verts_uvs_list()[0]
            # Per-vertex color from the texture at each vertex's UV (nearest texel; seams share UVs).
            col = torch.zeros(v.shape[0], 3)
            idx = m.faces_list()[0].reshape(-1)
            uvi = m.faces_uvs_list()[0].reshape(-1)
            h, w = tex.shape[:2]
            px = (uv[uvi, 0] * (w - 1)).round().long().clamp(0, w - 1)
            py = ((1 - uv[uvi, 1]) * (h - 1)).round().long().clamp(0, h - 1)
            col[idx] = tex[py, px, :3]
        else:
            col = m.vert_colors_list()[0][:, :3]
        verts.append(v)
        faces.append(m.faces_list()[0] + offset)
        colors.append(col)
        offset += v.shape[0]
    return Meshes([torch.cat(verts)], [torch.cat(faces)], vert_colors=[torch.cat(colors)]), "mesh.ply"


def _write_sample(cfg: DatagenConfig, index: int, seed: int, tmp: Path) -> None:
    sample = make_sample(cfg.kind, seed, cfg.views, cfg.size, cfg.supersample, cfg.pose_ranges())
    built = build_scene(sample.spec)
    result = render_built(built, sample.spec)
    tmp.mkdir(parents=True)
    write_views(tmp, result.rgb, result.cameras, result.mask, result.depth, result.normals)
    mesh, mesh_name = _ground_truth(built, cfg.kind)
    save_mesh(tmp / mesh_name, mesh)
    write_json(tmp / "params.json", {
        "kind": cfg.kind, "index": index, "seed": seed, "mesh": mesh_name, "views": sample.poses,
        "shape_code": sample.shape_code, "appearance_code": sample.appearance_code, "assets": sample.assets})
    save_scene(sample.spec, tmp / "scene.yaml")


class DatagenJob(FolderJob):
    """The dataset as a folder job: task i renders sample i into `out/samples/<id>`; `finish` writes
    the index (the finished samples and the failed ones) and the gan2d image folder."""

    preload = ("scenes.datagen",)

    def __init__(self, cfg: DatagenConfig, out: Path) -> None:
        self.cfg, self.out = cfg, Path(out)

    def __len__(self) -> int:
        return self.cfg.count

    def folder(self, i: int) -> Path:
        return self.out / "samples" / sample_name(i)

    def describe(self, i: int) -> str:
        return f"sample {sample_name(i)} (index {i}, seed {sample_seed(self.cfg.seed, i)})"

    def write(self, i: int, tmp: Path) -> None:
        _write_sample(self.cfg, i, sample_seed(self.cfg.seed, i), tmp)

    def finish(self, failed: list[Failure]) -> None:
        records = [{"id": sample_name(f.index), "index": f.index, "seed": sample_seed(self.cfg.seed, f.index),
                    "error": f.error} for f in failed]
        write_index(self.out, self.cfg.settings(), self.cfg.count, records)


def render_sample(cfg: DatagenConfig, index: int, out_dir: Path) -> bool:
    """Render sample `index` into `out_dir/samples/<index>`, atomically, here (skips it if present).

    Returns:
        True if it was written now, False if it was there.

    Raises:
        TaskError: the sample failed (message: index, seed, reason); nothing of it is left.
        JobError: the dataset folder cannot be written (disk full, permissions), or memory ran out.
    """
    return execute(DatagenJob(cfg, out_dir), index)


def _check_folder(cfg: DatagenConfig, out: Path) -> None:
    index = out / "dataset.json"
    if not index.is_file():
        return
    try:
        old = json.loads(index.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DatagenError(f"{index}: unreadable dataset index ({e}); use another --out") from None
    settings = old.get("settings", {}) if isinstance(old, dict) else {}
    for key, value in cfg.settings().items():
        if key != "count" and settings.get(key) != value:  # a larger count extends the dataset
            raise DatagenError(f"{out} holds a dataset with {key}={settings.get(key)!r}, not {value!r}; "
                               f"resume with the same settings or use another --out")


def generate(cfg: DatagenConfig, out_dir: str | os.PathLike, progress: bool = True, runner: Runner | None = None,
             retries: int = 1, chunk: int = 1) -> JobReport:
    """Render every missing sample of the dataset, then write the index and image folder.

    Args:
        cfg: what to generate.
        out_dir: the dataset folder (created; an existing one of the same settings is resumed).
        progress: show a progress bar (samples done / failed / retried).
        runner: where samples render (`scenes.jobs.ray_runner.RayRunner` for Ray); None: this
            machine with `cfg.workers` processes.
        retries: extra attempts of a sample that raised or whose worker died.
        chunk: samples per task sent to a worker.

    Returns:
        A `scenes.jobs.driver.JobReport` of this run (samples written now, skipped, retried, time).

    Raises:
        DatagenError: `out_dir` holds a dataset with other settings; samples failed (each named,
            all listed in `dataset.json` under `failed`).
        JobError: the folder cannot be written, or the first samples all failed.
        KeyboardInterrupt: after removing the unfinished samples' temp folders and writing the
            index of the finished ones.

    Example:
        >>> cfg = DatagenConfig("shapes", count=2, views=2, size=32, workers=1)
        >>> report = generate(cfg, "/tmp/ds")  # doctest: +SKIP
    """
    out = Path(out_dir)
    _check_folder(cfg, out)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    write_json(out / "dataset.json", {"format": FORMAT, "settings": cfg.settings(),
                                      "complete": False, "samples": []})
    job = DatagenJob(cfg, out)
    runner = runner or local_runner(cfg.workers)
    report = run_job(job, runner, retries=retries, chunk=chunk, progress=progress,
                     desc=f"datagen {cfg.kind}" + (" (ray)" if runner.name == "ray" else ""), unit="sample")
    if report.failed:
        raise DatagenError(f"{len(report.failed)} of {report.written + len(report.failed)} samples failed "
                           f"(listed in {out / 'dataset.json'}, retried by a re-run); first: {report.failed[0].error}")
    return report
