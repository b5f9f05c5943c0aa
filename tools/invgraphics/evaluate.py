"""Held-out scores of an encoder on multi-view sets: input-view IoU, novel-view IoU, camera error, time.

Every held-out sample is predicted from its view 0 as a user's photo would be (`predict.input_crop`
at the view's own K), the prediction is hard-rasterized at view 0's predicted camera (input IoU) and
at the other views' cameras carried into the predicted frame (novel-view IoU against their masks),
and for canonical sets the predicted yaw/pitch is compared with the label.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from render3d.cameras import Cameras
from render3d.raster import RasterSettings, rasterize_meshes
from render3d.structures import Meshes
from tools.invgraphics.camera import transfer
from tools.invgraphics.data import MultiviewViews, as_float
from tools.invgraphics.losses import angle_difference
from tools.invgraphics.model import InverseGraphicsModel
from tools.invgraphics.predict import predict


def hard_iou(verts: torch.Tensor, faces: torch.Tensor, cameras: Cameras, masks: torch.Tensor) -> torch.Tensor:
    """`[B]` IoU of the hard coverage of one mesh (`verts [V, 3]`) seen by B cameras against `masks [B, H, W]`."""
    B = len(cameras)
    meshes = Meshes([verts] * B, [faces] * B)
    cover = rasterize_meshes(meshes, cameras, RasterSettings()).mask.float()
    m = (masks > 0.5).float()
    return (cover * m).sum((1, 2)) / (cover + m - cover * m).sum((1, 2)).clamp(min=1)


@torch.no_grad()
def evaluate(model: InverseGraphicsModel, data: MultiviewViews, limit: int | None = None) -> dict:
    """Score `model` on the samples of `data` (e.g. its held-out split).

    Returns:
        {"samples", "input_iou", "novel_iou", "yaw_error", "pitch_error" (canonical sets; None
        without), "predict_seconds" (median per photo), "rows": per sample}.
    """
    rows = []
    n = len(data) if limit is None else min(limit, len(data))
    for i in range(n):
        _, images, masks, params, K, canonical, _, _ = data[i]
        images, masks = as_float(images, masks)
        V, H, W = masks.shape
        t0 = time.perf_counter()
        pred, _ = predict(model, images[0], masks[0], K[0])
        seconds = time.perf_counter() - t0
        v, f = pred.verts[0], pred.faces
        # View 0 carried onto itself is the predicted input camera; the others follow from the labels.
        R, t = transfer(params, params[:1].expand(V, 4), pred.camera.expand(V, 4))
        iou = hard_iou(v, f, Cameras(K, R, t, W, H), masks)
        row = {"name": data.names[i], "input_iou": float(iou[0]), "novel_iou": float(iou[1:].mean()),
               "seconds": seconds, "canonical": bool(canonical)}
        if canonical:
            err = angle_difference(pred.camera[0, :2], params[0, :2]).abs()
            row.update(yaw_error=float(err[0]), pitch_error=float(err[1]))
        rows.append(row)
    canon = [r for r in rows if r["canonical"]]
    return {"samples": len(rows), "input_iou": float(np.mean([r["input_iou"] for r in rows])),
            "novel_iou": float(np.mean([r["novel_iou"] for r in rows])),
            "yaw_error": float(np.median([r["yaw_error"] for r in canon])) if canon else None,
            "pitch_error": float(np.median([r["pitch_error"] for r in canon])) if canon else None,
            "predict_seconds": float(np.median([r["seconds"] for r in rows])), "rows": rows}

