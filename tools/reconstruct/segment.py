"""Reading the input photo and finding the object in it when no mask is given.

The plain-backdrop segmentation models the background from the image border: border colors are
clustered, every pixel is scored by its color distance to the nearest background cluster, the
score is thresholded just above the border's own spread, and the result is cleaned up to one
solid component. Photos whose border is not plain go to GrabCut (`tools.reconstruct.grabcut`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from tools.errors import ToolError

# Smallest and largest fraction of the frame an object may cover before we call it "not found".
MIN_COVERAGE = 0.002
MAX_COVERAGE = 0.95


def load_image(path: str | os.PathLike) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Read a PNG/JPEG (RGB, RGBA, grayscale, palette) as float RGB and its alpha when it has one.

    Args:
        path: image file.

    Returns:
        `rgb: [H, W, 3]` float32 in [0, 1] and `alpha: [H, W]` float32 in [0, 1], or None when the
        image has no alpha channel or the alpha is fully opaque (then it carries no mask).

    Raises:
        ToolError: missing or unreadable file.

    Example:
        >>> rgb, alpha = load_image("scenes/examples/photos/mug.png")  # doctest: +SKIP
    """
    from render3d.errors import ImageIOError
    from render3d.io.images import read_image

    path = Path(path)
    try:
        im = read_image(path)  # refuses decompression bombs before decoding
    except ImageIOError as e:
        raise ToolError(str(e)) from e
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    rgba = np.asarray(im.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32) / 255.0
    if rgba.ndim != 3 or rgba.shape[0] < 8 or rgba.shape[1] < 8:
        raise ToolError(f"{path}: image of {rgba.shape[1]}x{rgba.shape[0]} pixels is too small (need at least 8x8)")
    rgb = torch.from_numpy(np.ascontiguousarray(rgba[..., :3]))
    alpha = None
    if has_alpha and rgba[..., 3].min() < 250 / 255:
        alpha = torch.from_numpy(np.ascontiguousarray(rgba[..., 3]))
    return rgb, alpha


def load_mask(path: str | os.PathLike, size: tuple[int, int]) -> torch.Tensor:
    """Read a mask image (any mode; alpha if present, else luminance) as `[H, W]` float in [0, 1].

    Args:
        path: mask file.
        size: expected (H, W), the photo's size.

    Raises:
        ToolError: unreadable file or a size different from the photo's.
    """
    rgb, alpha = load_image(path)
    mask = alpha if alpha is not None else rgb.mean(-1)
    if tuple(mask.shape) != tuple(size):
        raise ToolError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]} but the photo is {size[1]}x{size[0]}")
    return mask


def _kmeans(x: np.ndarray, k: int, iters: int = 10) -> np.ndarray:
    """Deterministic k-means (farthest-point seeding from the median) of `x: [N, 3]` → `[k', 3]` centers."""
    centers = [np.median(x, 0)]
    for _ in range(k - 1):
        d = np.min(np.stack([((x - c) ** 2).sum(1) for c in centers]), 0)
        if d.max() < 1e-4:
            break
        centers.append(x[int(d.argmax())])
    c = np.stack(centers)
    for _ in range(iters):
        label = ((x[:, None] - c[None]) ** 2).sum(-1).argmin(1)
        c = np.stack([x[label == j].mean(0) if (label == j).any() else c[j] for j in range(len(c))])
    return c


def largest_component(mask: np.ndarray, min_hole: float = 0.02) -> tuple[np.ndarray, int]:
    """The largest connected component of a boolean mask, holes under `min_hole` of its area filled.

    Larger holes stay: where the background shows through the object (a mug's handle) the
    surface has a hole too.

    Returns:
        `(mask, number of components)`; components under 1% of the largest one are not counted.
    """
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask, 0
    sizes = ndimage.sum(mask, labels, index=np.arange(1, n + 1))
    keep = labels == 1 + int(np.argmax(sizes))
    holes, nh = ndimage.label(ndimage.binary_fill_holes(keep) & ~keep)
    if nh:
        hsize = ndimage.sum(np.ones_like(keep), holes, index=np.arange(1, nh + 1))
        keep |= np.isin(holes, 1 + np.nonzero(hsize < min_hole * keep.sum())[0])
    return keep, int((sizes >= 0.01 * sizes.max()).sum())


