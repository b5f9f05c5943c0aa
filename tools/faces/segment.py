"""Head masks of generated images by background keying.

The embedded generator learned the head sets' plain background, so a pixel whose color stays within
`tolerance` of the background color is background; that color is read per image as the median of its
border pixels (a generator's gray is close to, not exactly, the renders' gray), unless given. A read
background also widens the tolerance by its own unevenness along the border (the 75th percentile of the
border pixels' distance from their median: zero for a render's plain gray, about 0.1 for the shading a
generator leaves around the head, which a fixed tolerance would count as head). The mask
is the connected foreground region touching the image center, with its holes filled, softened to the
pixel's distance from the background color over one more tolerance. Its agreement with the true masks
of rendered heads is measured by `tools.bench.faces` (mask IoU on held-out renders).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage


def key_masks(images: torch.Tensor, background: tuple[float, float, float] | None = None, tolerance: float = 0.06
              ) -> torch.Tensor:
    """`[B, 3, H, W]` images in [-1, 1] → `[B, H, W]` masks in [0, 1] (1 = head).

    Example:
        >>> img = torch.full((1, 3, 9, 9), 0.84)  # background gray in [-1, 1]
        >>> img[:, :, 3:6, 3:6] = -0.5
        >>> key_masks(img)[0].sum().item()
        9.0
    """
    rgb = ((images.detach().float().cpu() + 1) / 2).permute(0, 2, 3, 1).numpy()
    tol = np.full(len(rgb), tolerance)
    if background is None:
        border = np.concatenate([rgb[:, :2].reshape(len(rgb), -1, 3), rgb[:, -2:].reshape(len(rgb), -1, 3),
                                 rgb[:, :, :2].reshape(len(rgb), -1, 3), rgb[:, :, -2:].reshape(len(rgb), -1, 3)], 1)
        bg = np.median(border, axis=1)[:, None, None, :]
        tol = tol + np.quantile(np.abs(border - bg[:, 0]).max(-1), 0.75, axis=1)
    else:
        bg = np.asarray(background, dtype=np.float32)
    dist = np.abs(rgb - bg).max(-1)
    out = np.zeros(dist.shape, dtype=np.float32)
    for i, d in enumerate(dist):
        t = float(tol[i])
        fg = d > t
        labels, n = ndimage.label(fg)
        if n == 0:
            continue
        h, w = d.shape
        center = labels[h // 4:3 * h // 4, w // 4:3 * w // 4]
        counts = np.bincount(center[center > 0], minlength=n + 1)
        keep = int(counts.argmax()) if counts.max() > 0 else int(np.bincount(labels[labels > 0]).argmax())
        region = ndimage.binary_fill_holes(labels == keep)
        out[i] = np.where(region, np.clip((d - t / 2) / t, 0, 1), 0)
        out[i][ndimage.binary_erosion(region)] = 1.0
    return torch.from_numpy(out)


def mask_iou(pred: torch.Tensor, true: torch.Tensor) -> float:
    """Mean IoU of `[B, H, W]` masks thresholded at 0.5."""
    p, t = pred > 0.5, true > 0.5
    inter = (p & t).flatten(1).sum(1).float()
    union = (p | t).flatten(1).sum(1).float().clamp(min=1)
    return float((inter / union).mean())
