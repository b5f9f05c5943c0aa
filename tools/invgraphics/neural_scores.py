"""How well the GAN renders at requested cameras: pose error and agreement with the mesh rendering.

For generated identities (fixed seeds) the encoder reads camera and codes off the generator's own
image; the neural renderer then renders those codes at requested yaws (pitch and distance as
predicted). Each render's pose is estimated by the faces job's head analyzer (its own held-out error
is the noise floor, reported beside it) and compared with the request; the mesh the encoder predicted
from the same image is rendered at the same cameras, and its silhouette and colors are compared with
the GAN render's background-keyed mask and pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from render3d.cameras import Cameras
from scenes.samples import pose_cameras
from tools.bench.harness import markdown_table
from tools.errors import ToolError
from tools.imageconv import gan_to_render
from tools.invgraphics.camera import orbit_extrinsics
from tools.invgraphics.losses import angle_difference
from tools.invgraphics.model import InverseGraphicsModel
from tools.invgraphics.neural_renderer import NeuralRenderer
from tools.invgraphics.predict import predict
from tools.invgraphics.scoring import iou
from tools.invgraphics.sweep import sweep_cameras

YAWS = tuple(float(y) for y in range(-40, 41, 10))


def _analyzer():
    from gan2d.errors import CheckpointError
    from tools.faces.analyzer import load_analyzer
    from tools.faces.bundle import ANALYZER, WEIGHTS_DIR

    try:
        return load_analyzer(WEIGHTS_DIR / ANALYZER)
    except CheckpointError as e:
        raise ToolError(f"the faces job's head analyzer is needed to measure poses: {e}") from e


@torch.no_grad()
def score_renderer(renderer: NeuralRenderer, analyzer, identities: int = 16, yaws: Sequence[float] = YAWS,
                   seed: int = 1, truncation: float = 0.7) -> dict:
    """Pose error of the GAN's renders at requested yaws and their agreement with the mesh renders.

    Returns:
        {"rows": per (identity, yaw), "bins": per yaw {"yaw", "median_abs_yaw_error", "median_abs_pitch_error",
        "iou", "psnr"}, "median_abs_yaw_error", "max_bin_median", "iou", "psnr"}.
    """
    from tools.faces.segment import key_masks

    G, enc = renderer.G, renderer.encoder
    z = torch.randn(identities, G.z_dim, generator=torch.Generator().manual_seed(seed))
    x = G(z, None, truncation_psi=truncation, noise_mode="const")
    S = x.shape[-1]
    K = pose_cameras("heads", [(0.0, 0.0, 0.0)], S).K[0]
    photos, masks = gan_to_render(x), key_masks(x)
    rows = []
    for i in range(identities):
        pred, Kc = predict(enc, photos[i], masks[i], K)
        camera, shape, texture = enc.attributes(torch.cat([x[i:i + 1], masks[i:i + 1, None] * 2 - 1], 1))
        cams = sweep_cameras(camera[0], yaws)
        gan = renderer.render(cams, shape.expand(len(yaws), -1), texture.expand(len(yaws), -1))
        pose = analyzer.pose(gan)
        R, t = orbit_extrinsics(sweep_cameras(pred.camera[0], yaws))
        Ks = Kc.clone()
        Ks[:2] *= S / enc.resolution
        mesh_rgb, mesh_alpha = pred.repeat(len(yaws)).render(Cameras(Ks[None].expand(len(yaws), 3, 3), R, t, S, S),
                                                            torch.full((len(yaws), 3), 0.92))
        gan_mask = key_masks(gan)
        ious = iou(mesh_alpha, gan_mask)
        inside = (gan_mask > 0.5)[..., None]
        err = ((gan_to_render(gan) - mesh_rgb) ** 2 * inside).sum((1, 2, 3)) / (3 * inside.sum((1, 2, 3))).clamp(min=1)
        psnr = 10 * torch.log10(1 / err.clamp(min=1e-10))
        for j, yaw in enumerate(yaws):
            rows.append({"identity": i, "yaw": yaw, "pitch": float(cams[j, 1]),
                         "yaw_error": float(angle_difference(pose[j, 0], torch.tensor(yaw))),
                         "pitch_error": float(pose[j, 1] - cams[j, 1]), "iou": float(ious[j]), "psnr": float(psnr[j])})
    bins = []
    for yaw in yaws:
        sel = [r for r in rows if r["yaw"] == yaw]
        bins.append({"yaw": yaw, "median_abs_yaw_error": float(np.median([abs(r["yaw_error"]) for r in sel])),
                     "median_abs_pitch_error": float(np.median([abs(r["pitch_error"]) for r in sel])),
                     "iou": float(np.mean([r["iou"] for r in sel])), "psnr": float(np.mean([r["psnr"] for r in sel]))})
    return {"rows": rows, "bins": bins, "median_abs_yaw_error": float(np.median([abs(r["yaw_error"]) for r in rows])),
            "max_bin_median": max(b["median_abs_yaw_error"] for b in bins),
            "iou": float(np.mean([r["iou"] for r in rows])), "psnr": float(np.mean([r["psnr"] for r in rows]))}


def neural_renderer_scores(encoder: InverseGraphicsModel, generator: Path | None, mapping: Path | None,
                           identities: int = 16) -> dict:
    """`score_renderer` with the named (default: shipped) generator and mapping, plus a Markdown table."""
    from tools.invgraphics.run import load_neural_renderer

    renderer, notes = load_neural_renderer(encoder, generator, mapping)
    analyzer, extra = _analyzer()
    scores = score_renderer(renderer, analyzer, identities)
    floor = (extra.get("scores") or {}).get("noise_floor")
    header = ["requested yaw", "median |yaw error|", "median |pitch error|", "mesh IoU", "PSNR vs mesh (dB)"]
    table = [[f"{b['yaw']:+.0f}°", f"{b['median_abs_yaw_error']:.2f}°", f"{b['median_abs_pitch_error']:.2f}°",
              f"{b['iou']:.3f}", f"{b['psnr']:.1f}"] for b in scores["bins"]]
    md = (f"\nGAN as renderer ({identities} identities): median |yaw error| {scores['median_abs_yaw_error']:.2f}° "
          f"(worst bin {scores['max_bin_median']:.2f}°), analyzer noise floor {floor}\n\n"
          + markdown_table(header, table))
    return {**scores, "noise_floor": floor, "notes": notes, "markdown": md}

