"""`neurender bench reconstruct`: single-image reconstruction quality and speed on procedural shapes.

Each ground-truth shape (`tools.reconstruct.synthetic.shapes`) is photographed from a known
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

from render3d.structures import Meshes
from tools.bench.harness import Stopwatch, write_report
from tools.errors import ToolError
from tools.reconstruct.fit import FitSettings, fit
from tools.reconstruct.render import hard_mask
from tools.reconstruct.synthetic import SyntheticShape, photo_camera, render_photo, shapes


def sample_surface(verts: torch.Tensor, faces: torch.Tensor, n: int, seed: int = 0) -> np.ndarray:
    """`[n, 3]` points sampled uniformly by area on a triangle mesh (seeded)."""
    g = torch.Generator().manual_seed(seed)
    fv = verts[faces].double()
    area = torch.linalg.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=1).norm(dim=1)
    idx = torch.multinomial(area / area.sum(), n, replacement=True, generator=g)
    u, v = torch.rand(n, generator=g, dtype=torch.float64), torch.rand(n, generator=g, dtype=torch.float64)
    flip = u + v > 1
    u, v = torch.where(flip, 1 - u, u), torch.where(flip, 1 - v, v)
    p = fv[idx, 0] + u[:, None] * (fv[idx, 1] - fv[idx, 0]) + v[:, None] * (fv[idx, 2] - fv[idx, 0])
    return p.numpy()


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity `dst ≈ s R src + t` of paired points `[n, 3]` (Umeyama 1991)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    U, S, Vt = np.linalg.svd(cov)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U) * np.linalg.det(Vt))])
    R = U @ D @ Vt
    s = float(np.trace(np.diag(S) @ D) / max((xs**2).sum() / len(src), 1e-12))
    return s, R, mu_d - s * R @ mu_s


def similarity_icp(src: np.ndarray, dst: np.ndarray, iters: int = 40) -> tuple[float, np.ndarray, np.ndarray]:
    """Similarity ICP with nearest-neighbor pairs taken both ways; returns (s, R, t) mapping src onto dst."""
    s, R, t = 1.0, np.eye(3), np.zeros(3)
    dst_tree = cKDTree(dst)
    for _ in range(iters):
        cur = s * src @ R.T + t
        _, i_sd = dst_tree.query(cur)
        _, i_ds = cKDTree(cur).query(dst)
        s, R, t = umeyama(np.concatenate([src, src[i_ds]]), np.concatenate([dst[i_sd], dst]))
    return s, R, t


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a * b).sum() / (a + b - a * b).sum().clamp(min=1))


def evaluate(shape: SyntheticShape, size: int, settings: FitSettings, samples: int = 4000) -> dict:
    """Photograph one shape, reconstruct it, align and score it.

    Returns:
        {"shape", "input_iou", "novel_iou", "novel_iou_plus90", "novel_iou_minus90", "chamfer", "seconds"}.
    """
    cam = photo_camera(size, shape.azimuth, shape.elevation)
    rgb, alpha = render_photo(shape.mesh, cam)
    mask = (alpha > 0.5).float()
    with Stopwatch() as sw:
        res = fit(rgb, mask, cam.K[0], settings)
    seconds = sw.wall_s
    rcam = res.camera()
    # Recon world → recon camera → (depth scale) → GT camera → GT world: keeps the input view exact.
    gt_v = shape.mesh.verts_packed()
    rc = rcam.world_to_camera(res.verts[None])[0]
    gc = cam.world_to_camera(gt_v[None])[0]
    scale = float(gc[:, 2].mean() / rc[:, 2].mean())
    aligned0 = cam.camera_to_world((rc * scale)[None])[0]
    src = sample_surface(aligned0, res.faces, samples, seed=1)
    dst = sample_surface(gt_v, shape.mesh.faces_packed(), samples, seed=2)
    s, R, t = similarity_icp(src, dst)
    aligned = (s * aligned0.double() @ torch.from_numpy(R).T + torch.from_numpy(t)).float()
    src_a = s * src @ R.T + t
    d1, _ = cKDTree(dst).query(src_a)
    d2, _ = cKDTree(src_a).query(dst)
    diag = float((gt_v.max(0).values - gt_v.min(0).values).norm())
    chamfer = 0.5 * (d1.mean() + d2.mean()) / diag
    recon = Meshes([aligned], [res.faces])
    novel = []
    for d_az in (90.0, -90.0):
        ncam = photo_camera(size, shape.azimuth + d_az, shape.elevation)
        novel.append(_iou(hard_mask(recon, ncam)[0], hard_mask(shape.mesh, ncam)[0]))
    return {"shape": shape.name, "input_iou": res.iou, "novel_iou": float(np.mean(novel)),
            "novel_iou_plus90": novel[0], "novel_iou_minus90": novel[1], "chamfer": float(chamfer),
            "seconds": seconds}


def run_benchmark(size: int = 128, steps: int = 200, symmetry: str = "none",
                  names: list[str] | None = None) -> dict:
    """Evaluate every (or the named) benchmark shape; returns {"rows": [...], "mean": {...}, "settings": {...}}.

    Raises:
        ToolError: an unknown shape name.
    """
    table = shapes()
    if names:
        known = {s.name for s in table}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ToolError(f"unknown benchmark shape(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        table = [s for s in table if s.name in names]
    settings = FitSettings(steps=steps, symmetry=symmetry)
    rows = []
    for shape in table:
        rows.append(evaluate(shape, size, settings))
        r = rows[-1]
        typer.echo(f"{r['shape']:18s} input IoU {r['input_iou']:.3f}  novel IoU {r['novel_iou']:.3f}  "
                   f"chamfer {r['chamfer']:.4f}  {r['seconds']:.1f} s", err=True)
    keys = ("input_iou", "novel_iou", "chamfer", "seconds")
    mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    return {"rows": rows, "mean": mean, "settings": {"size": size, "steps": steps, "symmetry": symmetry,
                                                     "torch_threads": torch.get_num_threads()}}


def markdown_table(result: dict) -> str:
    """The benchmark result as a Markdown table (one row per shape, then the mean)."""
    lines = ["| shape | input IoU | novel IoU ±90° | chamfer / diag | seconds |", "| --- | --- | --- | --- | --- |"]
    for r in [*result["rows"], {**result["mean"], "shape": "**mean**"}]:
        lines.append(f"| {r['shape']} | {r['input_iou']:.3f} | {r['novel_iou']:.3f} | {r['chamfer']:.4f} | "
                     f"{r['seconds']:.1f} |")
    return "\n".join(lines)


def register(bench_app: typer.Typer) -> None:
    """Add `bench reconstruct` to the bench command group."""

    @bench_app.command("reconstruct")
    def bench_reconstruct_cmd(
        size: int = typer.Option(128, "--size", help="photo size in pixels (square)"),
        steps: int = typer.Option(200, "--steps", help="fit steps per shape"),
        symmetry: str = typer.Option("none", "--symmetry", help="none | x | z"),
        shapes_opt: str | None = typer.Option(None, "--shapes", help="comma-separated subset of shape names"),
        out: Path = typer.Option(Path("runs/bench/reconstruct.json"), "--out", help="JSON results file"),
    ) -> None:
        """Reconstruct procedural shapes from one photo each; report IoU (input, ±90°), chamfer, seconds."""
        if not 16 <= size <= 1024:
            raise ToolError(f"--size must be within 16..1024, got {size}")
        names = None if shapes_opt is None else [n.strip() for n in shapes_opt.split(",") if n.strip()]
        result = run_benchmark(size, steps, symmetry, names)
        md = markdown_table(result)
        write_report(out, result["rows"], md + "\n", mean=result["mean"], settings=result["settings"])
        typer.echo(md)
        typer.echo(f"results: {out}, table: {out.with_suffix('.md')}")
