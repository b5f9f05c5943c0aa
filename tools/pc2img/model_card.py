"""The model card written beside exported pc2img weights: data, configuration, time, machine, held-out scores."""

from __future__ import annotations

import json
from pathlib import Path

from gan2d.train.reporting import training_seconds
from tools.bench.harness import machine, machine_line


def model_card(run: dict, info: dict, summary: list[dict], run_dir: Path) -> str:
    """Markdown card of weights exported from `run_dir`.

    Args:
        run: the run's `config.json` (`Pc2ImgRun.to_dict()`).
        info: export facts: `snapshot`, `kimg`, `step`, `heldout` (seed, samples per kind, views).
        summary: `tools.pc2img.evaluate.summarize` rows of the held-out evaluation.
        run_dir: the training run (its `stats.jsonl` gives the training time).
    """
    ts, loop, model, loss = run["trainset"], run["train"], run["model"], run["loss"]
    seconds = training_seconds(run_dir / "stats.jsonl")
    held = info["heldout"]
    counts = ", ".join(f"{n} {k}" for k, n in ts["counts"].items())
    counts_arg = ",".join(f"{k}={n}" for k, n in ts["counts"].items())
    rows = [f"| {s['density']:.0%} | {s['views']} | {s['naive_psnr']:.2f} / {s['naive_ssim']:.3f} | "
            f"{s['pullpush_psnr']:.2f} / {s['pullpush_ssim']:.3f} | {s['coarse_psnr']:.2f} / {s['coarse_ssim']:.3f} | "
            f"{s['learned_psnr']:.2f} / {s['learned_ssim']:.3f} | {s['gain_db']:+.2f} | {s['vis_acc']:.3f} | "
            f"{s['vis_all_visible']:.3f} | {s['vis_hidden_share']:.1%} | {s['vis_hidden_found']:.1%} |"
            for s in summary]
    time_line = f"{seconds / 60:.1f} min of training (wall clock, data generation not included)" if seconds else \
        "training time unknown"
    return "\n".join([
        "# pc2img default weights (`pc2img.safetensors`)",
        "",
        "Point cloud + camera → photo in three stages over a multi-channel z-buffered splat (depth, colors, "
        "normals, density, K nearest depths): learned visibility, a coarse U-Net that keeps the splat colors "
        "it calls visible and paints the rest, and a refiner (residual over the coarse image) trained with a "
        "multi-scale PatchGAN hinge loss, feature matching and L1. Trained by `neurender train pc2img` on the "
        "project's data engine only: no outside data or weights.",
        "",
        "## Data",
        "",
        f"- {counts} (data-engine samples, seed {ts['seed']}), {ts['views']} ground-truth views each at "
        f"{ts['size']}²; each cloud is sampled from the ground-truth meshes (floor included), lit Lambert colors, "
        "every point kept (back sides and occluded parts included)",
        f"- each training item: one view, a random {run['degradation']['min_density']:.0%}–"
        f"{run['degradation']['max_density']:.0%} subset (log-uniform), position noise up to "
        f"{run['degradation']['position_noise']} pixel footprints, color noise up to "
        f"{run['degradation']['color_noise']}, normals dropped with p = {run['degradation']['drop_normals']}; "
        f"{'whole views' if run['crop'] is None else str(run['crop']) + '² crops of the whole-view splat'}",
        "",
        "## Configuration",
        "",
        f"- model: {json.dumps(model)}",
        f"- discriminator: {json.dumps(run['D'])}",
        f"- losses: {json.dumps(loss)}" + ("" if run["vgg"] is None else f"; VGG file {run['vgg']}"),
        f"- loop: {loop['total_kimg']} kimg planned, batch {loop['batch_size']}, Adam lr G {loop['lr_g']} / "
        f"D {loop['lr_d']}, betas G {loop['betas_g']} / D {loop['betas_d']}, EMA half-life {loop['ema_kimg']} kimg, "
        f"seed {loop['seed']}, {loop['num_workers']} data workers",
        f"- exported: EMA generator of `{info['snapshot']}` ({info['kimg']:g} kimg, {info['step']} steps), "
        f"after {time_line}",
        f"- reproduce: `neurender train pc2img --out runs/pc2img --counts {counts_arg} --kimg {info['kimg']:g} "
        f"--batch {loop['batch_size']} --crop {run['crop'] or 0} --export tools/pc2img/weights/pc2img.safetensors`",
        "",
        "## Held-out scores (`tools.pc2img.evaluate`)",
        "",
        f"{held['per_kind']} samples per kind (shapes, heads, scenes) of data-engine seed {held['seed']} "
        f"(never trained on), first {held['views']} views each, 128², clean clouds at each density; PSNR dB / SSIM "
        "against the ground-truth render; gain = learned − best classical; visibility accuracy on covered pixels "
        "vs the ground-truth visibility of each pixel's nearest point (all-visible = the naive splat's answer; "
        "hidden px = covered pixels whose nearest point is hidden, hidden found = the share of them it calls hidden).",
        "",
        "| density | views | naive splat | pull-push | coarse | learned | gain dB | vis acc | all-visible acc | "
        "hidden px | hidden found |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "More held-out samples, speed and the per-scene fit: BENCHMARKS.md, `neurender bench pc2img`.",
        "",
        "## Machine",
        "",
        machine_line(machine()),
        "",
    ])
