"""How well the GAN renders at requested cameras: pose error, identity kept, agreement with the mesh rendering.

For generated identities (fixed seeds) the encoder reads camera and codes off the generator's own
image (a pose-conditioned generator's at the frontal label); the neural renderer then renders those
codes at requested yaws (pitch and distance as predicted). Open loop: the request goes straight into
the renderer (for a conditioned generator, as its view label), no pose reader corrects it. Each
render's pose is estimated by the faces job's head analyzer (its own held-out error is the noise
floor, reported beside it) and compared with the request. Identity, by two readers: the encoder's
codes read back off each render vs the input's (the mapping trains against these, through its code
cycle), and the faces analyzer's identity descriptors (never trained against): error relative to the
median distance between two identities' inputs, and whether the nearest input is the right identity.
Beside them, the same for the generator's own views of the true identity at those labels: what the
readers' view invariance allows. The mesh the encoder predicted from the same image is rendered at the same
cameras, and its silhouette and colors are compared with the GAN render's background-keyed mask and
pixels.
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
from tools.invgraphics.neural_renderer import NeuralRenderer, sample_objects
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


def identity_agreement(codes: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes (or descriptors) read off renders `[N, V, D]` (identity n at V views) vs the input's `reference [N, D]`.

    Returns:
        `[N, V]` relative code error (‖codes − reference_n‖ over the median distance between two identities'
        reference codes) and `[N, V]` bool: the nearest reference is identity n.
    """
    between = torch.cdist(reference, reference)
    scale = between[~torch.eye(len(reference), dtype=torch.bool)].median().clamp(min=1e-8)
    own = (codes - reference[:, None]).norm(dim=-1) / scale
    nearest = torch.cdist(codes.flatten(0, 1), reference).argmin(1).view(codes.shape[:2])
    return own, nearest == torch.arange(len(reference))[:, None]


@torch.no_grad()
def score_renderer(renderer: NeuralRenderer, analyzer, identities: int = 16, yaws: Sequence[float] = YAWS,
                   seed: int = 1, truncation: float = 0.7) -> dict:
    """Open-loop pose error of the GAN's renders at requested yaws, the identity they keep, and their
    agreement with the mesh renders.

    Returns:
        {"rows": per (identity, yaw), "bins": per yaw {"yaw", "median_abs_yaw_error", "median_abs_pitch_error",
        "iou", "psnr", "{reader}_error", "{reader}_top1" for reader "code" (encoder) and "analyzer", and for a
        conditioned generator the same prefixed "own_" and "own_median_abs_yaw_error" (its own views at the same
        labels)}, and their overall "median_abs_yaw_error", "max_bin_median", "iou", "psnr" and identity keys
        (the "own_" ones None for a W-space generator)}.
    """
    from tools.faces.segment import key_masks

    G, enc = renderer.G, renderer.encoder
    z = torch.randn(identities, G.z_dim, generator=torch.Generator().manual_seed(seed))
    true_ws, x = sample_objects(G, z, truncation, torch.zeros(identities, 2))
    S, V = x.shape[-1], len(yaws)
    K = pose_cameras("heads", [(0.0, 0.0, 0.0)], S).K[0]
    photos, masks = gan_to_render(x), key_masks(x)
    readers = {"code": lambda img: torch.cat(renderer.encode(img)[1:], 1), "analyzer": analyzer.identity}
    inputs = {name: read(x) for name, read in readers.items()}
    seen: dict[str, list[torch.Tensor]] = {f"{p}{name}": [] for p in ("", "own_") for name in readers}
    rows = []
    for i in range(identities):
        pred, Kc = predict(enc, photos[i], masks[i], K)
        camera, shape, texture = enc.attributes(torch.cat([x[i:i + 1], masks[i:i + 1, None] * 2 - 1], 1))
        cams = sweep_cameras(camera[0], yaws)
        gan = renderer.render(cams, shape.expand(V, -1), texture.expand(V, -1))
        for name, read in readers.items():
            seen[name].append(read(gan))
        if renderer.conditioned:
            own = G.synthesis(renderer.place(true_ws[i:i + 1].expand(V, -1, -1), cams), noise_mode="const")
            for name, read in readers.items():
                seen[f"own_{name}"].append(read(own))
            own_pose = analyzer.pose(own)
        pose = analyzer.pose(gan)
        R, t = orbit_extrinsics(sweep_cameras(pred.camera[0], yaws))
        Ks = Kc.clone()
        Ks[:2] *= S / enc.resolution
        mesh_rgb, mesh_alpha = pred.repeat(V).render(Cameras(Ks[None].expand(V, 3, 3), R, t, S, S),
                                                    torch.full((V, 3), 0.92))
        gan_mask = key_masks(gan)
        ious = iou(mesh_alpha, gan_mask)
        inside = (gan_mask > 0.5)[..., None]
        err = ((gan_to_render(gan) - mesh_rgb) ** 2 * inside).sum((1, 2, 3)) / (3 * inside.sum((1, 2, 3))).clamp(min=1)
        psnr = 10 * torch.log10(1 / err.clamp(min=1e-10))
        for j, yaw in enumerate(yaws):
            rows.append({"identity": i, "yaw": yaw, "pitch": float(cams[j, 1]),
                         "yaw_error": float(angle_difference(pose[j, 0], torch.tensor(yaw))),
                         "pitch_error": float(pose[j, 1] - cams[j, 1]), "iou": float(ious[j]), "psnr": float(psnr[j]),
                         **({"own_yaw_error": float(angle_difference(own_pose[j, 0], torch.tensor(yaw)))}
                            if renderer.conditioned else {})})
    agreement = {key: identity_agreement(torch.stack(got), inputs[key.removeprefix("own_")])
                 for key, got in seen.items() if got}
    for r in rows:
        for key, (error, top1) in agreement.items():
            r[f"{key}_error"] = float(error[r["identity"], yaws.index(r["yaw"])])
            r[f"{key}_top1"] = float(top1[r["identity"], yaws.index(r["yaw"])])
    keys = [f"{key}_{m}" for key in agreement for m in ("error", "top1")]
    bins = []
    for yaw in yaws:
        sel = [r for r in rows if r["yaw"] == yaw]
        bins.append({"yaw": yaw, "median_abs_yaw_error": float(np.median([abs(r["yaw_error"]) for r in sel])),
                     "median_abs_pitch_error": float(np.median([abs(r["pitch_error"]) for r in sel])),
                     "iou": float(np.mean([r["iou"] for r in sel])), "psnr": float(np.mean([r["psnr"] for r in sel])),
                     **{k: float(np.mean([r[k] for r in sel])) for k in keys},
                     **({"own_median_abs_yaw_error": float(np.median([abs(r["own_yaw_error"]) for r in sel]))}
                        if renderer.conditioned else {})})
    overall = {f"{key}_{m}": float(np.mean([r[f"{key}_{m}"] for r in rows])) if key in agreement else None
               for key in seen for m in ("error", "top1")}
    return {"rows": rows, "bins": bins, "open_loop": True, "conditioned": renderer.conditioned,
            "median_abs_yaw_error": float(np.median([abs(r["yaw_error"]) for r in rows])),
            "max_bin_median": max(b["median_abs_yaw_error"] for b in bins),
            "iou": float(np.mean([r["iou"] for r in rows])), "psnr": float(np.mean([r["psnr"] for r in rows])),
            **overall}


