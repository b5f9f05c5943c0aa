"""UV texture sampling: bilinear, trilinear over a mip pyramid, or supersampled over the pixel footprint.

UV convention (OBJ): origin at the texture's bottom-left, v grows upward; texture images are
stored `[Ht, Wt, C]` with row 0 at the top. So `(u, v)` lands on texel column `u·Wt - 0.5` and
row `(1 - v)·Ht - 0.5` (texel centers at +0.5). Everything is differentiable with respect to the
texture and the UVs; the mip level itself is a discrete choice and carries no gradient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.interpolate import interpolate
from render3d.structures import Meshes

WrapMode = Literal["repeat", "clamp"]
FilterMode = Literal["bilinear", "trilinear", "supersample"]


def _check_texture(texture: torch.Tensor) -> None:
    if texture.dim() != 3 or texture.shape[0] < 1 or texture.shape[1] < 1:
        raise ShapeError(f"texture must be [Ht, Wt, C], got {list(texture.shape)}")


class MipmapTexture:
    """A texture and its mip pyramid (box-filtered halvings down to 1×1), built once and reused.

    The pyramid keeps the autograd graph to `texture`, so gradients reach the texture through
    every level; rebuild it after the texture changes (it costs about one pass over the texels).

    Args:
        texture: `[Ht, Wt, C]` image, row 0 at the top.
        max_levels: cap on the number of levels (None: down to 1×1).

    Raises:
        ShapeError: not a `[Ht, Wt, C]` tensor, or `max_levels < 1`.

    Example:
        >>> mip = MipmapTexture(torch.rand(8, 4, 3))
        >>> [tuple(t.shape[:2]) for t in mip.levels]
        [(8, 4), (4, 2), (2, 1), (1, 1)]
    """

    def __init__(self, texture: torch.Tensor, max_levels: int | None = None) -> None:
        _check_texture(texture)
        if max_levels is not None and max_levels < 1:
            raise ShapeError(f"max_levels must be >= 1, got {max_levels}")
        levels = [texture]
        while levels[-1].shape[0] > 1 or levels[-1].shape[1] > 1:
            if max_levels is not None and len(levels) >= max_levels:
                break
            h, w = levels[-1].shape[:2]
            chw = levels[-1].permute(2, 0, 1)[None]
            # "area" is an exact box filter for even sizes and a proportional one for odd sizes.
            down = F.interpolate(chw, size=(max(1, h // 2), max(1, w // 2)), mode="area")
            levels.append(down[0].permute(1, 2, 0))
        self.levels: list[torch.Tensor] = levels

    @property
    def num_levels(self) -> int:
        return len(self.levels)

    @property
    def base(self) -> torch.Tensor:
        """`[Ht, Wt, C]` level 0."""
        return self.levels[0]


def _bilinear(uv: torch.Tensor, texture: torch.Tensor, wrap: WrapMode) -> torch.Tensor:
    """`uv: [N, 2]` → `[N, C]` bilinear samples of `texture: [Ht, Wt, C]`."""
    Ht, Wt, C = texture.shape
    x = uv[:, 0] * Wt - 0.5
    y = (1.0 - uv[:, 1]) * Ht - 0.5
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    x0, y0 = x0.long(), y0.long()
    if wrap == "repeat":
        xs = (torch.remainder(x0, Wt), torch.remainder(x0 + 1, Wt))
        ys = (torch.remainder(y0, Ht), torch.remainder(y0 + 1, Ht))
    else:
        xs = (x0.clamp(0, Wt - 1), (x0 + 1).clamp(0, Wt - 1))
        ys = (y0.clamp(0, Ht - 1), (y0 + 1).clamp(0, Ht - 1))
    flat = texture.reshape(-1, C)
    top = flat[ys[0] * Wt + xs[0]] * (1 - fx) + flat[ys[0] * Wt + xs[1]] * fx
    bottom = flat[ys[1] * Wt + xs[0]] * (1 - fx) + flat[ys[1] * Wt + xs[1]] * fx
    return top * (1 - fy) + bottom * fy


def mip_level(uv_grad: torch.Tensor, size: tuple[int, int], num_levels: int) -> torch.Tensor:
    """Continuous mip level from screen-space UV derivatives.

    Args:
        uv_grad: `[..., 2, 2]` with `uv_grad[..., 0, :] = d(u, v)/dx` and `[..., 1, :] = d(u, v)/dy`
            per pixel.
        size: `(Ht, Wt)` of level 0.
        num_levels: levels in the pyramid.

    Returns:
        `[...]` level `log2` of the larger footprint axis in level-0 texels, clamped to
        `[0, num_levels - 1]`, without gradient.

    Example:
        >>> mip_level(torch.eye(2)[None] * 4 / 64, (64, 64), 7).tolist()  # 4 texels per pixel
        [2.0]
    """
    scale = uv_grad.new_tensor([size[1], size[0]])
    footprint = (uv_grad.detach() * scale).norm(dim=-1).amax(-1)
    return torch.log2(footprint.clamp(min=1.0)).clamp(max=num_levels - 1)


def sample_texture(
    uv: torch.Tensor,
    texture: torch.Tensor | MipmapTexture,
    mode: FilterMode = "bilinear",
    wrap: WrapMode = "repeat",
    uv_grad: torch.Tensor | None = None,
    samples_per_axis: int = 2,
) -> torch.Tensor:
    """Sample a texture at UV coordinates.

    Modes: "bilinear" reads level 0; "trilinear" picks a level from `uv_grad` (see `mip_level`)
    and blends bilinear reads of the two nearest levels; "supersample" averages
    `samples_per_axis²` bilinear level-0 reads spread over the pixel footprint
    `uv + a·du/dx + b·du/dy`, `a, b ∈ (-½, ½)`.

    Args:
        uv: `[..., 2]` coordinates, origin bottom-left, v up.
        texture: `[Ht, Wt, C]` image (row 0 at the top) or a prebuilt `MipmapTexture`
            (a plain tensor is turned into one when trilinear needs it).
        mode: "bilinear", "trilinear" or "supersample".
        wrap: "repeat" (tile) or "clamp" (edge texels extend outward).
        uv_grad: `[..., 2, 2]` screen-space derivatives (see `uv_screen_derivatives`);
            required by "trilinear" and "supersample".
        samples_per_axis: supersampling grid size.

    Returns:
        `[..., C]` samples.

    Raises:
        ShapeError: bad shapes, missing `uv_grad`, unknown mode or wrap.

    Example:
        >>> tex = torch.tensor([[[1.0], [2.0]], [[3.0], [4.0]]])  # row 0 (top) = 1, 2
        >>> sample_texture(torch.tensor([[0.25, 0.75], [0.25, 0.25]]), tex)[:, 0].tolist()
        [1.0, 3.0]
    """
    if uv.shape[-1] != 2:
        raise ShapeError(f"uv must be [..., 2], got {list(uv.shape)}")
    if wrap not in ("repeat", "clamp"):
        raise ShapeError(f"wrap must be 'repeat' or 'clamp', got {wrap!r}")
    if mode not in ("bilinear", "trilinear", "supersample"):
        raise ShapeError(f"mode must be 'bilinear', 'trilinear' or 'supersample', got {mode!r}")
    if isinstance(texture, torch.Tensor):
        _check_texture(texture)
    base = texture.base if isinstance(texture, MipmapTexture) else texture
    lead = uv.shape[:-1]
    flat_uv = uv.reshape(-1, 2).to(base.dtype)
    if mode == "bilinear":
        return _bilinear(flat_uv, base, wrap).reshape(*lead, base.shape[-1])
    if uv_grad is None or uv_grad.shape != (*lead, 2, 2):
        got = None if uv_grad is None else list(uv_grad.shape)
        raise ShapeError(f"mode {mode!r} needs uv_grad of shape {[*lead, 2, 2]}, got {got}")
    grad = uv_grad.reshape(-1, 2, 2).to(base.dtype)
    if mode == "supersample":
        if samples_per_axis < 1:
            raise ShapeError(f"samples_per_axis must be >= 1, got {samples_per_axis}")
        offs = (torch.arange(samples_per_axis, dtype=base.dtype, device=base.device) + 0.5) / samples_per_axis - 0.5
        acc = 0.0
        for a in offs:
            for b in offs:
                acc = acc + _bilinear(flat_uv + a * grad[:, 0] + b * grad[:, 1], base, wrap)
        return (acc / samples_per_axis**2).reshape(*lead, base.shape[-1])
    mip = texture if isinstance(texture, MipmapTexture) else MipmapTexture(texture)
    lod = mip_level(grad, tuple(base.shape[:2]), mip.num_levels)
    lo = torch.floor(lod).long()
    frac = (lod - lo.to(lod.dtype))[:, None]
    out = flat_uv.new_zeros(flat_uv.shape[0], base.shape[-1])
    for level, tex in enumerate(mip.levels):
        for which, weight in ((lo == level, 1 - frac), (lo + 1 == level, frac)):
            idx = torch.nonzero(which).squeeze(1)
            if idx.numel():
                out = out.index_add(0, idx, weight[idx] * _bilinear(flat_uv[idx], tex, wrap))
    return out.reshape(*lead, base.shape[-1])


def uv_screen_derivatives(uv: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Screen-space UV derivatives by finite differences between neighboring pixels.

    Per axis, the forward and backward differences to covered neighbors are compared and the
    smaller one is kept: at a silhouette or a UV seam one side jumps and the other does not,
    so this avoids blurring seams. Pixels with no covered neighbor along an axis get 0 there.

    Args:
        uv: `[B, H, W, K, 2]` UV of each fragment.
        valid: `[B, H, W, K]` bool, fragment is covered.

    Returns:
        `[B, H, W, K, 2, 2]`: `[..., 0, :]` = d(u, v)/dx (along columns), `[..., 1, :]` = d/dy.

    Raises:
        ShapeError: shapes do not match.

    Example:
        >>> uv = torch.stack([torch.arange(4.0) / 8, torch.zeros(4)], -1).view(1, 1, 4, 1, 2)
        >>> uv_screen_derivatives(uv, torch.ones(1, 1, 4, 1, dtype=torch.bool))[0, 0, 0, 0].tolist()
        [[0.125, 0.0], [0.0, 0.0]]
    """
    if uv.dim() != 5 or uv.shape[-1] != 2 or valid.shape != uv.shape[:-1]:
        raise ShapeError(f"uv must be [B, H, W, K, 2] and valid [B, H, W, K], got {list(uv.shape)} "
                         f"and {list(valid.shape)}")
    with torch.no_grad():
        out = []
        for dim in (2, 1):
            n = uv.shape[dim]
            if n < 2:
                out.append(torch.zeros_like(uv))
                continue
            diff = uv.narrow(dim, 1, n - 1) - uv.narrow(dim, 0, n - 1)
            ok = valid.narrow(dim, 1, n - 1) & valid.narrow(dim, 0, n - 1)
            diff = diff * ok[..., None]
            pad_shape = list(diff.shape)
            pad_shape[dim] = 1
            zeros = diff.new_zeros(pad_shape)
            big = diff.new_full(pad_shape, math.inf)
            fwd, bwd = torch.cat([diff, zeros], dim), torch.cat([zeros, diff], dim)
            fwd_ok = torch.cat([ok, zeros[..., 0].bool()], dim)
            bwd_ok = torch.cat([zeros[..., 0].bool(), ok], dim)
            fwd_n = torch.where(fwd_ok, fwd.norm(dim=-1), big[..., 0])
            bwd_n = torch.where(bwd_ok, bwd.norm(dim=-1), big[..., 0])
            out.append(torch.where((fwd_n <= bwd_n)[..., None], fwd, bwd))
        return torch.stack(out, -2)


