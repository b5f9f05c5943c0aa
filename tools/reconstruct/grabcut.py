"""Segmentation of photos whose background is not plain: GrabCut (OpenCV) seeded by a box or by the centre.

GrabCut (Rother et al. 2004) fits colour models of object and background and cuts the image
graph between them; it needs a seed. With a box (`--box`) everything outside it is background.
Without one, the seed is a centre-weighted saliency guess: pixels whose colour differs from the
image border's colours, weighted by a Gaussian around the centre (people frame the object they
photograph), are "probably object"; a thin border ring is "surely background".
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from tools.errors import ToolError

# GrabCut's cost grows with the pixel count; it runs on a copy at most this long, then upsamples.
WORK_SIDE = 320


def _border_distance(x: np.ndarray, ring: int) -> np.ndarray:
    """Per-pixel colour distance to the nearest of a few border colour clusters, scaled to [0, 1]."""
    from tools.reconstruct.segment import border_colors

    centers = border_colors(x, ring)
    d = np.sqrt(np.min(((x[:, :, None] - centers[None, None]) ** 2).sum(-1), -1))
    return d / max(float(np.percentile(d, 99)), 1e-6)


def center_saliency(x: np.ndarray) -> np.ndarray:
    """`[H, W]` in [0, 1]: colour contrast to the border times a centred Gaussian (σ = 0.3 of each side)."""
    H, W = x.shape[:2]
    ring = max(2, min(H, W) // 40)
    yy, xx = np.mgrid[:H, :W]
    center = np.exp(-0.5 * (((yy + 0.5) / H - 0.5) / 0.3) ** 2 - 0.5 * (((xx + 0.5) / W - 0.5) / 0.3) ** 2)
    return np.clip(_border_distance(x, ring), 0, 1) * center


def grabcut(rgb: torch.Tensor, box: tuple[int, int, int, int] | None = None, iterations: int = 5) -> torch.Tensor:
    """Foreground mask of the object in a photo with any background.

    Args:
        rgb: `[H, W, 3]` float in [0, 1].
        box: optional (x0, y0, x1, y1) in pixels around the object; without it the centre saliency seeds the cut.
        iterations: GrabCut iterations.

    Returns:
        `[H, W]` float32 mask in {0, 1} (not yet reduced to one component).

    Raises:
        ToolError: a box outside the image or too small, or nothing segmented.

    Example:
        >>> img = torch.rand(64, 64, 3) * 0.2 + 0.4
        >>> img[16:48, 20:44] = torch.tensor([0.9, 0.1, 0.1])
        >>> m = grabcut(img, box=(12, 8, 52, 56))
        >>> int(m[16:48, 20:44].sum()) >= 0.95 * 32 * 24, int(m.sum()) < 1.1 * 32 * 24
        (True, True)
    """
    import cv2

    x = rgb.detach().cpu().numpy().astype(np.float32)
    H, W = x.shape[:2]
    s = min(1.0, WORK_SIDE / max(H, W))
    h, w = max(8, round(H * s)), max(8, round(W * s))
    small = cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA) if s < 1 else x
    img8 = np.ascontiguousarray((np.clip(small, 0, 1) * 255 + 0.5).astype(np.uint8)[..., ::-1])  # OpenCV is BGR
    labels = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    if box is not None:
        x0, y0, x1, y1 = box
        if not (0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H) or (x1 - x0) < 4 or (y1 - y0) < 4:
            raise ToolError(f"--box {box} must lie inside the {W}x{H} photo and be at least 4 pixels on each side")
        bx0, by0 = int(x0 * s), int(y0 * s)
        bx1, by1 = max(bx0 + 2, int(np.ceil(x1 * s))), max(by0 + 2, int(np.ceil(y1 * s)))
        labels[:] = cv2.GC_BGD
        labels[by0:by1, bx0:bx1] = cv2.GC_PR_FGD
    else:
        sal = center_saliency(small)
        labels[sal > 0.25] = cv2.GC_PR_FGD
        labels[sal > 0.6] = cv2.GC_FGD
        ring = max(2, min(h, w) // 40)
        labels[:ring], labels[-ring:], labels[:, :ring], labels[:, -ring:] = (cv2.GC_BGD,) * 4
        if not (labels == cv2.GC_PR_FGD).any() and not (labels == cv2.GC_FGD).any():
            raise ToolError("no object found: nothing near the image centre stands out from the border colours; "
                            "pass --box or --mask")
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    cv2.grabCut(img8, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    fg = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    fg = ndimage.binary_opening(fg, structure=np.ones((3, 3), bool))
    if s < 1:
        fg = cv2.resize(fg.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR) > 0.5
    if not fg.any():
        raise ToolError("no object found: GrabCut assigned every pixel to the background; pass --box or --mask")
    return torch.from_numpy(fg.astype(np.float32))
