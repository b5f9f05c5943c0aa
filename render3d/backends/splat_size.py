"""The pixel size of a point splat, for backends that draw every point as a fixed-size square."""

from __future__ import annotations

import torch

from render3d.cameras import Cameras


def splat_size(points: torch.Tensor, radius: torch.Tensor, cameras: Cameras, b: int) -> float:
    """Side in pixels of the squares standing in for `points: [N, 3]` (world radii `radius: [N]`) in camera b.

    The projected diameter `2 · radius · fx / z` of the mean radius at the median depth of the
    points in front of the camera, at least 1 pixel (so every point is drawn).

    Example:
        >>> cams = Cameras(torch.tensor([[[100.0, 0, 8], [0, 100, 8], [0, 0, 1]]]), torch.eye(3)[None],
        ...                torch.zeros(1, 3), 16, 16)
        >>> round(splat_size(torch.tensor([[0.0, 0, 2], [0, 0, 4]]), torch.full((2,), 0.03), cams, 0), 6)
        3.0
    """
    z = points.detach() @ cameras.R[b, 2].detach().to(points) + cameras.t[b, 2].detach().to(points)
    z = z[z > 0]
    if z.numel() == 0:
        return 1.0
    diameter = 2.0 * float(radius.detach().mean()) * float(cameras.K[b, 0, 0]) / float(z.median())
    return max(1.0, diameter)
