"""The model card written beside exported inverse-graphics weights: data, configuration, time, machine, scores."""

from __future__ import annotations

import json
from pathlib import Path

from gan2d.train.reporting import training_seconds
from tools.bench.harness import machine, machine_line


def model_card(info: dict, run_dir: Path) -> str:
    """Markdown model card of weights exported from `run_dir` with the export `info` (run, scores)."""
    run, scores = info["train_run"], info["scores"]
    loop, model = run["loop"], run["model"]
    seconds = training_seconds(run_dir / "stats.jsonl")
    data_lines = []
    for s in run["sets"]:
        settings = _settings(Path(s["root"]))
        data_lines.append(f"- `{Path(s['root']).name}`: {settings}; listed ×{s.get('repeat', 1)}, last "
                          f"{100 * s['holdout']:.0f}% held out")
    rows = [f"| {name} | {r['samples']} | {r['input_iou']:.3f} | {r['novel_iou']:.3f} | "
            f"{'–' if r.get('yaw_error') is None else format(r['yaw_error'], '.1f') + '°'} | "
            f"{r['predict_seconds'] * 1000:.0f} ms |" for name, r in scores.items() if name != "heldout"]
    net = model["net"]
    return "\n".join([
        "# Inverse-graphics encoder (`invgraphics.safetensors`)",
        "",
        "Predicts from one image (RGB + mask, 64²) a textured mesh on an icosphere template, its camera "
        "(yaw, pitch, roll, distance) and 2nd-order SH lighting. Trained by `neurender train inverse-graphics` "
        "through the project's differentiable renderer (contour silhouettes, textured SH shading) on the data "
        "engine's multi-view sets: no outside data or weights.",
        "",
        "## Data",
        "",
        *data_lines,
        "",
        "## Configuration",
        "",
        f"- template: icosphere level {model['level']} ({net['num_verts']} vertices), "
        f"{'radial (log-radius)' if net['offset_channels'] == 1 else 'free'} offsets, "
        f"{'symmetric' if model['symmetric'] else 'not symmetric'}; texture {net['texture_size'][0]}×"
        f"{net['texture_size'][1]} equirectangular",
        f"- network: {json.dumps(net)}",
        f"- losses: {json.dumps(run['task']['weights'])}; render: {json.dumps(run['task']['render'])}; "
        f"other views per sample: {run['task']['other_views']}; zoom {run['task']['zoom']}, flip {run['task']['flip']}",
        f"- loop: {info.get('kimg', loop['total_kimg']):g} kimg, batch {loop['batch_size']}, Adam lr {loop['lr_g']} "
        f"betas "
        f"{loop['betas_g']}, EMA half-life {loop['ema_kimg']} kimg, grad clip {loop['grad_clip']}, seed {loop['seed']}",
        f"- exported from `{info['snapshot']}`" + (f" after {seconds / 3600:.2f} h of training (wall clock)"
                                                  if seconds else ""),
        "",
        "## Held-out scores (`tools.invgraphics.evaluate`)",
        "",
        "Each held-out sample is predicted from its view 0; IoU of the hard-rasterized prediction at view 0 "
        "and at its other views (novel, up to ±180° for shapes, ±60° for heads) against their masks; "
        "median yaw error for the sets with a facing direction.",
        "",
        "| set | samples | input IoU | novel IoU | yaw error | prediction |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "Learned + fit against optimization only: BENCHMARKS.md, `neurender bench invgraphics`.",
        "",
        "## Reproduce",
        "",
        "```",
        *reproduce_commands(run, "tools/invgraphics/weights/invgraphics.safetensors", info.get("kimg")),
        "```",
        "",
        "## Machine",
        "",
        machine_line(machine()),
        "",
    ])


def reproduce_commands(run: dict, export: str, kimg: float | None = None) -> list[str]:
    """The `neurender datagen` and `neurender train inverse-graphics` lines that rebuild a run's data and
    weights, from each set's `dataset.json` and the recorded run (trained for `kimg`, default its length)."""
    lines, data = [], []
    for s in run["sets"]:
        root = Path(s["root"])
        try:
            st = json.loads((root / "dataset.json").read_text())["settings"]
        except (OSError, ValueError, KeyError):
            lines.append(f"# {root.name}: settings not readable")
            continue
        what = f"--from-gan --identities {st['identities']}" + "".join(
            f" --{axis}={st[axis][0]:g}:{st[axis][1]:g}" for axis in ("yaw", "pitch") if axis in st) \
            if "identities" in st else f"--kind {st['kind']} --count {st['count']}"
        lines.append(f"neurender datagen {what} --views {st['views']} --size {st['size']} --seed {st['seed']} "
                     f"--out data/{root.name}")
        data.append(f"--data data/{root.name}")
    repeats = [int(s.get("repeat", 1)) for s in run["sets"]]
    if any(r != 1 for r in repeats):
        data += [f"--repeat {r}" for r in repeats]
    loop, task, model = run["loop"], run["task"], run["model"]
    lines.append(f"neurender train inverse-graphics {' '.join(data)} --kimg {kimg or loop['total_kimg']:g} "
                 f"--batch {loop['batch_size']} --lr {loop['lr_g']:g} --other-views {task['other_views']} "
                 f"--level {model['level']}" + (" --symmetric" if model["symmetric"] else "")
                 + (" --free" if model["net"]["offset_channels"] == 3 else "") + f" --seed {loop['seed']}"
                 + (" --init WEIGHTS" if run.get("init") else "")
                 + f" --out runs/invgraphics --export {export}")
    if run.get("init"):
        lines.append(f"# WEIGHTS: the encoder the run started from ({run['init']}; its own card gives its lines)")
    return lines


def _settings(root: Path) -> str:
    try:
        s = json.loads((root / "dataset.json").read_text())["settings"]
    except (OSError, ValueError, KeyError):
        return "settings not readable"
    keys = ("kind", "count", "views", "size", "seed", "yaw", "pitch")
    return ", ".join(f"{k} {s[k]}" for k in keys if k in s)
