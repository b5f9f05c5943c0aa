"""Point fragments → `RenderOutput`: cloud colors (and normals) composited over a background.

The functional twin of `PointsRenderer`, shared with every backend's `render_points` built on a
point rasterizer, so all of them color, blend and fill depth the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from render3d.errors import ShapeError
from render3d.fragments import PointFragments
from render3d.output import RenderOutput
from render3d.structures import Pointclouds

Compositor = Callable[[PointFragments, torch.Tensor], torch.Tensor]


def point_colors(clouds: Pointclouds) -> torch.Tensor:
    """`[P, 3]` packed RGB: the first 3 feature channels, gray for 1 channel, white without features.

    Raises:
        ShapeError: features with 2 channels.

    Example:
        >>> point_colors(Pointclouds(torch.zeros(1, 2, 3), features=torch.full((1, 2, 1), 0.5))).tolist()
        [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]
    """
    feats = clouds.features_packed()
    if feats is None:
        return torch.ones_like(clouds.points_packed())
    if feats.shape[1] == 1:
        return feats.expand(-1, 3)
    if feats.shape[1] >= 3:
        return feats[:, :3]
    raise ShapeError(f"point features need 1 (gray) or >= 3 (RGB first) channels, got {feats.shape[1]}")


def points_image(fragments: PointFragments, clouds: Pointclouds, composite: Compositor,
                 background: torch.Tensor) -> RenderOutput:
    """Composite the clouds' colors (and normals) through `fragments` and put them over `background`.

    Args:
        fragments: the clouds rasterized, `[B, H, W, K]`.
        clouds: the B clouds.
        composite: `render3d.points.alpha_composite` or `norm_weighted_composite` (or a twin).
        background: `[3]` RGB.

    Returns:
        `RenderOutput` with rgb `[B, H, W, 3]`, alpha `[B, H, W]`, depth `[B, H, W]` (z of the
        nearest point, 0 on background), unit world normals `[B, H, W, 3]` blended like the colors
        (None when the clouds have none; 0 on background) and the fragments.

    Raises:
        ShapeError: features with 2 channels.
    """
    colors = point_colors(clouds)
    normals = clouds.normals_packed()
    attrs = colors if normals is None else torch.cat([colors, normals.to(colors)], dim=1)
    out = composite(fragments, attrs)
    alpha = out[..., -1]
    rgb = out[..., :3] + (1.0 - alpha.unsqueeze(-1)) * background.to(out)
    mask = fragments.mask
    depth = torch.where(mask, fragments.zbuf[..., 0], torch.zeros((), dtype=fragments.zbuf.dtype, device=mask.device))
    blended = None
    if normals is not None:
        n = out[..., 3:6]
        norm = n.norm(dim=-1, keepdim=True)
        blended = torch.where(norm > 1e-8, n / norm.clamp(min=1e-8), torch.zeros_like(n))
    return RenderOutput(rgb=rgb, alpha=alpha, depth=depth, normals=blended, fragments=fragments)
