"""`SceneRender`: the buffers a scene render returns (what `scenes.outputs` writes and datasets store)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from render3d.cameras import Cameras


@dataclass(frozen=True)
class SceneRender:
    """The rendered buffers of N frames of H×W pixels.

    Attributes:
        rgb: `[N, H, W, 3]` composited over the background color (straight color when transparent).
        alpha: `[N, H, W]` coverage of all objects.
        depth: `[N, H, W]` camera z of the nearest surface, 0 on the background.
        normals: `[N, H, W, 3]` unit world normals of the nearest surface, 0 on the background.
        mask: `[N, H, W]` coverage of the objects with `in_mask`, as seen (occluders removed).
        instance: `[N, H, W]` long instance id of the visible object, 0 on the background and on
            objects outside the mask.
        albedo: `[N, H, W, 3]` unlit base color composited like `rgb`, or None when not requested.
        cameras: the N cameras.
        transparent: whether the background is transparent.
    """

    rgb: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor
    normals: torch.Tensor
    mask: torch.Tensor
    instance: torch.Tensor
    albedo: torch.Tensor | None
    cameras: Cameras
    transparent: bool
