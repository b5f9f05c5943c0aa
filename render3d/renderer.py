"""`MeshRenderer`: rasterize → shade → blend, with optional supersampling anti-aliasing."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn
from torch.nn import functional as F

from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.output import RenderOutput
from render3d.shading.attributes import fragment_normals
from render3d.shading.shader import Shader
from render3d.structures import Meshes


def supersampled_cameras(cameras: Cameras, factor: int) -> Cameras:
    """The same cameras rendering `factor`× more pixels per axis over the same field of view.

    With pixel centers at +0.5, scaling fx, fy, cx, cy (and skew) by `factor` makes each
    original pixel `[u, u+1)` exactly the block of `factor²` new pixels `[s·u, s·u + s)`.

    Example:
        >>> R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
        >>> cams = supersampled_cameras(Cameras(intrinsics_from_fov(60, 8, 8)[None], R, t, 8, 8), 2)
        >>> cams.image_size, cams.K[0, 0, 2].item()
        ((16, 16), 8.0)
    """
    if factor < 1:
        raise ShapeError(f"supersample factor must be >= 1, got {factor}")
    scale = torch.tensor([factor, factor, 1.0], dtype=cameras.K.dtype, device=cameras.K.device)
    return replace(cameras, K=cameras.K * scale[None, :, None], width=cameras.width * factor,
                   height=cameras.height * factor)


def _nearest_covering_slot(fragments: Fragments) -> tuple[torch.Tensor, torch.Tensor]:
    """`[B, H, W]` index of the nearest fragment whose face covers the pixel center, and `[B, H, W]` hit mask.

    With a blur radius the list also holds faces that only pass near the pixel; those do not
    define depth or normals.
    """
    covered = fragments.pix_to_face >= 0
    if fragments.dists is not None:
        covered = covered & (fragments.dists <= 0)
    hit = covered.any(-1)
    return covered.to(torch.uint8).argmax(-1), hit


def _masked_pool(values: torch.Tensor, mask: torch.Tensor, s: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of `values: [B, H·s, W·s, C]` over covered sub-pixels of each s×s block, and the block hit mask."""
    m = mask[..., None].to(values.dtype)
    num = F.avg_pool2d((values * m).permute(0, 3, 1, 2), s).permute(0, 2, 3, 1)
    den = F.avg_pool2d(m.permute(0, 3, 1, 2), s).permute(0, 2, 3, 1)
    hit = den > 0
    return torch.where(hit, num / den.clamp(min=1e-12), torch.zeros_like(num)), hit[..., 0]


class MeshRenderer(nn.Module):
    """Rasterizer + shader → `RenderOutput` (rgb, alpha, depth, world normals, fragments).

    Args:
        rasterizer: a module mapping `(meshes, cameras)` to `Fragments`, e.g.
            `render3d.raster.MeshRasterizer`.
        shader: a `Shader`; its normal mode (flat/smooth) also defines the normals buffer.
        supersample: s ≥ 1. With s > 1 the scene is rasterized and shaded at s× the camera
            resolution (K's fx, fy, cx, cy scaled by s) and rgb and alpha are average-pooled
            down; depth and normals are averaged over the covered sub-pixels only (normals
            renormalized), so silhouettes do not mix with the 0 background. Pixel-unit settings
            (blur radius, soft-blend sigma) then act at the supersampled resolution, and the
            returned `fragments` are at the supersampled size `[B, s·H, s·W, K]`.

    Raises:
        ShapeError: supersample < 1, or shader not a `Shader`.

    Example:
        >>> from render3d.raster import MeshRasterizer
        >>> renderer = MeshRenderer(MeshRasterizer(), Shader("unlit"), supersample=2)
        >>> renderer.supersample
        2
    """

    def __init__(self, rasterizer: nn.Module, shader: Shader, supersample: int = 1) -> None:
        super().__init__()
        if isinstance(supersample, bool) or not isinstance(supersample, int) or supersample < 1:
            raise ShapeError(f"supersample must be an int >= 1, got {supersample!r}")
        if not isinstance(shader, Shader):
            raise ShapeError(f"shader must be a Shader, got {type(shader).__name__}")
        self.rasterizer = rasterizer
        self.shader = shader
        self.supersample = supersample

    def forward(self, meshes: Meshes, cameras: Cameras) -> RenderOutput:
        """Render B meshes, mesh b seen by camera b.

        Args:
            meshes: B meshes.
            cameras: B cameras of H×W pixels.

        Returns:
            `RenderOutput` with rgb `[B, H, W, C]` (C = 3 unless an unlit shader reads wider
            vertex features), alpha, depth (camera z of the nearest covering face, 0 on the
            background), normals (unit world normals, 0 on the background) and fragments.

        Raises:
            ShapeError: batch sizes differ.
        """
        if len(cameras) != len(meshes):
            raise ShapeError(f"{len(cameras)} cameras for {len(meshes)} meshes")
        s = self.supersample
        cams = supersampled_cameras(cameras, s) if s > 1 else cameras
        fragments = self.rasterizer(meshes, cams)
        rgba = self.shader(fragments, meshes, cams)
        slot, hit = _nearest_covering_slot(fragments)
        depth = torch.gather(fragments.zbuf, -1, slot[..., None])[..., 0]
        depth = torch.where(hit, depth, torch.zeros_like(depth))
        normals = fragment_normals(meshes, fragments, self.shader.flat_normals)
        normals = torch.gather(normals, 3, slot[..., None, None].expand(*slot.shape, 1, 3))[..., 0, :]
        normals = normals * hit[..., None].to(normals.dtype)
        if s > 1:
            rgba = F.avg_pool2d(rgba.permute(0, 3, 1, 2), s).permute(0, 2, 3, 1)
            depth = _masked_pool(depth[..., None], hit, s)[0][..., 0]
            normals = F.normalize(_masked_pool(normals, hit, s)[0], dim=-1, eps=1e-12)
        return RenderOutput(rgb=rgba[..., :-1], alpha=rgba[..., -1], depth=depth, normals=normals,
                            fragments=fragments)
