"""Z-buffered splatting of world-radius points into the K nearest points per pixel.

Every point is a disk of its world radius facing the camera. Projected, it covers the pixels whose
centers lie within `r_px = fx · r / z` (orthographic: `fx · r`) of its projected center.

The work is split in two so that it stays fast in pure PyTorch:

1. Without autograd, candidate (pixel, point) pairs are enumerated densely over the smallest pixel
   square that can hold each point's disk (points grouped by square size, chunked to bound
   memory); the hits are packed into one int64 key `pixel << 32 | float bits of z`, sorted, and the
   first K hits of every pixel are kept.
2. Only for the kept entries are `dists` and `zbuf` recomputed from the projected points with
   autograd, so gradients reach point positions, radii and cameras.
"""

from __future__ import annotations

import torch

from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.fragments import PointFragments
from render3d.points.settings import PointsRasterSettings
from render3d.structures import Pointclouds

_DEFAULT_SETTINGS = PointsRasterSettings()
_MAX_PIXELS = 1 << 31  # pixel ids live in the high 32 bits of a signed int64 sort key
# square sides points are grouped by (ratio ≤ 1.25 past 8): few groups, ≤ 1.56x wasted candidates;
# side 0 (nothing covered) is its own group
_SIDES = sorted({*range(9), *(int(8 * 1.25**k) for k in range(1, 40) if 8 * 1.25**k <= 16384), 16384})


def _project(clouds: Pointclouds, cameras: Cameras, znear: float) -> tuple[torch.Tensor, list[int]]:
    """Every (camera, point) pair ("instance"), those of camera b contiguous.

    Returns:
        `[T, 4]` rows (u, v, z, r_px), differentiable; and the first instance of every camera
        plus the total, `[B + 1]` ints.
    """
    points = clouds.points_packed()
    radius = clouds.radius_packed().to(points.dtype)
    K, R, t = (x.to(points) for x in (cameras.K, cameras.R, cameras.t))
    sizes = clouds.num_points_per_cloud.tolist()
    firsts = clouds.cloud_to_packed_first_idx.tolist()
    rows, cam_first = [], [0]
    for b in range(len(cameras)):
        c = 0 if len(clouds) == 1 else b
        p, rad = points[firsts[c]:firsts[c] + sizes[c]], radius[firsts[c]:firsts[c] + sizes[c], None]
        # one affine map gives (u·z, v·z, z) (orthographic: (u, v, z)); K's last row is not used
        if cameras.orthographic:
            M = torch.cat([K[b, :2, :2] @ R[b, :2], R[b, 2:]])
            off = torch.cat([K[b, :2, :2] @ t[b, :2] + K[b, :2, 2], t[b, 2:]])
        else:
            M = torch.cat([K[b, :2] @ R[b], R[b, 2:]])
            off = torch.cat([K[b, :2] @ t[b], t[b, 2:]])
        h = torch.addmm(off, p, M.T)
        z = h[:, 2:]
        fx = K[b, 0, 0].abs()
        if cameras.orthographic:
            uv, r = h[:, :2], fx * rad
        else:
            # clamped so that dropped points behind the camera cannot put inf/NaN into gradients
            safe_z = z.clamp(min=znear)
            uv, r = h[:, :2] / safe_z, fx * rad / safe_z
        rows.append(torch.cat([uv, z, r], 1))
        cam_first.append(cam_first[-1] + p.shape[0])
    return torch.cat(rows), cam_first


