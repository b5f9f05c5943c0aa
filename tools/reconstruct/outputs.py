"""Everything a reconstruction writes into its run directory.

`mesh.obj` (+ `mesh.mtl`, `mesh.png`), `mesh.glb`, `camera.json` (the input view, OpenCV, in the
photo's own pixels), `views/view_XXX.png` from 8 azimuths, `turntable.gif` and `turntable.mp4`,
`metrics.json`, `mask.png`, and the one-page `report.png`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from render3d.cameras import Cameras, orbit
from render3d.io import atomic_write, contact_sheet, save_gif, save_mesh, save_png
from render3d.io.video import save_mp4
from render3d.structures import Meshes
from tools.reconstruct.render import render_textured

VIEW_AZIMUTHS = tuple(float(a) for a in range(0, 360, 45))


def orbit_views(mesh: Meshes, camera: Cameras, azimuths: tuple[float, ...] | list[float], elevation: float,
                center: torch.Tensor) -> Cameras:
    """Cameras at the input camera's distance from `center`, turned by `azimuths` (degrees) around +Y."""
    dist = float((camera.centers()[0] - center).norm())
    R, t = orbit(center, dist, list(azimuths), elevation)
    return Cameras(camera.K.expand(len(azimuths), 3, 3), R, t, camera.width, camera.height)


def camera_json(camera: Cameras, scale_x: float, scale_y: float, width: int, height: int) -> dict:
    """The input view for the photo's own resolution: K scaled from the working resolution."""
    K = camera.K[0].clone()
    K[0] *= scale_x
    K[1] *= scale_y
    return {
        "convention": "OpenCV: x right, y down, z forward; x_cam = R @ x_world + t; pixel centers at +0.5",
        "K": K.tolist(), "R": camera.R[0].tolist(), "t": camera.t[0].tolist(), "width": width, "height": height,
    }


def _label(img: torch.Tensor, text: str) -> torch.Tensor:
    from PIL import Image, ImageDraw

    a = Image.fromarray((img.clamp(0, 1).numpy() * 255).astype(np.uint8))
    d = ImageDraw.Draw(a)
    d.rectangle([0, 0, 6 * len(text) + 4, 11], fill=(255, 255, 255))
    d.text((2, 0), text, fill=(0, 0, 0))
    return torch.from_numpy(np.asarray(a, dtype=np.float32) / 255.0)


def _caption(img: torch.Tensor, text: str) -> torch.Tensor:
    """`img` with a white strip below holding `text` (what produced it)."""
    from PIL import Image, ImageDraw

    w = img.shape[1]
    strip = Image.new("RGB", (w, 14), (255, 255, 255))
    ImageDraw.Draw(strip).text((3, 1), text[: max(8, w // 6)], fill=(0, 0, 0))
    return torch.cat([img[..., :3], torch.from_numpy(np.asarray(strip, dtype=np.float32) / 255.0)], 0)


def loss_plot(history: list[dict], width: int, height: int) -> torch.Tensor:
    """`[height, width, 3]` plot of loss (blue) and silhouette IoU (green, 0..1 scale) per step."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(im)
    m = 14
    d.rectangle([m, m, width - 4, height - m], outline=(180, 180, 180))
    if history:
        loss = np.array([h["loss"] for h in history])
        iou = np.array([h["iou"] for h in history])
        xs = m + (np.arange(len(loss)) / max(len(loss) - 1, 1)) * (width - 4 - m)
        ll = np.log10(np.maximum(loss, 1e-6))
        ly = (ll - ll.min()) / max(ll.max() - ll.min(), 1e-6)
        span = height - 2 * m
        d.line(list(zip(xs, height - m - ly * span, strict=True)), fill=(40, 80, 220), width=1)
        d.line(list(zip(xs, height - m - np.clip(iou, 0, 1) * span, strict=True)), fill=(30, 160, 60), width=1)
        d.text((m + 2, 1), f"loss {loss[-1]:.3f} (log)  iou {iou[-1]:.3f}", fill=(0, 0, 0))
    return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0)


def write_outputs(out: Path, textured: Meshes, camera: Cameras, elevation: float, photo: torch.Tensor,
                  mask: torch.Tensor, photo_size: tuple[int, int], history: list[dict],
                  metrics: dict) -> dict:
    """Write the run directory.

    Args:
        out: run directory.
        textured: the baked mesh.
        camera: input view at the working resolution.
        elevation: camera elevation (degrees) for the orbit views.
        photo: `[h, w, 3]` photo at the working resolution.
        mask: `[h, w]` mask used.
        photo_size: (H, W) of the original photo, for camera.json.
        history: fit log.
        metrics: fit metrics to complete and write.

    Returns:
        the metrics written (input-view IoU and PSNR of the textured mesh added).
    """
    out.mkdir(parents=True, exist_ok=True)
    save_mesh(out / "mesh.obj", textured)
    save_mesh(out / "mesh.glb", textured)
    save_png(out / "mask.png", mask)
    H0, W0 = photo_size
    cam = camera_json(camera, W0 / camera.width, H0 / camera.height, W0, H0)
    atomic_write(out / "camera.json", lambda p: p.write_text(json.dumps(cam, indent=2)))
    rgb, alpha = render_textured(textured, camera)
    fit_rgb, fit_alpha = rgb[0], alpha[0]
    pred = (fit_alpha > 0.5).float()
    metrics = dict(metrics)
    metrics["textured_iou"] = float((pred * mask).sum() / (pred + mask - pred * mask).sum().clamp(min=1))
    m = mask > 0.5
    mse = float(((fit_rgb - photo) ** 2)[m].mean())
    metrics["textured_psnr"] = 10.0 * float(np.log10(1.0 / max(mse, 1e-10)))
    center = 0.5 * (textured.verts_packed().min(0).values + textured.verts_packed().max(0).values)
    views_cam = orbit_views(textured, camera, VIEW_AZIMUTHS, elevation, center)
    views, _ = render_textured(textured, views_cam)
    for i, (az, v) in enumerate(zip(VIEW_AZIMUTHS, views, strict=True)):
        save_png(out / "views" / f"view_{i:03d}_az{int(az):03d}.png", v)
    turn_cam = orbit_views(textured, camera, [float(a) for a in range(0, 360, 15)], elevation, center)
    frames, _ = render_textured(textured, turn_cam)
    save_gif(out / "turntable.gif", list(frames), fps=12.0)
    save_mp4(out / "turntable.mp4", list(frames), fps=12.0)
    h, w = photo.shape[:2]
    tiles = [_label(photo, "input"), _label(mask[..., None].expand(-1, -1, 3), f"mask: {metrics['mask_source']}"),
             _label(fit_rgb, "fit"), loss_plot(history, w, h)]
    tiles += [_label(v, f"az {int(az)}") for az, v in zip(VIEW_AZIMUTHS, views, strict=True)]
    sheet = contact_sheet(tiles, cols=4)
    save_png(out / "report.png", _caption(sheet, f"priors: {metrics['priors']}"))
    atomic_write(out / "metrics.json", lambda p: p.write_text(json.dumps(metrics, indent=2)))
    return metrics
