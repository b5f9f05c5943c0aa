"""Z-buffered splatting of world-radius points into the K nearest points per pixel.

Every point is a disk of its world radius facing the camera. Projected, it covers the pixels whose
centers lie within `r_px = fx · r / z` (orthographic: `fx · r`) of its projected center, never less
than `settings.min_radius_px`.

The work is split in two so that it stays fast in pure PyTorch:

1. Without autograd, one image at a time, visible points are ranked by depth, candidate
   (pixel, point) pairs are enumerated densely over the smallest pixel square that can hold each
   point's disk (points grouped by square size, swept near to far in chunks that bound memory);
   the hits are packed into one int64 key `pixel << bits | depth rank`, sorted, and the first K
   of every pixel kept.
2. Only the kept points are projected again with autograd (bit-identical arithmetic) to give
   `dists` and `zbuf`, so gradients reach point positions, radii and cameras, and the autograd
   graph grows with the fragments, not with the points.

Threading: set `OMP_WAIT_POLICY=PASSIVE` before torch loads on machines shared with other work
(see `render3d/THREADING.md`).
"""

from __future__ import annotations

import torch

from render3d.cameras import Cameras
from render3d.elementwise import sum_terms
from render3d.errors import ShapeError
from render3d.fragments import PointFragments
from render3d.points.settings import PointsRasterSettings
from render3d.points.surfels import ellipse_bounds, fragment_dists, project_surfels
from render3d.structures import Pointclouds

_DEFAULT_SETTINGS = PointsRasterSettings()
# square sides points are grouped by (ratio ≤ 1.25 past 8): few groups, ≤ 1.56x wasted candidates;
# side 0 (nothing covered) is its own group
_SIDES = sorted({*range(9), *(int(8 * 1.25**k) for k in range(1, 40) if 8 * 1.25**k <= 16384), 16384})