def _boxes(uvzr: torch.Tensor, znear: float, H: int, W: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Image-clipped pixel square that can hold each instance's disk.

    Column x is covered when |x + 0.5 - u| < r: x in (u - r - 0.5, u + r - 0.5). The bounds are
    widened by a small margin so that float rounding cannot drop a covered column; the exact test
    happens per candidate pixel.

    Returns:
        `[T, 2]` top-left pixel (x0, y0) as floats holding integers, and `[T]` long square side
        (0 for instances that cover no pixel).
    """
    uv, z, r = uvzr[:, :2], uvzr[:, 2], uvzr[:, 3:]
    margin = 1e-3 + 2e-6 * (max(H, W) + r)
    lo = torch.floor(uv - r + (0.5 - margin)).clamp_(min=0)
    hi = torch.ceil(uv + r - (0.5 - margin)).sub_(1)
    hi = torch.minimum(hi, torch.tensor([W - 1, H - 1], dtype=hi.dtype, device=hi.device))
    span = hi - lo
    visible = (span.amin(1) >= 0) & (z >= znear)
    side = torch.where(visible, span.amax(1) + 1, 0).long()
    return lo, side


def _z_bits(z: torch.Tensor) -> torch.Tensor:
    """Order-preserving int64 of positive depths (IEEE floats compare like their bit patterns)."""
    return z.float().view(torch.int32).long()


def _hits(uvzr: torch.Tensor, lo: torch.Tensor, ids: torch.Tensor, base: torch.Tensor, s: int,
          H: int, W: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Covered pixels of instances `ids` over squares of side `s` at their `lo` corners.

    Args:
        base: `[n]` long first pixel id of each instance's image (b·H·W).

    Returns:
        keys `[M]` int64 `pixel << 32 | z bits` and their instances `[M]`, pixel = b·H·W + y·W + x.
    """
    rows, corner = uvzr[ids], lo[ids]
    u, v, z, r = rows.unbind(1)
    steps = torch.arange(s, dtype=rows.dtype, device=rows.device)
    px, py = corner[:, :1] + steps, corner[:, 1:] + steps
    # the very float expression of the differentiable recompute, so both agree on every hit
    dx, dy = px + 0.5 - u[:, None], py + 0.5 - v[:, None]
    dx2 = (dx * dx).masked_fill_(px >= W, float("inf"))
    dy2 = (dy * dy).masked_fill_(py >= H, float("inf"))
    hit = (dy2[:, :, None] + dx2[:, None, :]) < (r * r)[:, None, None]
    flat = hit.view(-1).nonzero()[:, 0]
    i = flat // (s * s)
    steps_l = torch.arange(s, device=ids.device)
    offset = ((steps_l[:, None] * W + steps_l) << 32).view(-1)
    corner_l = corner.long()
    point_key = ((base + corner_l[:, 1] * W + corner_l[:, 0]) << 32) | _z_bits(z)
    return point_key[i] + offset[flat - i * (s * s)], ids[i]


def _keep_nearest(keys: torch.Tensor, inst: torch.Tensor, K: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sort hits by (pixel, z) and keep the first K of each pixel.

    Returns:
        sorted keys `[M']`, their instances `[M']`, and each one's slot (rank within its pixel).
    """
    keys, order = torch.sort(keys, stable=True)
    inst = inst[order]
    pixel = keys >> 32
    pos = torch.arange(keys.shape[0], device=keys.device)
    first = torch.ones_like(pixel, dtype=torch.bool)
    first[1:] = pixel[1:] != pixel[:-1]
    slot = pos - torch.where(first, pos, 0).cummax(0).values
    keep = slot < K
    if bool(keep.all()):
        return keys, inst, slot
    return keys[keep], inst[keep], slot[keep]


def _select(uvzr: torch.Tensor, cam_first: list[int], settings: PointsRasterSettings,
            H: int, W: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The K nearest hits of every pixel, as pixel ids `[M]`, slots `[M]` and instances `[M]`."""
    K, budget = settings.points_per_pixel, settings.chunk_candidates
    lo, side = _boxes(uvzr, settings.znear, H, W)
    group = torch.bucketize(side, torch.tensor(_SIDES, device=side.device))
    present = torch.bincount(group, minlength=len(_SIDES))[1:].nonzero()[:, 0].add(1).tolist()
    first = torch.tensor(cam_first[1:-1], device=side.device)
    keys = inst = slot = torch.empty(0, dtype=torch.long, device=side.device)
    # once a pixel holds K hits, a new hit must beat the K-th one's key to matter
    limit = None
    pending = 0
    for g in present:
        s = _SIDES[g]
        members = (group == g).nonzero()[:, 0]
        step = max(1, budget // (s * s))
        for start in range(0, members.shape[0], step):
            ids = members[start:start + step]
            camera = torch.searchsorted(first, ids, right=True)
            k, i = _hits(uvzr, lo, ids, camera * (H * W), s, H, W)
            if limit is not None:
                near = k < limit[k >> 32]
                k, i = k[near], i[near]
            keys, inst = torch.cat([keys, k]), torch.cat([inst, i])
            pending += k.shape[0]
            # merging bounds memory: the kept set never exceeds B·H·W·K plus one chunk of hits
            if pending > budget:
                keys, inst, slot = _keep_nearest(keys, inst, K)
                pending = 0
                full = slot == K - 1
                limit = torch.full((len(cam_first[1:]) * H * W,), torch.iinfo(torch.long).max, device=side.device)
                limit[keys[full] >> 32] = keys[full]
    if pending:
        keys, inst, slot = _keep_nearest(keys, inst, K)
    return keys >> 32, slot, inst


def rasterize_points(
    clouds: Pointclouds, cameras: Cameras, settings: PointsRasterSettings = _DEFAULT_SETTINGS
) -> PointFragments:
    """Splat every point as a disk of its world radius; keep the K nearest points per pixel.

    Args:
        clouds: B point clouds, or one cloud seen by all B cameras. Radii are in world units.
        cameras: B cameras sharing one H×W image size.
        settings: K (`points_per_pixel`), `znear` and the chunk size.

    Returns:
        `PointFragments` with `idx: [B, H, W, K]` packed point index (-1 empty), `zbuf: [B, H, W, K]`
        camera z (-1 empty) and `dists: [B, H, W, K]` squared pixel distance to the projected
        center over `r_px²` (in [0, 1) for hits, -1 empty), sorted near → far. `zbuf` and `dists`
        are differentiable with respect to point positions, radii and camera tensors.

    Raises:
        ShapeError: the numbers of clouds and cameras do not match, or the images hold over 2³¹ pixels.

    Example:
        >>> R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
        >>> cams = Cameras(intrinsics_from_fov(60, 32, 32)[None], R, t, 32, 32)
        >>> frags = rasterize_points(Pointclouds(torch.zeros(1, 1, 3), radius=0.1), cams)
        >>> frags.idx[0, 16, 16, 0].item(), round(frags.zbuf[0, 16, 16, 0].item(), 3)
        (0, 3.0)
    """
    B, H, W = len(cameras), cameras.height, cameras.width
    if len(clouds) not in (1, B):
        raise ShapeError(f"got {len(clouds)} point clouds for {B} cameras: pass one cloud per camera, or one cloud")
    if clouds.device != cameras.device:
        raise ShapeError(f"point clouds are on {clouds.device} but cameras on {cameras.device}")
    if B * H * W >= _MAX_PIXELS:
        raise ShapeError(f"{B} images of {H}x{W} exceed the rasterizer's 2^31 pixel limit; render in batches")
    K = settings.points_per_pixel
    uvzr, cam_first = _project(clouds, cameras, settings.znear)
    with torch.no_grad():
        pixel, slot, inst = _select(uvzr.detach(), cam_first, settings, H, W)
    u, v, z, r = uvzr[inst].unbind(1)
    px = (pixel % W).to(uvzr.dtype) + 0.5 - u
    py = ((pixel // W) % H).to(uvzr.dtype) + 0.5 - v
    dists = (py * py + px * px) / (r * r)
    where = (pixel * K + slot,)
    n_slots = B * H * W * K
    if len(clouds) == 1 and B > 1:
        inst = inst - torch.searchsorted(torch.tensor(cam_first[1:-1], device=inst.device), inst, right=True) \
            * cam_first[1]
    empty = uvzr.new_full((n_slots,), -1.0)
    return PointFragments(
        idx=torch.full((n_slots,), -1, dtype=torch.long, device=inst.device).index_put_(where, inst).view(B, H, W, K),
        zbuf=empty.index_put(where, z).view(B, H, W, K),
        dists=empty.index_put(where, dists).view(B, H, W, K),
    )
