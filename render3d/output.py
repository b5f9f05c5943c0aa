"""What every renderer (mesh, point, any backend) returns, in the public convention."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from render3d.fragments import Fragments, PointFragments


@dataclass(frozen=True)
class RenderOutput:
    """Rendered buffers for B views of H×W pixels. A buffer a renderer cannot fill is None.

    Attributes:
        rgb: `[B, H, W, 3]` float in [0, 1], composited over the background.
        alpha: `[B, H, W]` coverage in [0, 1] (soft for soft/anti-aliased renders).
        depth: `[B, H, W]` camera z of the nearest surface; 0 where background.
        normals: `[B, H, W, 3]` unit world-space normals; 0 where background.
        fragments: the rasterizer output the buffers came from, when there was one.
    """

    rgb: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor | None = None
    normals: torch.Tensor | None = None
    fragments: Fragments | PointFragments | None = None