def neural_renderer_scores(encoder: InverseGraphicsModel, generator: Path | None, mapping: Path | None,
                           identities: int = 16) -> dict:
    """`score_renderer` with the named (default: shipped) generator and mapping, plus a Markdown table."""
    from tools.invgraphics.run import load_neural_renderer

    renderer, notes = load_neural_renderer(encoder, generator, mapping)
    analyzer, extra = _analyzer()
    scores = score_renderer(renderer, analyzer, identities)
    floor = (extra.get("scores") or {}).get("noise_floor")
    floor_text = (f"yaw {floor['yaw_median_abs']:.2f}°, pitch {floor['pitch_median_abs']:.2f}°"
                  if isinstance(floor, dict) and "yaw_median_abs" in floor else str(floor))
    own = scores["own_code_error"] is not None
    header = ["requested yaw", "yaw error (median abs)", "pitch error (median abs)", "mesh IoU", "PSNR vs mesh (dB)",
              "encoder codes: error / top-1", "analyzer identity: error / top-1",
              *(["G's own views: yaw error", "codes top-1", "analyzer top-1"] if own else [])]
    table = [[f"{b['yaw']:+.0f}°", f"{b['median_abs_yaw_error']:.2f}°", f"{b['median_abs_pitch_error']:.2f}°",
              f"{b['iou']:.3f}", f"{b['psnr']:.1f}", f"{b['code_error']:.2f} / {b['code_top1']:.0%}",
              f"{b['analyzer_error']:.2f} / {b['analyzer_top1']:.0%}",
              *([f"{b['own_median_abs_yaw_error']:.2f}°", f"{b['own_code_top1']:.0%}", f"{b['own_analyzer_top1']:.0%}"]
                if own else [])]
             for b in scores["bins"]]
    md = (f"\nGAN as renderer, open loop ({identities} identities, {'pose label' if scores['conditioned'] else 'W+'} "
          f"camera): median |yaw error| {scores['median_abs_yaw_error']:.2f}° (worst bin "
          f"{scores['max_bin_median']:.2f}°), analyzer noise floor {floor_text}; identity kept (top-1 among the "
          f"{identities} inputs, chance {1 / identities:.0%}): encoder codes {scores['code_top1']:.0%}, analyzer "
          f"{scores['analyzer_top1']:.0%}"
          + (f" (the generator's own views of the true identities: {scores['own_code_top1']:.0%}, "
             f"{scores['own_analyzer_top1']:.0%})" if own else "") + "\n\n" + markdown_table(header, table))
    return {**scores, "noise_floor": floor, "notes": notes, "markdown": md}
