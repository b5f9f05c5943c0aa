"""`neurender bench reconstruct`: single-image reconstruction quality and speed on procedural shapes.

Three sets: "easy" (`tools.reconstruct.synthetic.shapes`, 11 smooth genus-0 shapes), "hard"
(`tools.reconstruct.synthetic_hard.hard_shapes`: thin parts, concavities, genus 1, assemblies,
a bunny-like shape, camera elevations 0°–50°) and "check"
(`tools.reconstruct.synthetic_check.check_shapes`: held-out shapes of the hard set's kinds, for
telling a general prior from one fitted to the hard set). Each ground-truth shape is photographed from a known
camera; `fit` reconstructs it from that photo and its alpha mask, knowing only the field of view.
The reconstruction is mapped into the ground truth's frame through the two input cameras (a
single view fixes everything but the depth scale, taken from the centroid depths), refined by a
similarity ICP, then scored: input-view IoU, novel-view IoU at ±90° azimuth (mean of both),
and the symmetric mean point-to-surface-sample distance (chamfer, not squared) divided by the
ground truth's bounding-box diagonal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import typer
from scipy.spatial import cKDTree

from render3d.geometry import sample_surface
from render3d.geometry.align import similarity_icp
from render3d.structures import Meshes
from tools.bench.harness import Stopwatch, write_report
from tools.errors import ToolError
from tools.reconstruct.fit import FitSettings, fit
from tools.reconstruct.render import hard_mask
from tools.reconstruct.settings import Prior, Symmetry
from tools.reconstruct.synthetic import SyntheticShape, photo_camera, render_photo, shapes
from tools.reconstruct.synthetic_check import check_shapes
from tools.reconstruct.synthetic_hard import hard_shapes

SETS = {"easy": shapes, "hard": hard_shapes, "check": check_shapes}


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a * b).sum() / (a + b - a * b).sum().clamp(min=1))


def evaluate(shape: SyntheticShape, size: int, settings: FitSettings, samples: int = 4000) -> dict:
    """Photograph one shape, reconstruct it, align and score it.

    Returns:
        {"shape", "input_iou", "novel_iou", "novel_iou_plus90", "novel_iou_minus90", "chamfer", "seconds",
        "cpu_seconds", "contacts"}: wall and process CPU time of the fit (on a shared machine the CPU time is what
        the fit itself cost); "contacts" the feet and elevation the contact prior used, or None.
    """
    cam = photo_camera(size, shape.azimuth, shape.elevation)
    rgb, alpha = render_photo(shape.mesh, cam)
    mask = (alpha > 0.5).float()
    with Stopwatch() as sw:
        res = fit(rgb, mask, cam.K[0], settings)
    seconds, cpu_seconds = sw.wall_s, sw.cpu_s
    rcam = res.camera()
    # Recon world → recon camera → (depth scale) → GT camera → GT world: keeps the input view exact.
    gt_v = shape.mesh.verts_packed()
    rc = rcam.world_to_camera(res.verts[None])[0]
    gc = cam.world_to_camera(gt_v[None])[0]
    scale = float(gc[:, 2].mean() / rc[:, 2].mean())
    aligned0 = cam.camera_to_world((rc * scale)[None])[0]
    src = sample_surface(aligned0, res.faces, samples, seed=1)[0].double()
    dst = sample_surface(gt_v, shape.mesh.faces_packed(), samples, seed=2)[0].double()
    s, R, t = similarity_icp(src, dst)
    aligned = (s * aligned0.double() @ R.T + t).float()
    src_a = (s * src @ R.T + t).numpy()
    d1, _ = cKDTree(dst.numpy()).query(src_a)
    d2, _ = cKDTree(src_a).query(dst.numpy())
    diag = float((gt_v.max(0).values - gt_v.min(0).values).norm())
    chamfer = 0.5 * (d1.mean() + d2.mean()) / diag
    recon = Meshes([aligned], [res.faces])
    novel = []
    for d_az in (90.0, -90.0):
        ncam = photo_camera(size, shape.azimuth + d_az, shape.elevation)
        novel.append(_iou(hard_mask(recon, ncam)[0], hard_mask(shape.mesh, ncam)[0]))
    return {"shape": shape.name, "template": res.template, "input_iou": res.iou, "novel_iou": float(np.mean(novel)),
            "novel_iou_plus90": novel[0], "novel_iou_minus90": novel[1], "chamfer": float(chamfer),
            "seconds": seconds, "cpu_seconds": cpu_seconds,
            "contacts": None if res.support is None else res.support.as_dict()}


def run_benchmark(size: int = 128, steps: int = 200, symmetry: str = "none", names: list[str] | None = None,
                  sets: tuple[str, ...] = ("easy", "hard"), settings: FitSettings | None = None) -> dict:
    """Evaluate every (or the named) shape of the chosen sets.

    Returns:
        {"rows": [... each with "set"], "mean": {set: {...}}, "settings": {...}}.

    Raises:
        ToolError: an unknown set or shape name.
    """
    unknown_sets = [x for x in sets if x not in SETS]
    if unknown_sets or not sets:
        raise ToolError(f"unknown benchmark set(s) {unknown_sets}; known: {', '.join(SETS)}")
    table = [(name, shape) for name in sets for shape in SETS[name]()]
    if names:
        known = {s.name for _, s in table}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ToolError(f"unknown benchmark shape(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        table = [(n, s) for n, s in table if s.name in names]
    settings = settings or FitSettings(steps=steps, symmetry=symmetry)
    rows = []
    for set_name, shape in table:
        rows.append({"set": set_name, **evaluate(shape, size, settings)})
        r = rows[-1]
        typer.echo(f"{set_name:4s} {r['shape']:18s} input IoU {r['input_iou']:.3f}  novel IoU {r['novel_iou']:.3f}  "
                   f"chamfer {r['chamfer']:.4f}  {r['seconds']:.1f} s"
                   + (f"  feet {len(r['contacts']['feet'])} at {r['contacts']['elevation']:.1f}°"
                      if r["contacts"] else ""), err=True)
    keys = ("input_iou", "novel_iou", "chamfer", "seconds", "cpu_seconds")
    mean = {name: {k: float(np.mean([r[k] for r in rows if r["set"] == name])) for k in keys}
            for name in sets if any(r["set"] == name for r in rows)}
    return {"rows": rows, "mean": mean, "settings": {"size": size, "steps": settings.steps,
                                                     "symmetry": settings.symmetry, "prior": settings.prior,
                                                     "template": settings.template, "rings": settings.rings,
                                                     "contacts": settings.contacts, "legs": settings.legs,
                                                     "panels": settings.panels, "pairs": settings.pairs,
                                                     "torch_threads": torch.get_num_threads()}}


def markdown_table(result: dict) -> str:
    """The benchmark result as Markdown: one table per set, a row per shape, then the set's mean."""
    out = []
    for name, mean in result["mean"].items():
        lines = [f"**{name} set**", "", "| shape | input IoU | novel IoU ±90° | chamfer / diag | seconds | CPU s |",
                 "| --- | --- | --- | --- | --- | --- |"]
        for r in [*(r for r in result["rows"] if r.get("set", name) == name), {**mean, "shape": "**mean**"}]:
            lines.append(f"| {r['shape']} | {r['input_iou']:.3f} | {r['novel_iou']:.3f} | {r['chamfer']:.4f} | "
                         f"{r['seconds']:.1f} | {r.get('cpu_seconds', float('nan')):.1f} |")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def register(bench_app: typer.Typer) -> None:
    """Add `bench reconstruct` to the bench command group."""

    @bench_app.command("reconstruct")
    def bench_reconstruct_cmd(
        size: int = typer.Option(128, "--size", help="photo size in pixels (square)"),
        steps: int = typer.Option(200, "--steps", help="fit steps per shape"),
        symmetry: Symmetry = typer.Option(Symmetry.none, "--symmetry", help="mirror prior of the fit"),
        prior: Prior = typer.Option(Prior.inflation, "--prior", help="unseen-side prior of the fit"),
        template: str = typer.Option("auto", "--template", help="starting shape of the fit"),
        rings: bool = typer.Option(True, "--rings/--no-rings", help="ring prior of the fit"),
        contacts: bool = typer.Option(True, "--contacts/--no-contacts", help="ground-contact prior of the fit"),
        legs: bool = typer.Option(True, "--legs/--no-legs", help="rigid-legs prior of the fit (with --contacts)"),
        panels: bool = typer.Option(True, "--panels/--no-panels", help="upright-panel prior of the fit (with --legs)"),
        pairs: bool = typer.Option(True, "--pairs/--no-pairs", help="leg-pairs prior of the fit (without a support)"),
        sets: str = typer.Option("easy,hard", "--set", help="comma-separated: easy, hard, check"),
        shapes_opt: str | None = typer.Option(None, "--shapes", help="comma-separated subset of shape names"),
        out: Path = typer.Option(Path("runs/bench/reconstruct.json"), "--out", help="JSON results file"),
    ) -> None:
        """Reconstruct procedural shapes from one photo each; report IoU (input, ±90°), chamfer, seconds."""
        if not 16 <= size <= 1024:
            raise ToolError(f"--size must be within 16..1024, got {size}")
        names = None if shapes_opt is None else [n.strip() for n in shapes_opt.split(",") if n.strip()]
        settings = FitSettings(steps=steps, symmetry=symmetry.value, prior=prior.value, template=template, rings=rings,
                               contacts=contacts, legs=legs, panels=panels, pairs=pairs)
        result = run_benchmark(size, steps, names=names, sets=tuple(x.strip() for x in sets.split(",") if x.strip()),
                               settings=settings)
        md = markdown_table(result)
        write_report(out, result["rows"], md + "\n", mean=result["mean"], settings=result["settings"])
        typer.echo(md)
        typer.echo(f"results: {out}, table: {out.with_suffix('.md')}")
