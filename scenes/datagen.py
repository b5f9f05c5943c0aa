"""The multi-view dataset engine: random samples rendered into one folder each, resumably, on all cores.

Layout of `out/`:

    dataset.json                 index: settings, conventions, one entry per finished sample
    samples/000042/              one folder per sample, created atomically (temp dir + rename)
        image_000.png …          RGB views
        mask_000.png …           white = object
        depth_000.npy …          float32 camera z, 0 = background
        normals_000.png …        world normals as (n + 1) / 2
        cameras.json             per view K, R, t (world→camera, OpenCV), width, height
        params.json              seed, per-view yaw/pitch/roll (degrees), shape/appearance codes, assets
        scene.yaml               the sample as a scene file (re-render with `neurender render`)
        mesh.obj (+ .mtl, .png)  ground truth in the cameras' world frame (heads: textured)
        mesh.ply                 shapes/scenes: ground truth with vertex colors (floor excluded)
    images/                      gan2d image-folder view: `000042_00.png` … (links to the RGB views)
        dataset.json             `{"labels": null, "poses": [[name, [yaw, pitch, roll]], …]}`

A sample folder either exists complete or not at all, so an interrupted run resumes by skipping
the folders already there. Sample i is drawn from a seed derived from (seed, i) only, so results
do not depend on the number of workers or on the order samples finish in.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from render3d.io import save_mesh, save_npy, save_png
from render3d.structures import Meshes
from scenes.build import build_scene
from scenes.errors import DatagenError
from scenes.fileio import save_scene
from scenes.outputs import cameras_json, write_json
from scenes.render import render_built
from scenes.samples import KINDS, Kind, make_sample

FORMAT = "neurender-multiview/1"


@dataclass(frozen=True)
class DatagenConfig:
    """What to generate.

    Attributes:
        kind: `heads`, `shapes` or `scenes` (see `scenes.samples.make_sample`).
        count: number of samples.
        views: views per sample.
        size: square image side in pixels.
        seed: dataset seed; sample i uses a seed derived from (seed, i).
        workers: processes rendering in parallel (each with one torch thread).
        supersample: anti-aliasing factor.

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


@dataclass(frozen=True)
class DatagenReport:
    """What a run did: samples rendered now, skipped as already done, wall time, throughput."""

    rendered: int
    skipped: int
    seconds: float

    @property
    def samples_per_second(self) -> float:
        return self.rendered / self.seconds if self.seconds > 0 else 0.0


