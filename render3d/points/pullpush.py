"""Pull-push hole filling of a splatted image (Grossman & Dally 1998; depth-aware as Marroquim et al. 2007).

The classic image-space point renderer: a z-buffered splat leaves holes between points and, where the
cloud is sparse, lets farther points show through them. Pull builds a pyramid in which every 2×2 block
keeps only its front-most children (within `depth_tol` of the nearest depth) and averages them,
weights summed and clamped to 1. Push goes back down: a fine pixel whose point lies behind the
coarser front surface is dropped (an occluded point seen through a hole), and every pixel is blended
with the (bilinearly upsampled) coarser level in proportion to what it lacks, `c ← w·c + (1 − w)·c↑`.
Filling uses `levels` pyramid levels. Pushed weights would spread coverage past the silhouette by
`2**levels` pixels, so the coverage is instead the morphological closing of the splat mask (occluded
points removed) with a square of side `2**levels - 1`: holes smaller than that close, the outline stays.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from render3d.errors import ShapeError

_EPS = 1e-8


def auto_levels(radius_px: torch.Tensor, mask: torch.Tensor) -> int:
    """Levels for splats of screen radius `radius_px` (median over covered pixels): holes span about a radius."""
    r = float(radius_px[mask].median()) if bool(mask.any()) else 1.0
    return int(min(8, max(1, math.ceil(math.log2(max(2.0, r))) + 1)))


def _pull(c: torch.Tensor, w: torch.Tensor, z: torch.Tensor, tol: float) -> tuple[torch.Tensor, ...]:
    """One pyramid level up: `c [B, C, H, W]`, `w`, `z` `[B, 1, H, W]` → half resolution."""
    valid = w > 0
    far = torch.where(valid, -z, torch.full_like(z, -math.inf))
    z_min = -F.max_pool2d(far, 2)
    keep = valid & (z <= F.interpolate(z_min, scale_factor=2, mode="nearest") * (1 + tol))
    kw = w * keep
    sw = F.avg_pool2d(kw, 2) * 4
    c_next = F.avg_pool2d(kw * c, 2) * 4 / sw.clamp(min=_EPS)
    z_next = F.avg_pool2d(kw * z, 2) * 4 / sw.clamp(min=_EPS)
    return c_next, sw.clamp(max=1.0), z_next * (sw > 0)


def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def pull_push(color: torch.Tensor, weight: torch.Tensor, depth: torch.Tensor | None = None, levels: int = 3,
              depth_tol: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """Fill the holes of a splatted image.

    Args:
        color: `[B, H, W, C]` splatted color (anything where `weight` is 0).
        weight: `[B, H, W]` splat weight in [0, 1] (coverage; 0 = hole).
        depth: optional `[B, H, W]` camera z of the splat (> 0 where covered); enables the occlusion test.
        levels: pyramid levels used for filling (>= 1).
        depth_tol: relative depth band that counts as one surface.

    Returns:
        `[B, H, W, C]` filled color (straight, not premultiplied) and `[B, H, W]` coverage in {0, 1}.

    Raises:
        ShapeError: mismatched shapes or `levels < 1`.

    Example:
        >>> c = torch.zeros(1, 4, 4, 1); w = torch.ones(1, 4, 4); w[0, 1, 1] = 0; c[..., 0] = 0.5
        >>> filled, cov = pull_push(c, w, levels=2)
        >>> round(filled[0, 1, 1, 0].item(), 3), round(cov[0, 1, 1].item(), 3)
        (0.5, 1.0)
    """
    if color.dim() != 4 or weight.shape != color.shape[:3]:
        raise ShapeError(f"color must be [B, H, W, C] and weight [B, H, W], got {list(color.shape)}, "
                         f"{list(weight.shape)}")
    if depth is not None and depth.shape != weight.shape:
        raise ShapeError(f"depth must be [B, H, W] like weight, got {list(depth.shape)}")
    if levels < 1:
        raise ShapeError(f"levels must be >= 1, got {levels}")
    H, W = color.shape[1:3]
    m = 2**levels
    pad = (0, -W % m, 0, -H % m)
    c = F.pad(color.permute(0, 3, 1, 2), pad)
    w = F.pad(weight.clamp(0, 1)[:, None].to(c), pad)
    z = F.pad((depth if depth is not None else weight.new_ones(weight.shape))[:, None].to(c), pad) * (w > 0)
    tol = depth_tol if depth is not None else math.inf
    pyramid = [(c, w, z)]
    for _ in range(levels):
        pyramid.append(_pull(*pyramid[-1], tol))
    c_up, w_up, z_up = pyramid[-1]
    seen = w
    for c_l, w_l, z_l in reversed(pyramid[:-1]):
        size = c_l.shape[-2:]
        uw = _up(w_up, size)
        uc = _up(c_up * w_up, size) / uw.clamp(min=_EPS)
        uz = _up(z_up * w_up, size) / uw.clamp(min=_EPS)
        hidden = (w_l > 0) & (z_l > uz * (1 + tol)) & (uw > 0.5)
        w_l = torch.where(hidden, torch.zeros_like(w_l), w_l)
        if w_l.shape == seen.shape:
            seen = w_l
        c_up = w_l * c_l + (1 - w_l) * uc
        w_new = w_l + (1 - w_l) * uw
        z_up = (w_l * z_l + (1 - w_l) * uw * uz) / w_new.clamp(min=_EPS)
        w_up = w_new
    k = 2**levels - 1
    # zero margin so that the closing cannot grow coverage along the image border
    mask = F.pad((seen[:, :, :H, :W] > 0).to(c), (k, k, k, k))
    closed = -F.max_pool2d(-F.max_pool2d(mask, k, 1, k // 2), k, 1, k // 2)
    return c_up[:, :, :H, :W].permute(0, 2, 3, 1), closed[:, 0, k:k + H, k:k + W]
