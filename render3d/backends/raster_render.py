"""The render tasks of a rasterizer backend: its own fragments through the reference shading stages.

`render_meshes` = rasterize (hard, one face per pixel) → `shade_fragments` → `hard_rgb_blend` →
nearest-surface depth and normals → optional supersampling box filter; `render_points` =
rasterize points → `points_image` (alpha compositing over the background). These are the same
stages `MeshRenderer(MeshRasterizer, Shader(shading, "hard"))` and `PointsRenderer` compose, so the
reference backend's render tasks equal those modules' output, and any rasterizer backend (pytorch3d,
nvdiffrast) renders like the reference wherever its fragments match the reference's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from render3d.blend import hard_rgb_blend
from render3d.buffers import downsample_output, nearest_surface, supersampled_cameras
from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.fragments import Fragments, PointFragments
from render3d.output import RenderOutput
from render3d.points.composite import alpha_composite
from render3d.points.image import points_image
from render3d.points.settings import PointsRasterSettings
from render3d.raster.settings import RasterSettings
from render3d.render_settings import RenderSettings
from render3d.shading.broadcast import as_batch_param
from render3d.shading.functional import shade_fragments
from render3d.shading.materials import Materials
from render3d.structures import Meshes, Pointclouds

if TYPE_CHECKING:
    from render3d.lights import Light

MeshRasterize = Callable[[Meshes, Cameras, RasterSettings], Fragments]
PointRasterize = Callable[[Pointclouds, Cameras, PointsRasterSettings], PointFragments]


def _background(settings: RenderSettings, device: torch.device) -> torch.Tensor:
    return torch.tensor(settings.background, dtype=torch.float32, device=device)


def render_meshes_by_rasterizing(rasterize: MeshRasterize, meshes: Meshes, cameras: Cameras, lights: Light | None,
                                 materials: Materials | None, settings: RenderSettings | None) -> RenderOutput:
    """`Task.RENDER_MESHES` of a backend whose `rasterize_meshes` is `rasterize` (see the module doc).

    Returns:
        `RenderOutput`: rgb `[B, H, W, 3]` over the background, alpha (coverage, fractional only
        when supersampled), depth, unit world normals, and the (supersampled) fragments.

    Raises:
        ShapeError: batch sizes differ; lit shading without lights.
    """
    settings = RenderSettings() if settings is None else settings
    materials = Materials() if materials is None else materials
    if len(cameras) != len(meshes):
        raise ShapeError(f"{len(cameras)} cameras for {len(meshes)} meshes")
    s = settings.supersample
    cams = supersampled_cameras(cameras, s) if s > 1 else cameras
    fragments = rasterize(meshes, cams, RasterSettings(cull_backfaces=settings.cull_backfaces, znear=settings.znear))
    base_color = as_batch_param(materials.base_color, 3, "base_color")
    colors = shade_fragments(fragments, meshes, cams, settings.shading, lights, materials, base_color)
    rgba = hard_rgb_blend(colors, fragments, _background(settings, colors.device))
    depth, normals, hit = nearest_surface(meshes, fragments, flat_normals=False)
    out = RenderOutput(rgb=rgba[..., :-1], alpha=rgba[..., -1], depth=depth, normals=normals, fragments=fragments)
    return downsample_output(out, s, hit)


def render_points_by_rasterizing(rasterize: PointRasterize, clouds: Pointclouds, cameras: Cameras,
                                  settings: RenderSettings | None, oriented: bool = True) -> RenderOutput:
    """`Task.RENDER_POINTS` of a backend whose `rasterize_points` is `rasterize` (see the module doc).

    Splats with `PointsRasterSettings.hole_free()`; `oriented=False` for a rasterizer whose disks can only
    face the camera (`Capabilities.oriented_points`).

    Returns:
        `RenderOutput` as `points_image` gives it (normals only when the clouds carry normals).

    Raises:
        ShapeError: features with 2 channels, or any error of the rasterizer.
    """
    settings = RenderSettings() if settings is None else settings
    s = settings.supersample
    cams = supersampled_cameras(cameras, s) if s > 1 else cameras
    fragments = rasterize(clouds, cams, PointsRasterSettings.hole_free(znear=settings.znear, oriented=oriented))
    out = points_image(fragments, clouds, alpha_composite, _background(settings, fragments.zbuf.device))
    return downsample_output(out, s, fragments.mask)
