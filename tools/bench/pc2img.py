"""`neurender bench pc2img`: quality vs density beside classical baselines, visibility, per-scene, speed.

All on held-out data-engine samples (`tools.pc2img.trainset`, a seed never used in training), in one run:

- quality: for each density (fraction of the full GT-mesh sampling kept, no noise) and view, PSNR/SSIM of
  the learned pipeline vs the ground-truth render, beside naive z-buffered splatting (the same disks,
  nearest wins) and splatting + depth-aware pull-push hole filling (`render3d.points.pullpush`);
- visibility: accuracy of the learned visibility on covered pixels vs the ground-truth visibility of each
  pixel's nearest point, beside the "everything splatted is visible" answer of the naive splat;
- per-scene: held-out-view PSNR of `pc2img fit` (time budget per scene) vs the feed-forward model;
- speed: 256² inference (splat + all stages) on a 100k-point cloud, medians after warm-up.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import torch
import typer

from render3d.cameras import Cameras
from tools.bench.harness import markdown_table, set_threads, time_call, write_report
from tools.errors import ToolError
from tools.pc2img.dataset import degrade, view_targets
from tools.pc2img.evaluate import CLEAN, heldout_files, quality, summarize
from tools.pc2img.fit import FitConfig, fit_scene
from tools.pc2img.model import Pc2ImgModel
from tools.pc2img.pipeline import net_input, prepare_cloud, render_views, splat
from tools.pc2img.trainset import Sample, load_sample, write_split
from tools.pc2img.views import PhotoViews


def _photo_views(sample: Sample) -> PhotoViews:
    imgs, cams, bgs = [], [], []
    for v in range(sample.num_views):
        rgb, _, bg = view_targets(sample, v)
        imgs.append(rgb[None])
        cams.append(sample.cameras([v]))
        bgs.append(bg)
    return PhotoViews(imgs, cams, bgs)


def per_scene(model: Pc2ImgModel, files: list[Path], density: float, holdout: int, seconds: float,
              progress: bool = True) -> list[dict]:
    """Fit each sample's cloud (at `density`) on all but its last `holdout` views; score those views."""
    rows = []
    for f in files:
        sample = load_sample(f)
        pts, cols, normals, _ = degrade(sample, 0, np.random.default_rng(0), CLEAN, density=density)
        cloud = prepare_cloud(torch.from_numpy(pts), torch.from_numpy(cols), torch.from_numpy(normals),
                              model.config.splat, model.config.spacing_k)
        views = _photo_views(sample)
        held = list(range(sample.num_views - holdout, sample.num_views))
        _, _, report = fit_scene(model, cloud, views, FitConfig(seconds=seconds), held, progress)
        h = report["holdout"]
        rows.append({"kind": sample.kind, "seed": sample.seed, "density": density, "points": len(pts),
                     "fit_views": len(report["train_views"]), "holdout_views": len(held), "steps": report["steps"],
                     "seconds": report["seconds"], "feed_forward_psnr": h["feed_forward_mean"],
                     "fitted_psnr": h["fitted_mean"], "gain_db": h["gain_db"]})
    return rows


def speed(model: Pc2ImgModel, sample: Sample, points: int = 100_000, size: int = 256, threads: int = 0,
          repeats: int = 5) -> dict:
    """Median seconds of splat, stages and the whole 256² inference on a `points`-point cloud."""
    set_threads(threads)
    rng = np.random.default_rng(0)
    idx = rng.choice(len(sample.points), size=points, replace=len(sample.points) < points)
    jitter = rng.normal(0, 1e-3, (points, 3)).astype(np.float32)
    cloud = prepare_cloud(torch.from_numpy(sample.points[idx] + jitter),
                          torch.from_numpy(sample.colors[idx].astype(np.float32)),
                          torch.from_numpy(sample.normals[idx].astype(np.float32)),
                          model.config.splat, model.config.spacing_k)
    cam = sample.cameras([0])
    scale = size / cam.width
    K = cam.K.clone()
    K[:, :2] *= scale
    cam = Cameras(K, cam.R, cam.t, size, size)
    bg = torch.ones(3)
    with torch.no_grad():
        buffers = splat(cloud, cam, model.config.splat)
        x = net_input(buffers)
        t_splat = time_call(lambda: net_input(splat(cloud, cam, model.config.splat)), repeats, 1)
        t_nets = time_call(lambda: model(x), repeats, 1)
        t_total = time_call(lambda: render_views(model, cloud, cam, bg), repeats, 1)
    return {"points": points, "size": size, "threads": torch.get_num_threads(), "splat_s": t_splat.wall_s,
            "stages_s": t_nets.wall_s, "total_s": t_total.wall_s, "total_cpu_s": t_total.cpu_s,
            "load1": t_total.load1}


