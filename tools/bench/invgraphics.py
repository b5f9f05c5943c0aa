"""`neurender bench invgraphics`: the learned encoder against optimization only, in one run.

Three methods on the same inputs: `optimization` (`tools.reconstruct.fit` as `neurender reconstruct`
runs it), `learned` (the encoder's prediction alone) and `learned+fit` (the prediction as the fit's
start where its silhouette fits the input, else the fit's own silhouette start from the predicted camera,
then a short fit, `tools.invgraphics.initialize`; rows and summary count the silhouette starts). Times
include the prediction.

- `reconstruct` sets: the held-out shapes of `neurender bench reconstruct` (easy, hard), scored by
  its protocol (`tools.invgraphics.scoring.score_shape`: input IoU, ±90° novel-view IoU, chamfer);
- multi-view sets (`--data`: data-engine shapes/heads, GAN faces from `datagen --from-gan`): the
  held-out samples of each (the same split training leaves out), reconstructed from view 0 and scored
  at the other views against their masks (`score_views`), also split by the views' yaw offset from the
  input (within / beyond ±60°: issue 13's GAN-face target);
- `--neural-renderer`: the GAN as a renderer (`tools.invgraphics.neural_scores`), open loop — the
  requested camera goes straight in (a pose-conditioned generator's view label), no pose reader
  corrects it: faces-analyzer pose error of the generator's renders at requested yaws (per 10° bin,
  the analyzer's own floor beside it), the identity the renders keep (the encoder's codes read back
  vs the input's, beside the generator's own views of the true identity), and their agreement with
  the mesh rendering of the same prediction (silhouette IoU against the background-keyed GAN mask,
  PSNR inside it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import typer

from render3d.cameras import Cameras
from tools.bench.harness import Stopwatch, markdown_table, write_report
from tools.errors import ToolError
from tools.invgraphics.camera import orbit_extrinsics
from tools.invgraphics.data import MultiviewViews, SetSpec, as_float
from tools.invgraphics.initialize import choose_start, learned_fit_settings, learned_initialization
from tools.invgraphics.model import InverseGraphicsModel
from tools.invgraphics.predict import in_photo_frame, predict
from tools.invgraphics.scoring import score_shape, score_views
from tools.reconstruct.fit import FitSettings, fit
from tools.reconstruct.render import view_camera

METHODS = ("optimization", "learned", "learned+fit")
NOVEL_LIMIT = 60.0  # issue 13's GAN-face target: novel-view IoU within ±60° of the input view
Scorer = Callable[[torch.Tensor, torch.Tensor, Cameras], dict]


def reconstruct_three_ways(model: InverseGraphicsModel, image: torch.Tensor, mask: torch.Tensor, K: torch.Tensor,
                           baseline: FitSettings, learned_steps: int, score: Scorer) -> list[dict]:
    """Run the three methods on one photo; `score(verts, faces, recon_camera)` rates each result.

    Returns:
        one row per method: its scores, "method", "seconds" (wall) and "cpu_seconds"; learned+fit's also
        "start_iou" (the prediction's input-view IoU) and "start" ("learned" or "silhouette").
    """
    H, W = mask.shape
    rows = []
    with Stopwatch() as sw:
        res = fit(image, mask, K, baseline)
    rows.append({"method": "optimization", **score(res.verts, res.faces, res.camera()), "seconds": sw.wall_s,
                 "cpu_seconds": sw.cpu_s})
    with Stopwatch() as sw:
        pred, _ = predict(model, image, mask, K)
        mesh = in_photo_frame(pred)
    rows.append({"method": "learned", **score(mesh.verts, mesh.faces, view_camera(K, W, H, mesh.distance,
                                                                                 mesh.elevation)),
                 "seconds": sw.wall_s, "cpu_seconds": sw.cpu_s})
    with Stopwatch() as sw:
        init, start_iou = choose_start(learned_initialization(model, image, mask, K), mask, K)
        res = fit(image, mask, K, learned_fit_settings(baseline, model.config.level, learned_steps), init)
    rows.append({"method": "learned+fit", **score(res.verts, res.faces, res.camera()), "seconds": sw.wall_s,
                 "cpu_seconds": sw.cpu_s, "start_iou": start_iou,
                 "start": "learned" if init.offsets is not None else "silhouette"})
    return rows


def bench_reconstruct_sets(model: InverseGraphicsModel, sets: tuple[str, ...], size: int, baseline: FitSettings,
                           learned_steps: int) -> list[dict]:
    """The three methods on `neurender bench reconstruct`'s shapes, scored by its protocol."""
    from tools.bench.reconstruct import SETS
    from tools.reconstruct.synthetic import photo_camera, render_photo

    rows = []
    for set_name in sets:
        if set_name not in SETS:
            raise ToolError(f"unknown reconstruct set {set_name!r}; known: {', '.join(SETS)}")
        for shape in SETS[set_name]():
            cam = photo_camera(size, shape.azimuth, shape.elevation)
            rgb, alpha = render_photo(shape.mesh, cam)
            novel = [photo_camera(size, shape.azimuth + d, shape.elevation) for d in (90.0, -90.0)]

            def score(v, f, rcam, shape=shape, cam=cam, novel=novel):
                return score_shape(v, f, rcam, shape.mesh, cam, novel)

            for r in reconstruct_three_ways(model, rgb, (alpha > 0.5).float(), cam.K[0], baseline, learned_steps,
                                            score):
                rows.append({"set": f"reconstruct-{set_name}", "sample": shape.name, **r})
            typer.echo(_line(rows[-3:]), err=True)
    return rows


def bench_multiview(model: InverseGraphicsModel, root: Path, limit: int, baseline: FitSettings,
                    learned_steps: int) -> list[dict]:
    """The three methods on the held-out samples of one multi-view set, scored at its other views."""
    data = MultiviewViews([SetSpec(str(root))], "heldout", limit=limit)
    rows = []
    for i in range(len(data)):
        _, images, masks, params, K, _, _, _ = data[i]
        images, masks = as_float(images, masks)
        H, W = masks.shape[1:]
        cams = Cameras(K, *orbit_extrinsics(params), W, H)

        def score(v, f, rcam, cams=cams, masks=masks):
            return score_views(v, f, rcam, cams, masks)

        offsets = yaw_offsets(params[:, 0])
        for r in reconstruct_three_ways(model, images[0], (masks[0] > 0.5).float(), K[0], baseline, learned_steps,
                                        score):
            rows.append({"set": root.name, "sample": data.names[i], **r, "yaw_offset": offsets})
        typer.echo(_line(rows[-3:]), err=True)
    return rows


def yaw_offsets(yaw: torch.Tensor) -> list[float]:
    """`[V]` |yaw − yaw of view 0| in degrees, wrapped into 0…180 (view 0 is the input).

    Example:
        >>> yaw_offsets(torch.tensor([-170.0, 170.0, -110.0]))
        [0.0, 20.0, 60.0]
    """
    d = (yaw - yaw[0] + 180.0) % 360.0 - 180.0
    return [round(v, 6) for v in d.abs().tolist()]


def novel_by_offset(rows: list[dict], limit: float = NOVEL_LIMIT) -> dict[str, float]:
    """Mean IoU of the novel views (view 1…) of multi-view rows within and beyond `limit` degrees of yaw from
    the input view (keys present only where such views exist), with their counts."""
    views = [(iou, off) for r in rows for iou, off in zip(r["view_iou"][1:], r["yaw_offset"][1:], strict=True)]
    out: dict[str, float] = {}
    for key, vals in (("within", [i for i, off in views if off <= limit]),
                      ("beyond", [i for i, off in views if off > limit])):
        if vals:
            out[f"novel_iou_{key}_{limit:g}"] = float(np.mean(vals))
            out[f"novel_views_{key}_{limit:g}"] = len(vals)
    return out


def _line(rows: list[dict]) -> str:
    return f"{rows[0]['set']} {rows[0]['sample']}: " + "; ".join(
        f"{r['method']} in {r['input_iou']:.3f} novel {r['novel_iou']:.3f} {r['seconds']:.1f}s" for r in rows)


def summarize(rows: list[dict]) -> list[dict]:
    """Mean scores and times per (set, method); for learned+fit also how many started from the silhouette."""
    out = []
    for s in dict.fromkeys(r["set"] for r in rows):
        for m in METHODS:
            sel = [r for r in rows if r["set"] == s and r["method"] == m]
            if not sel:
                continue
            mean = {k: float(np.mean([r[k] for r in sel])) for k in ("input_iou", "novel_iou", "seconds",
                                                                     "cpu_seconds")}
            if all("chamfer" in r for r in sel):
                mean["chamfer"] = float(np.mean([r["chamfer"] for r in sel]))
            if all("yaw_offset" in r for r in sel):
                mean.update(novel_by_offset(sel))
            if all("start" in r for r in sel):
                mean["silhouette_starts"] = sum(r["start"] == "silhouette" for r in sel)
            out.append({"set": s, "method": m, "samples": len(sel), **mean})
    return out


def summary_markdown(summary: list[dict]) -> str:
    def near_far(r: dict) -> str:
        vals = [r.get(f"novel_iou_{k}_{NOVEL_LIMIT:g}") for k in ("within", "beyond")]
        return " / ".join("–" if v is None else f"{v:.3f}" for v in vals)

    header = ["set", "method", "samples", "input IoU", "novel IoU", f"novel ≤ / > {NOVEL_LIMIT:g}° yaw",
              "chamfer / diag", "seconds", "CPU s", "silhouette starts"]
    rows = [[r["set"], r["method"], str(r["samples"]), f"{r['input_iou']:.3f}", f"{r['novel_iou']:.3f}",
             near_far(r), f"{r['chamfer']:.4f}" if "chamfer" in r else "–", f"{r['seconds']:.2f}",
             f"{r['cpu_seconds']:.2f}", str(r["silhouette_starts"]) if "silhouette_starts" in r else "–"]
            for r in summary]
    return markdown_table(header, rows)


def register(bench_app: typer.Typer) -> None:
    """Add `bench invgraphics` to the bench command group."""

    @bench_app.command("invgraphics")
    def bench_invgraphics_cmd(
        weights: Path | None = typer.Option(None, "--weights", help="inverse-graphics weights [default: shipped]"),
        sets: str = typer.Option("easy,hard", "--set", help="reconstruct-bench sets (comma-separated; empty skips)"),
        data: list[Path] = typer.Option([], "--data", help="a multi-view set whose held-out samples are scored "
                                                           "(repeatable)"),
        samples: int = typer.Option(10, "--samples", help="held-out samples per --data set"),
        size: int = typer.Option(128, "--size", help="reconstruct-bench photo size"),
        steps: int = typer.Option(200, "--steps", help="optimization-only fit steps (the reconstruct default)"),
        learned_steps: int = typer.Option(50, "--learned-steps", help="fit steps after the learned start"),
        neural: bool = typer.Option(False, "--neural-renderer/--no-neural-renderer", help="score the GAN as a "
                                                                                         "renderer too"),
        generator: Path | None = typer.Option(None, "--generator", help="generator of --neural-renderer"),
        mapping: Path | None = typer.Option(None, "--mapping", help="attribute mapping of --neural-renderer"),
        out: Path = typer.Option(Path("runs/bench/invgraphics.json"), "--out", help="JSON results file"),
    ) -> None:
        """Learned inverse graphics vs optimization only: IoU (input, novel), chamfer, time; GAN renderer poses."""
        from tools.invgraphics.weights import load_model

        if not 16 <= size <= 1024 or not 1 <= steps <= 100000 or not 1 <= learned_steps <= 100000:
            raise ToolError("--size must be within 16..1024 and --steps, --learned-steps positive")
        for d in data:
            if not (d / "dataset.json").is_file():
                raise ToolError(f"--data {d} is not a multi-view dataset (no dataset.json); the shipped encoder's "
                                f"held-out sets are made by `neurender datagen --kind shapes --count 600 --views 4 "
                                f"--size 64 --seed 13 --out {d}` (heads: --kind heads --count 500)")
        model, _ = load_model(weights)
        baseline = FitSettings(steps=steps)
        rows = bench_reconstruct_sets(model, tuple(s.strip() for s in sets.split(",") if s.strip()), size, baseline,
                                      learned_steps)
        for d in data:
            rows += bench_multiview(model, d, samples, baseline, learned_steps)
        summary = summarize(rows)
        md = summary_markdown(summary) if summary else ""
        gan = {}
        if neural:
            from tools.invgraphics.neural_scores import neural_renderer_scores

            gan = neural_renderer_scores(model, generator, mapping)
            md += "\n" + gan["markdown"]
        write_report(out, rows, md, summary=summary, neural_renderer=gan,
                     settings={"steps": steps, "learned_steps": learned_steps, "size": size,
                               "weights": str(weights or "shipped"), "threads": torch.get_num_threads()})
        typer.echo(md)
        typer.echo(f"results: {out}, table: {out.with_suffix('.md')}")
