"""Exact augmentations of multi-view samples: mirror flips and centred zooms, with their cameras.

A horizontal flip of every view is the mirror image of the object (x ↦ −x in its frame) seen by
mirrored cameras: yaw and roll change sign and the principal point mirrors. A zoom by z about the
image centre is the same camera with focal length z·f (and the principal point's offset from the
centre scaled by z); zooming out fills the new border with the view's background color.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def flip_views(images: torch.Tensor, masks: torch.Tensor, params: torch.Tensor, K: torch.Tensor,
               which: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mirror the samples where `which` is True.

    Args:
        images: `[B, V, H, W, 3]`.
        masks: `[B, V, H, W]`.
        params: `[B, V, 4]` orbit cameras (yaw°, pitch°, roll°, distance).
        K: `[B, V, 3, 3]`.
        which: `[B]` bool.

    Returns:
        the four, flipped where asked.
    """
    W = images.shape[3]
    sel = which[:, None, None, None]
    images = torch.where(sel[..., None], images.flip(3), images)
    masks = torch.where(sel, masks.flip(3), masks)
    sign = torch.where(which, -1.0, 1.0)[:, None].to(params)
    params = torch.stack([params[..., 0] * sign, params[..., 1], params[..., 2] * sign, params[..., 3]], -1)
    K = K.clone()
    K[:, :, 0, 2] = torch.where(which[:, None], W - K[:, :, 0, 2], K[:, :, 0, 2])
    return images, masks, params, K


def zoom(images: torch.Tensor, masks: torch.Tensor, K: torch.Tensor, background: torch.Tensor,
         factor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Zoom B views about their image centres by `factor` (> 1 magnifies).

    Args:
        images: `[B, H, W, 3]`.
        masks: `[B, H, W]`.
        K: `[B, 3, 3]`.
        background: `[B, 3]` fill color where a zoomed-out view has no pixels.
        factor: `[B]`.

    Returns:
        zoomed images, masks and their intrinsics.

    Example:
        >>> im, m, K2 = zoom(torch.rand(1, 8, 8, 3), torch.ones(1, 8, 8), torch.tensor([[[10.0, 0, 4], [0, 10, 4],
        ...                  [0, 0, 1]]]), torch.zeros(1, 3), torch.tensor([2.0]))
        >>> K2[0, 0, 0].item(), K2[0, 0, 2].item()
        (20.0, 4.0)
    """
    B, H, W, _ = images.shape
    theta = torch.zeros(B, 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / factor
    grid = F.affine_grid(theta, [B, 5, H, W], align_corners=False)
    stack = torch.cat([images.permute(0, 3, 1, 2), masks[:, None], torch.ones_like(masks[:, None])], 1)
    out = F.grid_sample(stack, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    inside = out[:, 4:5]
    rgb = out[:, :3] + (1 - inside) * background[:, :, None, None]
    K = K.clone()
    center = K.new_tensor([W / 2, H / 2])
    K[:, 0, 0] *= factor
    K[:, 1, 1] *= factor
    K[:, :2, 2] = center + (K[:, :2, 2] - center) * factor[:, None]
    return rgb.permute(0, 2, 3, 1), out[:, 3], K
