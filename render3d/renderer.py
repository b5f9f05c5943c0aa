"""`MeshRenderer`: rasterize → shade → blend, with optional supersampling anti-aliasing."""

from __future__ import annotations

from torch import nn

from render3d.buffers import downsample_output, nearest_surface, supersampled_cameras
from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.output import RenderOutput
from render3d.shading.shader import Shader
from render3d.structures import Meshes

__all__ = ["MeshRenderer", "supersampled_cameras"]


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
        >>> import torch
        >>> from render3d import Cameras, Meshes, intrinsics_from_fov, look_at
        >>> from render3d.raster import MeshRasterizer
        >>> renderer = MeshRenderer(MeshRasterizer(), Shader("unlit"), supersample=2)
        >>> R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
        >>> cams = Cameras(intrinsics_from_fov(60, 16, 16)[None], R, t, 16, 16)
        >>> tri = Meshes([torch.tensor([[-1.0, -1, 0], [1, -1, 0], [0, 1, 0]])], [torch.tensor([[0, 1, 2]])])
        >>> out = renderer(tri, cams)
        >>> out.rgb.shape, out.alpha[0, 8, 8].item(), round(out.depth[0, 8, 8].item(), 4), out.alpha[0, 0, 0].item()
        (torch.Size([1, 16, 16, 3]), 1.0, 3.0, 0.0)
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
        depth, normals, hit = nearest_surface(meshes, fragments, self.shader.flat_normals)
        out = RenderOutput(rgb=rgba[..., :-1], alpha=rgba[..., -1], depth=depth, normals=normals, fragments=fragments)
        return downsample_output(out, s, hit)