def border_colors(x: np.ndarray, ring: int) -> np.ndarray:
    """`[k, 3]` cluster centres (k <= 3) of the colours in the `ring`-pixel frame of `x: [H, W, 3]`."""
    frame = np.concatenate([x[:ring].reshape(-1, 3), x[-ring:].reshape(-1, 3), x[:, :ring].reshape(-1, 3),
                            x[:, -ring:].reshape(-1, 3)])
    return _kmeans(frame, 3)


def plain_background(rgb: torch.Tensor, spread: float = 0.08) -> bool:
    """Whether the photo's border is nearly uniform in colour (a backdrop), so `segment_foreground` applies."""
    x = rgb.detach().cpu().numpy().astype(np.float32)
    b = max(1, min(x.shape[:2]) // 32)
    frame = np.concatenate([x[:b].reshape(-1, 3), x[-b:].reshape(-1, 3), x[:, :b].reshape(-1, 3),
                            x[:, -b:].reshape(-1, 3)])
    c = border_colors(x, b)
    d = np.sqrt(np.min(((frame[:, None] - c[None]) ** 2).sum(-1), -1))
    return float(np.percentile(d, 95)) < spread


def segment_foreground(rgb: torch.Tensor, border: int | None = None) -> torch.Tensor:
    """Foreground mask of a photo of one object on a plain background.

    The largest region is kept; holes in it smaller than 2% of its area are filled, and so are
    larger ones whose colour is not the backdrop's; the others (the backdrop seen through a
    handle) stay.

    Args:
        rgb: `[H, W, 3]` float in [0, 1].
        border: width in pixels of the frame sampled as background (default: 1/32 of the short side).

    Returns:
        `[H, W]` float32 mask in {0, 1}.

    Raises:
        ToolError: no object stands out from the background, or it covers nearly the whole frame.

    Example:
        >>> img = torch.ones(64, 64, 3); img[20:40, 24:44] = torch.tensor([0.8, 0.2, 0.1])
        >>> int(segment_foreground(img).sum())
        400
    """
    x = rgb.detach().cpu().numpy().astype(np.float32)
    H, W = x.shape[:2]
    b = border or max(1, min(H, W) // 32)
    ring = np.concatenate([x[:b].reshape(-1, 3), x[-b:].reshape(-1, 3), x[:, :b].reshape(-1, 3),
                           x[:, -b:].reshape(-1, 3)])
    centers = border_colors(x, b)
    dist = np.sqrt(np.min(((x[:, :, None] - centers[None, None]) ** 2).sum(-1), -1))
    ring_dist = np.sqrt(np.min(((ring[:, None] - centers[None]) ** 2).sum(-1), -1))
    # Above the border's own spread (noise, JPEG, vignetting) a pixel is not background. A plain
    # threshold, not a histogram split: objects with parts close to the backdrop color must stay whole.
    thresh = max(0.06, 3.0 * float(np.percentile(ring_dist, 99)))
    if dist.max() <= thresh:
        raise ToolError("no object found: every pixel matches the background color sampled at the image border")
    fg = dist > thresh
    # A square element: a cross would also shave the corners off square objects.
    fg = ndimage.binary_opening(fg, structure=np.ones((3, 3), bool), iterations=max(1, min(H, W) // 128))
    fg = largest_component(fg)[0]
    # A hole is the backdrop seen through the object only if it looks like the backdrop; a pale
    # patch of the object that merely fell under the threshold is filled back in.
    holes, nh = ndimage.label(ndimage.binary_fill_holes(fg) & ~fg)
    for k in range(1, nh + 1):
        if np.median(dist[holes == k]) > 2.0 * max(float(np.median(ring_dist)), 0.01):
            fg |= holes == k
    coverage = float(fg.mean())
    if coverage < MIN_COVERAGE:
        raise ToolError(f"no object found: the largest region differing from the background covers only "
                        f"{coverage:.2%} of the image")
    if coverage > MAX_COVERAGE:
        raise ToolError(f"no object found: {coverage:.0%} of the image differs from its border; "
                        "give a photo on a plain background or pass --mask")
    return torch.from_numpy(fg.astype(np.float32))


def check_mask(mask: torch.Tensor) -> torch.Tensor:
    """Binarize a given mask/alpha (> 0.5) and check it holds an object.

    Raises:
        ToolError: the mask is (nearly) empty or covers the whole frame.
    """
    m = (mask > 0.5).float()
    coverage = float(m.mean())
    if coverage < MIN_COVERAGE:
        raise ToolError(f"no object found: the mask covers only {coverage:.2%} of the image")
    if coverage > MAX_COVERAGE:
        raise ToolError(f"no object found: the mask covers {coverage:.0%} of the image (the object must fit in frame)")
    return m