def tables(summary: list[dict], scenes: list[dict], fast: list[dict]) -> str:
    """Markdown tables of the three parts."""
    md = ["Quality vs density (mean over held-out views; PSNR dB / SSIM; gain = learned − best classical):", ""]
    md.append(markdown_table(
        ["density", "views", "naive", "pull-push", "coarse", "learned", "gain dB", "vis acc", "all-visible acc",
         "hidden px", "hidden found"],
        [[f"{s['density']:.0%}", str(s["views"]), f"{s['naive_psnr']:.2f} / {s['naive_ssim']:.3f}",
          f"{s['pullpush_psnr']:.2f} / {s['pullpush_ssim']:.3f}", f"{s['coarse_psnr']:.2f} / {s['coarse_ssim']:.3f}",
          f"{s['learned_psnr']:.2f} / {s['learned_ssim']:.3f}", f"{s['gain_db']:+.2f}", f"{s['vis_acc']:.3f}",
          f"{s['vis_all_visible']:.3f}", f"{s['vis_hidden_share']:.1%}", f"{s['vis_hidden_found']:.1%}"]
         for s in summary]))
    if scenes:
        md += ["", "Per-scene fit (held-out views):", ""]
        md.append(markdown_table(
            ["kind", "density", "points", "fit / held-out views", "steps", "seconds", "feed-forward", "fitted", "gain"],
            [[r["kind"], f"{r['density']:.0%}", str(r["points"]), f"{r['fit_views']} / {r['holdout_views']}",
              str(r["steps"]), f"{r['seconds']:.0f}", f"{r['feed_forward_psnr']:.2f}", f"{r['fitted_psnr']:.2f}",
              f"{r['gain_db']:+.2f}"] for r in scenes]))
    if fast:
        md += ["", "Speed (median wall seconds):", ""]
        md.append(markdown_table(
            ["points", "size", "threads", "splat", "stages", "total", "load1"],
            [[str(r["points"]), f"{r['size']}²", str(r["threads"]), f"{r['splat_s']:.3f}", f"{r['stages_s']:.3f}",
              f"{r['total_s']:.3f}", f"{r['load1']:.1f}"] for r in fast]))
    return "\n".join(md) + "\n"


def register(bench_app: typer.Typer) -> None:
    """Add `bench pc2img` to the bench command group."""

    @bench_app.command("pc2img")
    def bench_pc2img_cmd(
        data: Path = typer.Option(Path("runs/bench/pc2img-data"), "--data", help="held-out samples (generated when "
                                                                               "missing)"),
        weights: Path | None = typer.Option(None, "--weights", help="pc2img weights [default: shipped]"),
        per_kind: int = typer.Option(6, "--per-kind", help="held-out samples per data-engine kind"),
        views: int = typer.Option(4, "--views", help="views scored per sample"),
        densities: str = typer.Option("0.01,0.05,0.2,1", "--densities", help="fractions of the full cloud"),
        perscene: int = typer.Option(2, "--perscene", help="samples fitted per-scene (0 skips)"),
        fit_seconds: float = typer.Option(600.0, "--fit-seconds", help="per-scene time budget"),
        threads: str = typer.Option("1,2", "--threads", help="torch threads of the speed runs (empty skips)"),
        seed: int = typer.Option(1, "--seed", help="held-out dataset seed (training uses 0)"),
        out: Path = typer.Option(Path("runs/bench/pc2img.json"), "--out", help="JSON results file"),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
    ) -> None:
        """pc2img quality vs density (vs naive splat and pull-push), visibility, per-scene, speed."""
        from tools.pc2img.weights import load_weights

        try:
            dens = tuple(float(d) for d in densities.split(",") if d.strip())
            thread_list = [int(t) for t in threads.split(",") if t.strip()]
        except ValueError:
            raise ToolError("--densities and --threads must be comma-separated numbers") from None
        if not dens or not all(0 < d <= 1 for d in dens):
            raise ToolError(f"--densities must be fractions in (0, 1], got {densities!r}")
        if seed == 0:
            raise ToolError("--seed 0 is the training set; benchmark on held-out seeds")
        model, extra = load_weights(weights)
        files = heldout_files(data / "test", per_kind, max(views, 8), seed, progress)
        rows = quality(model, files, views, dens, seed, progress)
        summary = summarize(rows)
        scenes = []
        if perscene > 0:
            ps_files = write_split(data / "perscene", "scenes", perscene, 24, 128, seed + 1, progress)
            scenes = per_scene(model, ps_files, 0.2, 4, fit_seconds, progress)
        fast = [speed(model, load_sample(files[-1]), threads=t) for t in thread_list]
        md = tables(summary, scenes, fast)
        write_report(out, rows, md, summary=summary, per_scene=scenes, speed=fast, weights=str(weights or "shipped"),
                     weights_info=extra, densities=list(dens), clean=dataclasses.asdict(CLEAN))
        typer.echo(md)
        typer.echo(f"results: {out}, table: {out.with_suffix('.md')}")
        if any(math.isnan(s["learned_psnr"]) for s in summary):
            raise ToolError("a learned score is NaN")
