"""A default look for point clouds without colors: light gray, shaded by a fixed key light.

White points on the usual white background are invisible; flat gray ones show only a silhouette.
Shading by the normals (`|n · l|`, two-sided, since estimated normals may point either way) shows
the shape. The light is fixed in the world (from the upper left, toward -z), so every orbit view sees
one consistently lit object.
"""

from __future__ import annotations

import torch

from render3d.structures import Pointclouds

# World direction the key light shines along (right-handed, +Y up): down, right and away from +Z.
KEY_LIGHT = (0.4, -0.8, -0.45)
ALBEDO = 0.8
AMBIENT = 0.3


def default_point_colors(points: torch.Tensor, normals: torch.Tensor | None) -> torch.Tensor:
    """`[N, 3]` gray colors in [0, 1]: `ALBEDO · (AMBIENT + (1 - AMBIENT) · |n · l|)`, flat mid-gray without normals.

    Args:
        points: `[N, 3]` positions (only their count, dtype and device are used).
        normals: `[N, 3]` normals (any length; zero where unknown) or None.

    Example:
        >>> default_point_colors(torch.zeros(1, 3), torch.tensor([[0.0, 0, 1]]))[0, 0].item() < 0.8
        True
    """
    if normals is None:
        return torch.full_like(points, ALBEDO * (AMBIENT + (1 - AMBIENT) * 0.5))
    light = torch.tensor(KEY_LIGHT, dtype=normals.dtype, device=normals.device)
    light = light / light.norm()
    length = normals.norm(dim=1, keepdim=True)
    # zero normals (no plane through the point's neighbours) get the flat half-lit value
    lit = torch.where(length[:, 0] > 0, (normals / length.clamp(min=1e-12) * light).sum(1).abs(), 0.5)
    return (ALBEDO * (AMBIENT + (1 - AMBIENT) * lit))[:, None].expand(-1, 3).to(points.dtype).contiguous()


def with_default_colors(clouds: Pointclouds) -> Pointclouds:
    """`clouds` unchanged when they carry features, else with `default_point_colors` as their features.

    Example:
        >>> pc = with_default_colors(Pointclouds(torch.zeros(1, 2, 3), normals=torch.tensor([[[0.0, 1, 0]] * 2])))
        >>> pc.features_packed().shape, bool((pc.features_packed() < 1).all())
        (torch.Size([2, 3]), True)
    """
    if clouds.features_list() is not None:
        return clouds
    normals = clouds.normals_list()
    return clouds.with_features([default_point_colors(p, None if normals is None else normals[i])
                                 for i, p in enumerate(clouds.points_list())])
