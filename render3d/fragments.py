"""What rasterizers return: per-pixel lists of the K nearest faces (meshes) or points (clouds).

A field a backend cannot fill is `None` (declared in its capabilities), never missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Fragments:
    """Mesh rasterization output for B images of H×W pixels, K faces per pixel sorted near → far.

    Attributes:
        pix_to_face: `[B, H, W, K]` long, index into the packed faces; -1 where empty.
        bary: `[B, H, W, K, 3]` barycentric coordinates of the pixel center in the face
            (perspective-correct unless disabled); 0 where empty.
        zbuf: `[B, H, W, K]` camera-space depth z; -1 where empty.
        dists: `[B, H, W, K]` signed distance from the pixel center to the face's nearest edge in
            pixels, negative inside the triangle; None when the backend does not compute it.
    """

    pix_to_face: torch.Tensor
    bary: torch.Tensor
    zbuf: torch.Tensor
    dists: torch.Tensor | None = None

    @property
    def mask(self) -> torch.Tensor:
        """`[B, H, W]` bool: pixels covered by at least one face (the nearest slot is filled)."""
        return self.pix_to_face[..., 0] >= 0


@dataclass(frozen=True)
class PointFragments:
    """Point rasterization output: K nearest points per pixel sorted near → far.

    Attributes:
        idx: `[B, H, W, K]` long, index into the packed points; -1 where empty.
        zbuf: `[B, H, W, K]` camera-space depth of each point; -1 where empty.
        dists: `[B, H, W, K]` squared distance from the pixel center to the projected point
            center divided by the squared projected radius (in [0, 1) for hits); -1 where empty.
    """

    idx: torch.Tensor
    zbuf: torch.Tensor
    dists: torch.Tensor

    @property
    def mask(self) -> torch.Tensor:
        """`[B, H, W]` bool: pixels covered by at least one point."""
        return self.idx[..., 0] >= 0
