"""`neurender bench faces`: the faces job's targets, measured (`tools.faces.benchmark`).

Targets (issue: pose-controlled multi-view faces): median |measured − requested| pose ≤ 3° over yaw ±40°
and pitch ±15°, per 10° bin, beside the estimator's own error on ground-truth renders; identity drift
across the sweep ≤ 10% of the between-identity spread; Fréchet distances of generated vs data-engine
images against real-vs-real; 9 views of one identity at 64² in ≤ 1 s; and, asking no analyzer, how much
the images change over a requested turn beside renders turned the same way. With `--official-src` the training
step times of our StyleGAN2 and the official StyleGAN2-ADA code are measured side by side as well
(`tools.bench.gan_official`). Like `neurender faces`, it measures the embedded pose-conditioned generator
by default, with the `condition` method (`tools.faces.benchmark.bench_condition`), and a `--weights` by
its kind; `--method direction` measures the W-space bundle's direction and mixing methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def _fmt(x: Any, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Target vs measured, one entry per target."""
    out: dict[str, Any] = {}
    for method, r in result["control"].items():
        pose = r["pose_error"]
        # The target holds per 10° bin over the whole sweep: pooled medians hide unreachable end bins.
        out[f"pose_{method}"] = {"target_deg": 3.0, "yaw_median": pose["yaw_median_abs"],
                                 "pitch_median": pose["pitch_median_abs"], "worst_bin": pose["worst_bin_median_abs"],
                                 "met": pose["worst_bin_median_abs"] <= 3.0}
        if r["identity_drift"]:
            out[f"drift_{method}"] = {"target": 0.10, "drift": r["identity_drift"]["drift"],
                                      "met": r["identity_drift"]["drift"] <= 0.10}
    gt = result["ground_truth"]
    out["estimator_floor"] = {"yaw_median": gt["pose_error"]["yaw_median_abs"],
                              "pitch_median": gt["pose_error"]["pitch_median_abs"],
                              "drift_of_real_heads": gt["identity_drift"]["drift"]}
    out["quality"] = result["quality"]
    speed = result["speed"]
    out["speed"] = {"target_s": 1.0, "closed_loop_s": speed["closed_loop_seconds"],
                    "generate_s": speed["generate_seconds"], "met": speed["closed_loop_seconds"] <= 1.0}
    if result.get("turn"):
        out["turn"] = {k: result["turn"][k] for k in ("yaws", "generated", "rendered", "ratio")}
    return out


def markdown(result: dict[str, Any]) -> str:
    """The Markdown tables of a bench run."""
    from tools.bench.harness import markdown_table
    from tools.faces.benchmark import pose_bins_table

    rows = [[r["method"], f"{r['yaw_bin'][0]:+d}..{r['yaw_bin'][1]:+d}", str(r["n"]), _fmt(r["yaw_err"]),
             _fmt(r["pitch_err"]), _fmt(r["floor_yaw"]), _fmt(r["floor_pitch"])]
            for r in pose_bins_table(result["control"], result["ground_truth"])]
    text = "Pose error, median |measured − requested| (°), per requested-yaw bin; floor = the estimator on " \
           "ground-truth renders at the same poses.\n\n"
    text += markdown_table(["method", "yaw bin", "n", "yaw err", "pitch err", "floor yaw", "floor pitch"], rows)
    s = result["summary"]
    lines = []
    for key, v in s.items():
        if key.startswith(("pose_", "drift_")) or key == "speed":
            lines.append([key, ", ".join(f"{k}={_fmt(x, 3) if isinstance(x, float) else x}" for k, x in v.items())])
    q = s["quality"]
    lines.append(["Fréchet (random features)", f"generated {q['rfd_fake']:.4g} vs real-vs-real {q['rfd_real']:.4g}"])
    lines.append(["Fréchet (analyzer features)",
                  f"generated {q['analyzer_fd_fake']:.4g} vs real-vs-real {q['analyzer_fd_real']:.4g}"])
    lines.append(["face rate of generated images", f"{q['face_rate_fake']:.3f}"])
    lines.append(["background-keyed mask IoU on renders", f"{result['masks']['iou']:.3f}"])
    if s.get("turn"):
        t = s["turn"]
        lines.append([f"pixel change over the turn {t['yaws'][0]:+.1f}° → {t['yaws'][1]:+.1f}° (not the analyzer)",
                      f"generated {t['generated']:.4f} vs renders {t['rendered']:.4f} ({t['ratio']:.2f}×)"])
    f = s["estimator_floor"]
    lines.append(["estimator on ground truth", f"yaw {f['yaw_median']:.2f}°, pitch {f['pitch_median']:.2f}°, "
                                               f"real-head drift {100 * f['drift_of_real_heads']:.1f}%"])
    text += "\n" + markdown_table(["measure", "value"], lines)
    if result.get("training_speed"):
        from tools.bench.gan_official import markdown as speed_markdown

        text += "\n" + speed_markdown(result["training_speed"])
    return text


