"""Copy a finished `train faces` run into a weights folder, with a model card saying how it was made.

The card records the data (head sets and their settings), every model's config, the generator's kimg and
training time (summed over resumed segments of `gan/stats.jsonl`), the machine, and the scores: the
analyzer's held-out errors, the pose control's fit and layer discovery, the inverter's held-out errors, and
the bench figures when a `bench faces` JSON is given.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from gan2d.checkpoint import load_checkpoint, save_checkpoint
from gan2d.train.reporting import training_seconds
from tools.bench.harness import machine, machine_line
from tools.faces.bundle import ANALYZER, CONTROL, GENERATOR, INVERTER


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _fmt(x: Any) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def model_card(run: Path, gen_extra: dict[str, Any], bench: dict[str, Any] | None) -> str:
    """The MODEL_CARD.md text for the run's models."""
    gan = _json(run / "gan" / "config.json")
    analyzer_extra = load_checkpoint(run / "analyzer" / ANALYZER)[3]
    inverter_extra = load_checkpoint(run / "inverter" / INVERTER)[3] if (run / "inverter" / INVERTER).is_file() else {}
    control = _json(run / "control" / CONTROL)
    hours = (training_seconds(run / "gan" / "stats.jsonl") or 0.0) / 3600
    sets = {name: _json(run / name / "labels.json").get("settings") for name in
            ("heads_gan", "heads_gan_val", "heads_pose", "heads_pose_val")}
    floor = analyzer_extra["scores"]["noise_floor"]
    fit = control.get("report", {}).get("fit", {})
    layers = control.get("report", {}).get("layers", {})
    lines = [
        "# Embedded faces models", "",
        "Trained by `neurender train faces` (tools/faces/train.py) from the project's own procedural heads "
        "(scenes.assets.HeadParams rendered by the data engine); no outside data or weights.", "",
        "## Data", "",
        *[f"- `{k}`: {v['identities']} heads × {v['views']} views at {v['size']}², yaw {v['yaw_range']}, pitch "
          f"{v['pitch_range']}, seed {v['seed']}" for k, v in sets.items() if v], "",
        "## Generator (`generator.safetensors`)", "",
        f"- StyleGAN2 (official layout): {json.dumps(gan.get('G'))}",
        f"- discriminator: {json.dumps(gan.get('D'))}",
        f"- loss: {json.dumps(gan.get('loss'))}",
        f"- loop: {json.dumps(gan.get('train'))}",
        f"- trained {gen_extra.get('nimg', 0) / 1000:g} kimg ({gen_extra.get('step')} steps) in {hours:.1f} h wall "
        "time on the machine below, shared with other jobs (niced).", "",
        "## Head analyzer (`analyzer.safetensors`)", "",
        f"- config: {json.dumps(analyzer_extra.get('config'))}; negatives: {analyzer_extra.get('negatives')}",
        f"- held-out (`heads_pose_val`) pose error inside yaw ±40°, pitch ±15°: yaw {floor['yaw_median_abs']:.2f}°, "
        f"pitch {floor['pitch_median_abs']:.2f}° median |error| — the noise floor of every pose number",
        f"- face detection accuracy: {json.dumps(analyzer_extra['scores']['face_accuracy'])}; identity-code R² "
        f"{analyzer_extra['scores']['identity_r2_mean']:.3f}", "",
        "## Pose control (`control.json`)", "",
        *[f"- {a}: R² {fit[a]['r2']:.3f} of the linear fit, {100 * fit[a]['identity_share']:.1f}% of the raw "
          "direction lay in the identity subspace (projected out)" for a in ("yaw", "pitch") if a in fit],
        f"- camera layers (style swapping): {layers.get('camera_layers')}; `direction` edits "
        f"{control.get('report', {}).get('edit_layers_chosen')} layers {control.get('edit_layers')}",
        *[f"- calibrated range {m}: " + ", ".join(f"{a} {c['degrees'][0]:+.1f}..{c['degrees'][-1]:+.1f}°"
                                                    for a, c in cal.items())
          for m, cal in control.get("calibrations", {}).items()],
        f"- between-identity descriptor spread: {_fmt(control.get('report', {}).get('identity_spread'))}", "",
    ]
    if inverter_extra:
        lines += ["## Inverter (`inverter.safetensors`)", "", f"- config: {json.dumps(inverter_extra.get('config'))}",
                  f"- held-out: {json.dumps(inverter_extra.get('scores'))}", ""]
    if bench:
        lines += ["## Scores (`neurender bench faces`)", "", "```", json.dumps(bench.get("summary", bench), indent=2),
                  "```", ""]
    lines += ["## Machine", "", machine_line(machine()), ""]
    return "\n".join(lines)


def export_weights(run: Path, dest: Path, bench_json: Path | None = None) -> Path:
    """Copy generator (G_ema of the newest snapshot), analyzer, control and inverter into `dest`, with the card."""
    from tools.faces.train import latest_generator

    gen_path, gen_extra = latest_generator(run)
    dest.mkdir(parents=True, exist_ok=True)
    kind, config, state, _ = load_checkpoint(gen_path)
    save_checkpoint(dest / GENERATOR, kind, config, state, {**gen_extra, "trained_by": "neurender train faces"})
    shutil.copyfile(run / "analyzer" / ANALYZER, dest / ANALYZER)
    shutil.copyfile(run / "control" / CONTROL, dest / CONTROL)
    if (run / "inverter" / INVERTER).is_file():
        shutil.copyfile(run / "inverter" / INVERTER, dest / INVERTER)
    bench = json.loads(bench_json.read_text()) if bench_json is not None else None
    (dest / "MODEL_CARD.md").write_text(model_card(run, gen_extra, bench))
    return dest