def _camera_maps(cameras: Cameras, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per camera, the affine map world → (u·z, v·z, z) (orthographic: (u, v, z)) and |fx|.

    Returns:
        `M: [B, 3, 3]`, `off: [B, 3]`, `fx: [B]`, differentiable in the camera tensors (K's last
        row is not used, as in `Cameras.camera_to_pixels`).
    """
    K, R, t = (x.to(dtype) for x in (cameras.K, cameras.R, cameras.t))
    # Rows of K[:2] @ [R | t] as element-wise sums in a fixed order: a batched matmul's rounding depends on
    # the batch size and the CPU, and would make a camera's projection depend on the other cameras.
    cols = 2 if cameras.orthographic else 3
    rows = [sum_terms([K[:, i, k, None] * R[:, k] for k in range(cols)]) for i in range(2)]
    offs = [sum_terms([K[:, i, k] * t[:, k] for k in range(cols)]) for i in range(2)]
    if cameras.orthographic:
        offs = [offs[i] + K[:, i, 2] for i in range(2)]
    M = torch.stack([*rows, R[:, 2]], 1)
    off = torch.stack([*offs, t[:, 2]], 1)
    return M, off, K[:, 0, 0].abs()


def _project(points: torch.Tensor, radius: torch.Tensor, M: torch.Tensor, off: torch.Tensor, fx: torch.Tensor,
             orthographic: bool, znear: float, min_radius_px: float) -> torch.Tensor:
    """`points: [n, 3]`, `radius: [n]` → `[4, n]` rows u, v, z, r_px for one camera.

    Element-wise arithmetic only (no BLAS), so a subset of points projects to bit-identical values:
    the differentiable recompute of the kept fragments agrees exactly with the selection.
    """
    p = points.T
    # the three rows at once (few, large kernels): row i = ((M_i0 x + M_i1 y) + M_i2 z) + off_i
    uvz = M[:, 0:1] * p[0:1] + M[:, 1:2] * p[1:2] + M[:, 2:3] * p[2:3] + off[:, None]
    if orthographic:
        return torch.cat([uvz, (fx * radius).clamp(min=min_radius_px)[None]])
    # clamped so that dropped points behind the camera cannot put inf/NaN into gradients
    safe_z = uvz[2:].clamp(min=znear)
    return torch.cat([uvz[:2] / safe_z, uvz[2:], (fx * radius / safe_z[0]).clamp(min=min_radius_px)[None]])


def _disk_rows(points: torch.Tensor, normals: torch.Tensor | None, radius: torch.Tensor, cameras: Cameras, b: int,
               maps: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
               settings: PointsRasterSettings) -> tuple[torch.Tensor, dict | None]:
    """Selection rows of camera b's disks: `[4, n]` camera-facing, or `[9, n]` and surfel terms when oriented."""
    if normals is None:
        M, off, fx = maps
        return _project(points, radius, M[b], off[b], fx[b], cameras.orthographic, settings.znear,
                        settings.min_radius_px), None
    dtype = points.dtype
    return project_surfels(points, normals.to(dtype), radius, cameras.K[b].to(dtype), cameras.R[b].to(dtype),
                           cameras.t[b].to(dtype), cameras.orthographic, settings.znear, settings.min_radius_px)


def _boxes(uvzr: torch.Tensor, znear: float, H: int, W: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Image-clipped pixel square that can hold each point's disk, from `uvzr: [4, n]` (or `[9, n]`).

    Column x is covered when |x + 0.5 - u| < r: x in (u - r - 0.5, u + r - 0.5) (an oriented disk: its
    ellipse's extent). The bounds are widened by a small margin so that float rounding cannot drop a
    covered column; the exact test happens per candidate pixel.

    Returns:
        `[2, n]` top-left pixel (x0, y0) as floats holding integers, and `[n]` long square side
        (0 for points that cover no pixel).
    """
    u, v, z, r = uvzr[:4]
    ru = rv = r
    if uvzr.shape[0] > 4:
        du, dv, ru, rv = ellipse_bounds(uvzr[4:])
        u, v, r = u + du, v + dv, torch.maximum(ru, rv)
    half = (0.5 - 1e-3 - 2e-6 * max(H, W)) - 2e-6 * r
    x0, y0 = torch.floor(u - ru + half).clamp_(min=0), torch.floor(v - rv + half).clamp_(min=0)
    x1 = torch.ceil(u + ru - half).clamp_(max=W).sub_(x0)
    y1 = torch.ceil(v + rv - half).clamp_(max=H).sub_(y0)
    side = torch.maximum(x1, y1)
    side = torch.where((x1 > 0) & (y1 > 0) & (z >= znear), side, 0).long()
    return torch.stack([x0, y0]), side


def _hits(uvzr: torch.Tensor, lo: torch.Tensor, ids: torch.Tensor, ranks: torch.Tensor, s: int, H: int, W: int,
          rank_bits: int) -> torch.Tensor:
    """Covered pixels of points `ids` over squares of side `s` at their `lo` corners.

    Args:
        ranks: `[n]` depth rank of each point (unique; nearer is smaller).

    Returns:
        keys `[M]` int64 `pixel << rank_bits | rank`, pixel = y·W + x.
    """
    rows = uvzr.index_select(1, ids)
    u, v, _, r = rows[:4]
    x0, y0 = lo.index_select(1, ids)
    steps = torch.arange(s, dtype=u.dtype, device=u.device)
    px, py = x0[:, None] + steps, y0[:, None] + steps
    # the very float expression of the differentiable recompute, so both agree on every hit
    dx, dy = px + 0.5 - u[:, None], py + 0.5 - v[:, None]
    if rows.shape[0] > 4:  # oriented disks: inside the conic a U² + 2b UV + c V² + 2d U + 2e V < 1
        a, b2, c, d2, e2 = (x[:, None] for x in rows[4:])
        qx = ((a * dx + d2) * dx).masked_fill_(px >= W, float("inf"))
        qy = ((c * dy + e2) * dy).masked_fill_(py >= H, float("inf"))
        hit = (qy[:, :, None] + qx[:, None, :] + (b2 * dy)[:, :, None] * dx[:, None, :]) < 1
    else:
        dx2 = (dx * dx).masked_fill_(px >= W, float("inf"))
        dy2 = (dy * dy).masked_fill_(py >= H, float("inf"))
        hit = (dy2[:, :, None] + dx2[:, None, :]) < (r * r)[:, None, None]
    flat = hit.view(-1).nonzero()[:, 0]
    i = flat // (s * s)
    steps_l = torch.arange(s, device=ids.device)
    offset = ((steps_l[:, None] * W + steps_l) << rank_bits).view(-1)
    point_key = ((y0.long() * W + x0.long()) << rank_bits) | ranks
    return point_key.index_select(0, i) + offset.index_select(0, flat - i * (s * s))


def _keep_nearest(keys: torch.Tensor, K: int, rank_bits: int) -> torch.Tensor:
    """Sort hit keys by (pixel, depth rank) and keep the first K of each pixel."""
    keys = torch.sort(keys).values
    if keys.shape[0] <= K:
        return keys
    pixel = keys >> rank_bits
    # sorted by pixel: an entry is among its pixel's first K iff the one K places back is another pixel
    keep = torch.ones_like(pixel, dtype=torch.bool)
    keep[K:] = pixel[K:] != pixel[:-K]
    return keys if bool(keep.all()) else keys[keep]


class _Culler:
    """What the kept hits of full pixels rule out, after a merge.

    Args:
        keys: sorted kept keys (at most K per pixel).
    """

    def __init__(self, keys: torch.Tensor, K: int, rank_bits: int, H: int, W: int) -> None:
        biggest = torch.iinfo(torch.long).max
        self.limit = torch.full((H * W,), biggest, dtype=torch.long, device=keys.device)
        pixel = keys >> rank_bits
        full = pixel[K - 1:] == pixel[:keys.shape[0] - K + 1]
        self.limit[pixel[K - 1:][full]] = keys[K - 1:][full]
        mask = (1 << rank_bits) - 1
        # depth rank of the K-th hit of every pixel; any rank passes where the pixel is not full
        self.kth = torch.where(self.limit == biggest, biggest, self.limit & mask).view(H, W)
        self.rank_bits = rank_bits
        self._tiles: dict[int, torch.Tensor] = {}

    def near_hits(self, keys: torch.Tensor) -> torch.Tensor:
        """The hits that would enter their pixel's K nearest."""
        return keys[keys < self.limit.index_select(0, keys >> self.rank_bits)]

    def may_hit(self, corner: torch.Tensor, ranks: torch.Tensor, s: int) -> torch.Tensor:
        """`[n]` bool: False for points behind the K-th hit of every pixel of their `s`-square.

        Tested per tile of side T >= s (so a square meets at most 2×2 tiles) against the largest
        K-th rank in the tile, a bound over its pixels.
        """
        T = max(8, 1 << (s - 1).bit_length())
        if T not in self._tiles:
            H, W = self.kth.shape
            padded = torch.nn.functional.pad(self.kth, (0, -W % T, 0, -H % T), value=-1)
            self._tiles[T] = padded.view(padded.shape[0] // T, T, padded.shape[1] // T, T).amax(dim=(1, 3))
        tiles = self._tiles[T]
        rows, cols = tiles.shape
        x0, y0 = corner.long() // T
        x1 = ((corner[0].long() + s - 1) // T).clamp_(max=cols - 1)
        y1 = ((corner[1].long() + s - 1) // T).clamp_(max=rows - 1)
        flat = tiles.view(-1)
        top, bottom = y0 * cols, y1 * cols
        bound = torch.maximum(torch.maximum(flat.index_select(0, top + x0), flat.index_select(0, top + x1)),
                              torch.maximum(flat.index_select(0, bottom + x0), flat.index_select(0, bottom + x1)))
        return ranks < bound


def _select(uvzr: torch.Tensor, settings: PointsRasterSettings, H: int, W: int) -> tuple[torch.Tensor, ...]:
    """The K nearest hits of every pixel of one image, as pixel ids `[M]` (y·W + x), slots `[M]`
    and point indices `[M]` (columns of `uvzr`), sorted by pixel then depth.

    Visible points are ranked by depth once (an int sort of the float bits), so a hit's sort key
    needs no depth bits beyond the rank and the point is recovered from the rank. When the work
    takes several chunks, points are swept near to far: once pixels hold K hits, farther points
    and hits of later chunks are dropped before any candidate is formed or sorted.
    """
    K, budget = settings.points_per_pixel, settings.chunk_candidates
    lo, side = _boxes(uvzr, settings.znear, H, W)
    visible = (side > 0).nonzero()[:, 0]
    # z >= znear > 0 for visible points, and positive IEEE floats order like their bit patterns
    nearest_first = torch.sort(uvzr[2].index_select(0, visible).float().view(torch.int32), stable=True).indices
    by_depth = visible.index_select(0, nearest_first)
    rank_bits = max(1, (by_depth.shape[0] - 1).bit_length())
    if (H * W).bit_length() + rank_bits > 63:
        raise ShapeError(f"{by_depth.shape[0]} visible points in {H * W} pixels overflow the 64-bit sort key")
    if int((side * side).sum()) > budget:
        sweep, sweep_rank = by_depth, torch.arange(by_depth.shape[0], device=side.device)
    else:
        # one pass: keep memory order (cheap sequential gathers) and look ranks up
        sweep = visible
        sweep_rank = torch.empty_like(visible).index_put_((nearest_first,), torch.arange(visible.shape[0],
                                                                                          device=side.device))
    group = torch.bucketize(side.index_select(0, sweep), torch.tensor(_SIDES, device=side.device))
    # big squares first: for similar world radii they are the near points, which cull the rest
    present = torch.bincount(group, minlength=len(_SIDES)).nonzero()[:, 0].flip(0).tolist()
    keys = torch.empty(0, dtype=torch.long, device=side.device)
    culler, pending = None, 0
    for g in present:
        s = _SIDES[g]
        members = (group == g).nonzero()[:, 0]
        step = max(1, budget // (s * s))
        for start in range(0, members.shape[0], step):
            chunk = members[start:start + step]
            ids, ranks = sweep.index_select(0, chunk), sweep_rank.index_select(0, chunk)
            if culler is not None:
                near = culler.may_hit(lo.index_select(1, ids), ranks, s)
                ids, ranks = ids[near], ranks[near]
                if ids.numel() == 0:
                    continue
            k = _hits(uvzr, lo, ids, ranks, s, H, W, rank_bits)
            if culler is not None:
                k = culler.near_hits(k)
            keys = torch.cat([keys, k])
            pending += k.shape[0]
            # merging bounds memory (the kept set never exceeds H·W·K plus one chunk of hits); merging
            # once the hits could fill every pixel also starts culling early
            if pending > min(budget, H * W * K):
                keys = _keep_nearest(keys, K, rank_bits)
                culler, pending = _Culler(keys, K, rank_bits, H, W), 0
    if pending:
        keys = _keep_nearest(keys, K, rank_bits)
    pixel = keys >> rank_bits
    pos = torch.arange(keys.shape[0], device=keys.device)
    starts = torch.ones_like(pixel, dtype=torch.bool)
    starts[1:] = pixel[1:] != pixel[:-1]
    slot = pos - torch.where(starts, pos, 0).cummax(0).values
    return pixel, slot, by_depth.index_select(0, keys & ((1 << rank_bits) - 1))


def rasterize_points(
    clouds: Pointclouds, cameras: Cameras, settings: PointsRasterSettings = _DEFAULT_SETTINGS
) -> PointFragments:
    """Splat every point as a disk of its world radius; keep the K nearest points per pixel.

    Args:
        clouds: B point clouds, or one cloud seen by all B cameras. Radii are in world units; normals
            orient the disks when `settings.oriented`.
        cameras: B cameras sharing one H×W image size.
        settings: K (`points_per_pixel`), `znear` and the chunk size.

    Returns:
        `PointFragments` with `idx: [B, H, W, K]` packed point index (-1 empty), `zbuf: [B, H, W, K]`
        camera z of the disk center (-1 empty) and `dists: [B, H, W, K]` squared distance to the disk
        center over the squared radius (in [0, 1) for hits, -1 empty): in screen pixels for
        camera-facing disks, in the disk's plane for oriented ones (`settings.oriented`). Sorted near →
        far. `zbuf` and `dists` are differentiable with respect to point positions, radii, normals
        (oriented) and camera tensors.

    Raises:
        ShapeError: the numbers of clouds and cameras do not match, or they sit on different devices.

    Example:
        >>> from render3d import Cameras, Pointclouds, intrinsics_from_fov, look_at
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
    K = settings.points_per_pixel
    points = clouds.points_packed()
    radius = clouds.radius_packed().to(points.dtype)
    normals = clouds.normals_packed() if settings.oriented else None
    maps = _camera_maps(cameras, points.dtype)
    sizes, firsts = clouds.num_points_per_cloud.tolist(), clouds.cloud_to_packed_first_idx.tolist()
    where, point, zs, dists = [], [], [], []
    for b in range(B):
        c = 0 if len(clouds) == 1 else b
        span = slice(firsts[c], firsts[c] + sizes[c])
        with torch.no_grad():
            rows, _ = _disk_rows(points[span], None if normals is None else normals[span], radius[span], cameras, b,
                                 maps, settings)
            pixel, slot, kept = _select(rows, settings, H, W)
        kept = kept + firsts[c]
        # only the kept fragments enter the autograd graph
        rows, surfels = _disk_rows(points.index_select(0, kept), None if normals is None else normals.index_select(
            0, kept), radius.index_select(0, kept), cameras, b, maps, settings)
        u, v, z, r = rows[:4]
        px = (pixel % W).to(u.dtype) + 0.5
        py = torch.div(pixel, W, rounding_mode="floor").to(u.dtype) + 0.5
        if surfels is None:
            dx, dy = px - u, py - v
            dists.append((dy * dy + dx * dx) / (r * r))
        else:
            dists.append(fragment_dists(surfels, px, py))
        where.append((b * H * W + pixel) * K + slot)
        point.append(kept)
        zs.append(z)
    where_all, z, dists = (torch.cat(where),), torch.cat(zs), torch.cat(dists)
    n_slots = B * H * W * K
    return PointFragments(
        idx=torch.full((n_slots,), -1, dtype=torch.long, device=points.device).index_put_(
            where_all, torch.cat(point)).view(B, H, W, K),
        zbuf=torch.full((n_slots,), -1.0, dtype=z.dtype, device=z.device).index_put_(where_all, z).view(B, H, W, K),
        dists=torch.full((n_slots,), -1.0, dtype=z.dtype, device=z.device).index_put_(where_all, dists).view(
            B, H, W, K),
    )