def sample_mesh_textures(
    meshes: Meshes,
    fragments: Fragments,
    mode: FilterMode = "bilinear",
    wrap: WrapMode = "repeat",
    mipmaps: Sequence[MipmapTexture] | None = None,
) -> torch.Tensor:
    """Texture color of every fragment, each image reading its own mesh's texture.

    Image b of `fragments` must come from mesh b of `meshes`; textures may differ in size.

    Args:
        meshes: B textured meshes (`meshes.has_texture`).
        fragments: their rasterization, `pix_to_face: [B, H, W, K]`.
        mode: see `sample_texture`.
        wrap: see `sample_texture`.
        mipmaps: per-mesh prebuilt pyramids to reuse (built on the fly for "trilinear" if None).

    Returns:
        `[B, H, W, K, C]` colors, 0 at empty fragments.

    Raises:
        ShapeError: meshes without texture, batch mismatch, textures with different channel counts.

    Example:
        >>> f = torch.tensor([[0, 1, 2]])
        >>> m = Meshes([torch.eye(3)], [f], verts_uvs=[torch.rand(3, 2)], faces_uvs=[f], textures=[torch.ones(4, 4, 3)])
        >>> frags = Fragments(torch.zeros(1, 2, 2, 1, dtype=torch.long), torch.full((1, 2, 2, 1, 3), 1 / 3),
        ...                   torch.ones(1, 2, 2, 1))
        >>> sample_mesh_textures(m, frags, "trilinear").shape
        torch.Size([1, 2, 2, 1, 3])
    """
    textures = meshes.textures_list()
    face_uvs = meshes.faces_uvs_packed()
    if textures is None or face_uvs is None:
        raise ShapeError("meshes have no UV texture")
    B = len(meshes)
    if fragments.pix_to_face.shape[0] != B:
        raise ShapeError(f"fragments hold {fragments.pix_to_face.shape[0]} images for {B} meshes")
    if len({t.shape[-1] for t in textures}) != 1:
        raise ShapeError(f"textures have different channel counts: {[t.shape[-1] for t in textures]}")
    if mipmaps is not None and len(mipmaps) != B:
        raise ShapeError(f"got {len(mipmaps)} mipmaps for {B} meshes")
    valid = fragments.pix_to_face >= 0
    uv = interpolate(fragments.pix_to_face, fragments.bary, face_uvs)
    uv_grad = uv_screen_derivatives(uv, valid) if mode != "bilinear" else None
    out = []
    for b in range(B):
        tex = mipmaps[b] if mipmaps is not None else textures[b]
        g = None if uv_grad is None else uv_grad[b]
        out.append(sample_texture(uv[b], tex, mode, wrap, g))
    colors = torch.stack(out, 0)
    return colors * valid[..., None].to(colors.dtype)