def register(bench_app: typer.Typer) -> None:
    """Add `faces` to the bench group."""

    @bench_app.command("faces")
    def bench_faces_cmd(
        weights: Path | None = typer.Option(None, "--weights", help="generator checkpoint [default: embedded]"),
        method: str = typer.Option("auto", "--method", help="auto: what `neurender faces` runs (the embedded "
                                   "pose-conditioned generator, or --weights by its kind); condition; direction: "
                                   "the W-space bundle's direction and mixing methods"),
        work: Path = typer.Option(Path("bench_faces_work"), "--work", help="folder for the rendered reference sets"),
        identities: int = typer.Option(32, help="identities per pose sweep (27 views each)"),
        real: int = typer.Option(250, help="heads per reference set (4 views each) for the Fréchet distances"),
        truth: int = typer.Option(16, help="ground-truth heads rendered at the sweep poses"),
        official_src: Path | None = typer.Option(None, "--official-src", help="a StyleGAN2-ADA source tree: also "
                                                                                "time its training steps beside ours"),
        threads: int = typer.Option(2, help="torch CPU threads"),
        json_out: Path = typer.Option(Path("bench_faces.json"), "--json", help="where to write the results"),
    ) -> None:
        """Measure pose accuracy, identity drift, Fréchet distances and speed of the faces job."""
        from tools.errors import ToolError

        if min(identities, real, truth) < 2:
            raise ToolError("--identities, --real and --truth must be at least 2")
        if method not in ("auto", "condition", "direction"):
            raise ToolError(f"--method must be auto, condition or direction, got {method!r}")
        from tools.bench.harness import set_threads, write_report
        from tools.faces.benchmark import control_scores, ground_truth_sweep, mask_scores, quality_scores, real_sets
        from tools.faces.bundle import load_models
        from tools.faces.readers import analyzer_reader

        set_threads(threads)
        say = lambda msg: typer.echo(msg, err=True)  # noqa: E731
        from tools.faces.bundle import ANALYZER, CONDITIONED, WEIGHTS_DIR
        from tools.faces.condition import is_pose_conditioned
        from tools.gan.networks import load_gan_network

        if weights is None and method != "direction":
            weights = WEIGHTS_DIR / CONDITIONED
        conditioned = weights is not None and is_pose_conditioned(G := load_gan_network(weights)[0])
        if conditioned != (method != "direction") and method != "auto":
            raise ToolError(f"--method {method} does not fit {weights}: it is "
                            f"{'a' if conditioned else 'not a'} pose-conditioned generator")
        if conditioned:
            from tools.faces.analyzer import load_analyzer
            from tools.faces.benchmark import bench_condition

            result = bench_condition(G.eval(), load_analyzer(WEIGHTS_DIR / ANALYZER)[0], work, identities, real, truth,
                                     say)
            result["summary"] = summarize(result)
            result["source"] = f"{weights} (pose-conditioned)"
            md = write_report(json_out, [result], markdown(result))
            typer.echo(md.read_text())
            typer.echo(f"results written to {json_out} and {md}")
            return
        models = load_models(weights)
        if models.analyzer is None or models.control is None:
            raise ToolError("bench faces needs the bundle's analyzer and a pose control for the generator")
        reader = analyzer_reader(models.analyzer)
        say("ground-truth sweep (estimator floor)")
        gt = ground_truth_sweep(models.analyzer, truth)
        say("pose control sweep")
        result: dict[str, Any] = {"ground_truth": {k: v for k, v in gt.items() if k not in ("images", "masks")},
                                  "masks": mask_scores(gt["images"], gt["masks"]),
                                  "control": control_scores(models.G, reader, models.control, identities)}
        say("reference sets and Fréchet distances")
        ref_a, ref_b = real_sets(work, real)
        result["quality"] = quality_scores(models.G, models.analyzer, ref_a, ref_b)
        from tools.faces.benchmark import speed_scores, turn_scores

        result["speed"] = speed_scores(models.G, reader, models.control)
        say("turn check against renders")
        result["turn"] = turn_scores(models.G, reader, models.control)
        if official_src is not None:
            from tools.bench.gan_official import compare

            say("training speed: ours vs official StyleGAN2-ADA")
            result["training_speed"] = compare(official_src)
        result["summary"] = summarize(result)
        result["source"] = models.source
        md = write_report(json_out, [result], markdown(result))
        typer.echo(md.read_text())
        typer.echo(f"results written to {json_out} and {md}")
