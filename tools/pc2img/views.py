"""Photos with cameras for the per-scene fit: a folder holding `cameras.json` and one image per view.

Image names are tried in this order: `image_000.png` (a data-engine sample), `rgb/frame_000.png`
(a `neurender render` run), `frame_000.png`, `000.png`. Optional masks `mask_000.png` /
`mask/frame_000.png` give each photo's background color exactly; without them it is the median of
the photo's border pixels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from render3d.cameras import Cameras
from tools.errors import ToolError
from tools.pc2img.inputs import load_cameras_json, resize_camera

IMAGE_PATTERNS = ("image_{:03d}.png", "rgb/frame_{:03d}.png", "frame_{:03d}.png", "{:03d}.png")
MASK_PATTERNS = ("mask_{:03d}.png", "mask/frame_{:03d}.png")


@dataclass(frozen=True)
class PhotoViews:
    """V photos: `images[v]` `[1, 3, H, W]` in [0, 1], `cameras[v]` (B=1), `background[v]` `[3]`."""

    images: list[torch.Tensor]
    cameras: list[Cameras]
    background: list[torch.Tensor]

    def __len__(self) -> int:
        return len(self.images)


def _read_rgb(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as e:
        raise ToolError(f"{path}: cannot read image ({e})") from e


def _find(folder: Path, patterns: tuple[str, ...], i: int) -> Path | None:
    for p in patterns:
        if (folder / p.format(i)).is_file():
            return folder / p.format(i)
    return None


def load_views(folder: str | os.PathLike, size: int | None = None) -> PhotoViews:
    """Photos and cameras of a views folder, optionally resized so the longer side is `size`.

    Raises:
        ToolError: no cameras.json, a missing or unreadable photo, or a photo whose size is not its camera's.
    """
    folder = Path(folder)
    if not (folder / "cameras.json").is_file():
        raise ToolError(f"{folder}: a views folder needs cameras.json beside its photos")
    cams = load_cameras_json(folder / "cameras.json")
    images, cameras, backgrounds = [], [], []
    for i, cam in enumerate(cams):
        path = _find(folder, IMAGE_PATTERNS, i)
        if path is None:
            names = ", ".join(p.format(i) for p in IMAGE_PATTERNS)
            raise ToolError(f"{folder}: no photo for view {i} (looked for {names})")
        rgb = _read_rgb(path)
        if rgb.shape[:2] != (cam.height, cam.width):
            raise ToolError(f"{path}: photo is {rgb.shape[1]}x{rgb.shape[0]}, its camera {cam.width}x{cam.height}")
        mask_path = _find(folder, MASK_PATTERNS, i)
        if mask_path is not None:
            outside = _read_rgb(mask_path)[..., 0] < 0.5
        else:
            outside = np.zeros(rgb.shape[:2], dtype=bool)
            outside[[0, -1], :] = outside[:, [0, -1]] = True
        bg = np.median(rgb[outside], axis=0) if outside.any() else np.ones(3, dtype=np.float32)
        img = torch.from_numpy(rgb).permute(2, 0, 1)[None]
        if size is not None and max(cam.width, cam.height) != size:
            cam = resize_camera(cam, size)
            img = torch.nn.functional.interpolate(img, size=(cam.height, cam.width), mode="area")
        images.append(img)
        cameras.append(cam)
        backgrounds.append(torch.from_numpy(np.asarray(bg, dtype=np.float32)))
    return PhotoViews(images, cameras, backgrounds)
