"""From fragments to the `RenderOutput` buffers: nearest-surface depth and normals, supersampling.

Shared by `MeshRenderer` and every backend's render task, so a render through any backend has the
same depth/normal conventions (camera z and unit world normals of the nearest face covering the
pixel center, 0 on the background) and the same box filter when supersampled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch
from torch.nn import functional as F

from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.output import RenderOutput
from render3d.shading.attributes import fragment_normals
from render3d.structures import Meshes

#: A listed face whose boundary distance is below this (pixels) covers the pixel center. The reference
#: rasterizer accepts centers within its edge-function rounding allowance (watertight shared edges),
#: and reports such hits with `dists` of up to ~1e-4 px above 0; they must count as covered, or a
#: pixel would have alpha 1 but depth 0.
COVER_TOLERANCE_PX = 1e-3


def supersampled_cameras(cameras: Cameras, factor: int) -> Cameras:
    """The same cameras rendering `factor`× more pixels per axis over the same field of view.

    With pixel centers at +0.5, scaling fx, fy, cx, cy (and skew) by `factor` makes each
    original pixel `[u, u+1)` exactly the block of `factor²` new pixels `[s·u, s·u + s)`.

    Example:
        >>> from render3d.cameras import intrinsics_from_fov, look_at
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


def nearest_surface(meshes: Meshes, fragments: Fragments,
                    flat_normals: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Depth `[B, H, W]`, unit world normals `[B, H, W, 3]` and hit mask `[B, H, W]` of the nearest covering face.

    With a blur radius the fragment list also holds faces that only pass near the pixel (`dists`
    above `COVER_TOLERANCE_PX`); those do not define depth or normals. Depth and normals are 0
    where no face covers the pixel center.

    Example:
        >>> m = Meshes([torch.tensor([[0.0, 0, 2], [1, 0, 2], [0, 1, 2]])], [torch.tensor([[0, 1, 2]])])
        >>> bary = torch.full((1, 1, 1, 1, 3), 1 / 3)
        >>> frags = Fragments(torch.zeros(1, 1, 1, 1, dtype=torch.long), bary, torch.full((1, 1, 1, 1), 2.0))
        >>> depth, normals, hit = nearest_surface(m, frags, flat_normals=True)
        >>> depth.item(), normals[0, 0, 0].tolist(), hit.item()
        (2.0, [0.0, 0.0, 1.0], True)
    """
    covered = fragments.pix_to_face >= 0
    if fragments.dists is not None:
        covered = covered & (fragments.dists <= COVER_TOLERANCE_PX)
    hit = covered.any(-1)
    slot = covered.to(torch.uint8).argmax(-1)
    depth = torch.gather(fragments.zbuf, -1, slot[..., None])[..., 0]
    depth = torch.where(hit, depth, torch.zeros_like(depth))
    normals = fragment_normals(meshes, fragments, flat_normals)
    normals = torch.gather(normals, 3, slot[..., None, None].expand(*slot.shape, 1, 3))[..., 0, :]
    return depth, normals * hit[..., None].to(normals.dtype), hit


def _pool(x: torch.Tensor, s: int) -> torch.Tensor:
    return F.avg_pool2d(x.permute(0, 3, 1, 2), s).permute(0, 2, 3, 1)


def _masked_pool(values: torch.Tensor, mask: torch.Tensor, s: int) -> torch.Tensor:
    """Mean of `values: [B, H·s, W·s, C]` over the covered sub-pixels of each s×s block (0 where none)."""
    m = mask[..., None].to(values.dtype)
    num, den = _pool(values * m, s), _pool(m, s)
    return torch.where(den > 0, num / den.clamp(min=1e-12), torch.zeros_like(num))


def downsample_output(out: RenderOutput, s: int, hit: torch.Tensor | None = None) -> RenderOutput:
    """Box-filter a render made at s× the camera resolution down by s.

    rgb and alpha are averaged; depth and normals are averaged over the covered sub-pixels only
    (normals renormalized), so silhouettes do not mix with the 0 background. `fragments` stay at
    the supersampled size.

    Args:
        out: buffers `[B, s·H, s·W, ...]`.
        s: the factor (1 returns `out`).
        hit: `[B, s·H, s·W]` covered sub-pixels; default `out.depth > 0`.

    Example:
        >>> hi = RenderOutput(rgb=torch.ones(1, 2, 2, 3), alpha=torch.tensor([[[1.0, 0], [0, 0]]]),
        ...                   depth=torch.tensor([[[2.0, 0], [0, 0]]]))
        >>> lo = downsample_output(hi, 2)
        >>> lo.alpha.item(), lo.depth.item()
        (0.25, 2.0)
    """
    if s == 1:
        return out
    if hit is None:
        if out.depth is None:
            raise ShapeError("downsampling needs depth (or an explicit hit mask) to tell covered sub-pixels")
        hit = out.depth > 0
    depth = None if out.depth is None else _masked_pool(out.depth[..., None], hit, s)[..., 0]
    normals = None if out.normals is None else F.normalize(_masked_pool(out.normals, hit, s), dim=-1, eps=1e-12)
    return RenderOutput(rgb=_pool(out.rgb, s), alpha=_pool(out.alpha[..., None], s)[..., 0], depth=depth,
                        normals=normals, fragments=out.fragments)


def render_supersampled(render: Callable[[Cameras], RenderOutput], cameras: Cameras, s: int) -> RenderOutput:
    """`render(cameras)` made at s× the resolution and box-filtered down (`downsample_output`); s = 1 renders as is.

    For backends that draw whole images (no fragments): covered sub-pixels are those with depth > 0.
    """
    if s == 1:
        return render(cameras)
    return downsample_output(render(supersampled_cameras(cameras, s)), s)
