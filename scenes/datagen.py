"""The multi-view dataset engine: random samples rendered into one folder each, resumably, on all cores.

The output is a `neurender-multiview/1` folder (layout: `scenes/DATASET.md`; reader:
`scenes.multiview.MultiviewDataset`). A sample folder either exists complete or not at all (it is
written under `samples/.tmp-…` and renamed), so an interrupted run resumes by skipping the folders
already there; temp folders left by a killed run are removed at the next start, and those of an
interrupted one (Ctrl-C) on the way out. Sample i is drawn from a seed derived from (seed, i) only,
so the files do not depend on the number of workers or on the order samples finish in.

A sample that raises is reported by index and seed and recorded in the index's `failed` list; the
others are still rendered, and the run then raises `DatagenError` naming it. A re-run retries it.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from render3d.io import save_mesh
from render3d.structures import Meshes
from scenes.build import build_scene
from scenes.errors import DatagenError
from scenes.fileio import save_scene
from scenes.multiview import FORMAT, sample_name, write_index, write_views
from scenes.outputs import write_json
from scenes.render import render_built
from scenes.samples import DEFAULT_POSES, KINDS, Kind, PoseRanges, Range, make_sample

# A run whose first attempts all fail has a systematic problem (not one unlucky seed): stop there.
ABORT_AFTER_FAILURES = 10


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


@dataclass(frozen=True)
class DatagenReport:
    """What a run did: samples rendered now, skipped as already done, wall time, throughput."""

    rendered: int
    skipped: int
    seconds: float

    @property
    def samples_per_second(self) -> float:
        return self.rendered / self.seconds if self.seconds > 0 else 0.0


class SampleError(DatagenError):
    """One sample could not be generated; the message names its index and seed."""


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


def render_sample(cfg: DatagenConfig, index: int, out_dir: Path) -> None:
    """Render sample `index` into `out_dir/samples/<index>`, atomically (skips it if present).

    Raises:
        SampleError: the sample failed (message: index, seed, reason); nothing of it is left.
        DatagenError: the dataset folder cannot be written (disk full, permissions), or memory ran out.
    """
    final = out_dir / "samples" / sample_name(index)
    if final.is_dir():
        return
    seed = sample_seed(cfg.seed, index)
    tmp = out_dir / "samples" / f".tmp-{sample_name(index)}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    where = f"sample {sample_name(index)} (index {index}, seed {seed})"
    try:
        _write_sample(cfg, index, seed, tmp)
        os.replace(tmp, final)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError | MemoryError):
            raise DatagenError(f"{where}: {type(e).__name__}: {e}") from e
        if isinstance(e, Exception):
            raise SampleError(f"{where}: {e}") from e
        raise


def _init_worker() -> None:
    # Ctrl-C reaches every process of the terminal's group; only the parent handles it (it stops the
    # pool and removes the workers' temp folders), so a worker never dies half-way through a write.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)


def _work(job: tuple[DatagenConfig, int, str]) -> tuple[int, str | None]:
    cfg, index, out = job
    try:
        render_sample(cfg, index, Path(out))
    except SampleError as e:
        return index, str(e)
    return index, None


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


def _sweep_temp(out: Path) -> None:
    for stale in (out / "samples").glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _run(cfg: DatagenConfig, out: Path, todo: list[int]) -> Iterator[tuple[int, str | None]]:
    """Render `todo`, yielding (index, error or None) as samples finish."""
    if cfg.workers == 1 or len(todo) <= 1:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for i in todo:
                try:
                    render_sample(cfg, i, out)
                    yield i, None
                except SampleError as e:
                    yield i, str(e)
        finally:
            torch.set_num_threads(threads)
        return
    # A fork server that has imported the renderer but never run torch ops: workers start in
    # milliseconds and do not inherit a started OpenMP pool (plain fork after torch ran can deadlock).
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["scenes.datagen"])
    else:
        ctx = mp.get_context("spawn")
    with ctx.Pool(min(cfg.workers, len(todo)), initializer=_init_worker) as pool:
        yield from pool.imap_unordered(_work, [(cfg, i, str(out)) for i in todo])


def generate(cfg: DatagenConfig, out_dir: str | os.PathLike, progress: bool = True) -> DatagenReport:
    """Render every missing sample of the dataset, then write the index and image folder.

    Args:
        cfg: what to generate.
        out_dir: the dataset folder (created; an existing one of the same settings is resumed).
        progress: show a progress bar.

    Returns:
        A `DatagenReport` with the throughput of this run.

    Raises:
        DatagenError: `out_dir` holds a dataset with other settings; samples failed (each named,
            all listed in `dataset.json` under `failed`); the folder cannot be written.
        KeyboardInterrupt: after removing the unfinished samples' temp folders and writing the
            index of the finished ones.

    Example:
        >>> cfg = DatagenConfig("shapes", count=2, views=2, size=32, workers=1)
        >>> report = generate(cfg, "/tmp/ds")  # doctest: +SKIP
    """
    from tqdm import tqdm

    out = Path(out_dir)
    _check_folder(cfg, out)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    _sweep_temp(out)  # left by a killed run: never a sample, never resumed from
    todo = [i for i in range(cfg.count) if not (out / "samples" / sample_name(i)).is_dir()]
    write_json(out / "dataset.json", {"format": FORMAT, "settings": cfg.settings(),
                                      "complete": False, "samples": []})
    start = time.perf_counter()
    bar = tqdm(total=cfg.count, initial=cfg.count - len(todo), unit="sample", disable=not progress,
               desc=f"datagen {cfg.kind}")
    failed: list[dict] = []
    done = 0
    runner = _run(cfg, out, todo)
    try:
        for i, error in runner:
            bar.update(1)
            if error is None:
                done += 1
                continue
            failed.append({"id": sample_name(i), "index": i, "seed": sample_seed(cfg.seed, i), "error": error})
            bar.write(f"datagen: {error}")
            if done == 0 and len(failed) >= ABORT_AFTER_FAILURES:
                raise DatagenError(f"the first {len(failed)} samples all failed; stopping. First: {failed[0]['error']}")
    finally:
        runner.close()  # stops and joins the pool, if any
        bar.close()
        _sweep_temp(out)  # no worker is left: whatever is still a temp folder will never finish
        write_index(out, cfg.settings(), cfg.count, sorted(failed, key=lambda f: f["index"]))
    if failed:
        raise DatagenError(f"{len(failed)} of {len(todo)} samples failed (listed in {out / 'dataset.json'}, "
                           f"retried by a re-run); first: {failed[0]['error']}")
    return DatagenReport(rendered=len(todo), skipped=cfg.count - len(todo), seconds=time.perf_counter() - start)