def sample_seed(seed: int, index: int) -> int:
    """The seed of sample `index` of a dataset seeded `seed` (independent streams per sample)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] & 0x7FFFFFFF)


def sample_name(index: int) -> str:
    return f"{index:06d}"


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


def render_sample(cfg: DatagenConfig, index: int, out_dir: Path) -> None:
    """Render sample `index` into `out_dir/samples/<index>`, atomically (skips it if present)."""
    final = out_dir / "samples" / sample_name(index)
    if final.is_dir():
        return
    seed = sample_seed(cfg.seed, index)
    sample = make_sample(cfg.kind, seed, cfg.views, cfg.size, cfg.supersample)
    built = build_scene(sample.spec)
    result = render_built(built, sample.spec)
    tmp = out_dir / "samples" / f".tmp-{sample_name(index)}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for v in range(cfg.views):
        save_png(tmp / f"image_{v:03d}.png", result.rgb[v])
        save_png(tmp / f"mask_{v:03d}.png", result.mask[v])
        save_npy(tmp / f"depth_{v:03d}.npy", result.depth[v].float())
        save_png(tmp / f"normals_{v:03d}.png", (result.normals[v] + 1) / 2 * (result.depth[v] > 0)[..., None])
    write_json(tmp / "cameras.json", {"views": cameras_json(result.cameras)})
    mesh, mesh_name = _ground_truth(built, cfg.kind)
    save_mesh(tmp / mesh_name, mesh)
    write_json(tmp / "params.json", {
        "kind": cfg.kind, "index": index, "seed": seed, "mesh": mesh_name, "views": sample.poses,
        "shape_code": sample.shape_code, "appearance_code": sample.appearance_code, "assets": sample.assets})
    save_scene(sample.spec, tmp / "scene.yaml")
    os.replace(tmp, final)


def _init_worker() -> None:
    torch.set_num_threads(1)


def _work(job: tuple[DatagenConfig, int, str]) -> int:
    cfg, index, out = job
    render_sample(cfg, index, Path(out))
    return index


def _check_folder(cfg: DatagenConfig, out: Path) -> None:
    index = out / "dataset.json"
    if not index.is_file():
        return
    try:
        old = json.loads(index.read_text())
    except json.JSONDecodeError as e:
        raise DatagenError(f"{index}: unreadable dataset index ({e}); use another --out") from None
    settings = old.get("settings", {})
    for key in ("kind", "views", "size", "seed", "supersample"):
        if settings.get(key) != getattr(cfg, key):
            raise DatagenError(f"{out} holds a dataset with {key}={settings.get(key)!r}, not {getattr(cfg, key)!r}; "
                               f"resume with the same settings or use another --out")


def write_index(cfg: DatagenConfig, out: Path) -> dict:
    """Write `dataset.json` and the gan2d image folder for every finished sample; returns the index."""
    samples, poses = [], []
    images = out / "images"
    images.mkdir(exist_ok=True)
    for i in range(cfg.count):
        folder = out / "samples" / sample_name(i)
        if not folder.is_dir():
            continue
        params = json.loads((folder / "params.json").read_text())
        samples.append({"id": sample_name(i), "dir": f"samples/{sample_name(i)}", "mesh": params["mesh"],
                        "views": params["views"]})
        for v, pose in enumerate(params["views"]):
            name = f"{sample_name(i)}_{v:02d}.png"
            link = images / name
            if not link.exists():
                try:
                    os.link(folder / f"image_{v:03d}.png", link)
                except OSError:
                    shutil.copyfile(folder / f"image_{v:03d}.png", link)
            poses.append([name, [pose["yaw_deg"], pose["pitch_deg"], pose["roll_deg"]]])
    write_json(images / "dataset.json", {"labels": None, "poses": poses})
    index = {"format": FORMAT, "settings": asdict(cfg), "complete": len(samples) == cfg.count,
             "conventions": {"camera": "OpenCV: x right, y down, z forward; K in pixels; x_cam = R x_world + t",
                             "world": "right-handed, +Y up; the subject faces +Z",
                             "pose": "yaw = camera azimuth about +Y toward +X, pitch = elevation, roll = "
                                     "clockwise image rotation; degrees",
                             "mask": "white = object", "depth": "camera z, 0 = background"},
             "samples": samples}
    write_json(out / "dataset.json", index)
    return index


def generate(cfg: DatagenConfig, out_dir: str | os.PathLike, progress: bool = True) -> DatagenReport:
    """Render every missing sample of the dataset, then write the index and image folder.

    Args:
        cfg: what to generate.
        out_dir: the dataset folder (created; an existing one of the same settings is resumed).
        progress: show a progress bar.

    Returns:
        A `DatagenReport` with the throughput of this run.

    Raises:
        DatagenError: `out_dir` holds a dataset with other settings.

    Example:
        >>> cfg = DatagenConfig("shapes", count=2, views=2, size=32, workers=1)
        >>> report = generate(cfg, "/tmp/ds")  # doctest: +SKIP
    """
    from tqdm import tqdm

    out = Path(out_dir)
    _check_folder(cfg, out)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    for stale in (out / "samples").glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    todo = [i for i in range(cfg.count) if not (out / "samples" / sample_name(i)).is_dir()]
    write_json(out / "dataset.json", {"format": FORMAT, "settings": asdict(cfg), "complete": False, "samples": []})
    start = time.perf_counter()
    bar = tqdm(total=cfg.count, initial=cfg.count - len(todo), unit="sample", disable=not progress,
               desc=f"datagen {cfg.kind}")
    if cfg.workers == 1 or len(todo) <= 1:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for i in todo:
                render_sample(cfg, i, out)
                bar.update(1)
        finally:
            torch.set_num_threads(threads)
    else:
        # A fork server that has imported the renderer but never run torch ops: workers start in
        # milliseconds and do not inherit a started OpenMP pool (plain fork after torch ran can deadlock).
        if "forkserver" in mp.get_all_start_methods():
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["scenes.datagen"])
        else:
            ctx = mp.get_context("spawn")
        with ctx.Pool(min(cfg.workers, len(todo)), initializer=_init_worker) as pool:
            for _ in pool.imap_unordered(_work, [(cfg, i, str(out)) for i in todo]):
                bar.update(1)
    bar.close()
    seconds = time.perf_counter() - start
    write_index(cfg, out)
    return DatagenReport(rendered=len(todo), skipped=cfg.count - len(todo), seconds=seconds)
