"""Z-buffered splatting of world-radius points into the K nearest points per pixel.

Every point is a disk of its world radius facing the camera. Projected, it covers the pixels whose
centers lie within `r_px = fx · r / z` (orthographic: `fx · r`) of its projected center.

The work is split in two so that it stays fast in pure PyTorch:

1. Without autograd, visible points are ranked by depth, candidate (pixel, point) pairs are
   enumerated densely over the smallest pixel square that can hold each point's disk (points
   grouped by square size, swept near to far in chunks that bound memory); the hits are packed
   into one int64 key `pixel << bits | depth rank`, sorted, and the first K of every pixel kept.
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
_MAX_PIXELS = 1 << 31  # pixel ids and depth ranks share one signed int64 sort key
# square sides points are grouped by (ratio ≤ 1.25 past 8): few groups, ≤ 1.56x wasted candidates;
# side 0 (nothing covered) is its own group
_SIDES = sorted({*range(9), *(int(8 * 1.25**k) for k in range(1, 40) if 8 * 1.25**k <= 16384), 16384})


def _project(clouds: Pointclouds, cameras: Cameras, znear: float) -> tuple[torch.Tensor, list[int]]:
    """Every (camera, point) pair ("instance"), those of camera b contiguous.

    Returns:
        `[4, T]` rows u, v, z, r_px (one contiguous row per quantity, differentiable); and the first
        instance of every camera plus the total, `[B + 1]` ints.
    """
    points = clouds.points_packed()
    radius = clouds.radius_packed().to(points.dtype)
    K, R, t = (x.to(points) for x in (cameras.K, cameras.R, cameras.t))
    sizes = clouds.num_points_per_cloud.tolist()
    firsts = clouds.cloud_to_packed_first_idx.tolist()
    cols, cam_first = [], [0]
    for b in range(len(cameras)):
        c = 0 if len(clouds) == 1 else b
        p, rad = points[firsts[c]:firsts[c] + sizes[c]], radius[firsts[c]:firsts[c] + sizes[c]]
        # one affine map gives (u·z, v·z, z) (orthographic: (u, v, z)); K's last row is not used
        if cameras.orthographic:
            M = torch.cat([K[b, :2, :2] @ R[b, :2], R[b, 2:]])
            off = torch.cat([K[b, :2, :2] @ t[b, :2] + K[b, :2, 2], t[b, 2:]])
        else:
            M = torch.cat([K[b, :2] @ R[b], R[b, 2:]])
            off = torch.cat([K[b, :2] @ t[b], t[b, 2:]])
        h = torch.addmm(off[:, None], M, p.T)
        z = h[2:]
        fx = K[b, 0, 0].abs()
        if cameras.orthographic:
            uv, r = h[:2], fx * rad[None]
        else:
            # clamped so that dropped points behind the camera cannot put inf/NaN into gradients
            safe_z = z.clamp(min=znear)
            uv, r = h[:2] / safe_z, fx * rad[None] / safe_z
        cols.append(torch.cat([uv, z, r]))
        cam_first.append(cam_first[-1] + p.shape[0])
    return torch.cat(cols, 1), cam_first


def _boxes(uvzr: torch.Tensor, znear: float, H: int, W: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Image-clipped pixel square that can hold each instance's disk.

    Column x is covered when |x + 0.5 - u| < r: x in (u - r - 0.5, u + r - 0.5). The bounds are
    widened by a small margin so that float rounding cannot drop a covered column; the exact test
    happens per candidate pixel.

    Returns:
        `[2, T]` top-left pixel (x0, y0) as floats holding integers, and `[T]` long square side
        (0 for instances that cover no pixel).
    """
    u, v, z, r = uvzr
    half = (0.5 - 1e-3 - 2e-6 * max(H, W)) - 2e-6 * r
    x0, y0 = torch.floor(u - r + half).clamp_(min=0), torch.floor(v - r + half).clamp_(min=0)
    x1 = torch.ceil(u + r - half).clamp_(max=W).sub_(x0)
    y1 = torch.ceil(v + r - half).clamp_(max=H).sub_(y0)
    side = torch.maximum(x1, y1)
    side = torch.where((x1 > 0) & (y1 > 0) & (z >= znear), side, 0).long()
    return torch.stack([x0, y0]), side


def _hits(uvzr: torch.Tensor, lo: torch.Tensor, ids: torch.Tensor, ranks: torch.Tensor, base: torch.Tensor | int,
          s: int, H: int, W: int, rank_bits: int) -> torch.Tensor:
    """Covered pixels of instances `ids` over squares of side `s` at their `lo` corners.

    Args:
        ranks: `[n]` depth rank of each instance (unique; nearer is smaller).
        base: `[n]` long first pixel id of each instance's image (b·H·W), or 0 for one image.

    Returns:
        keys `[M]` int64 `pixel << rank_bits | rank`, pixel = b·H·W + y·W + x.
    """
    u, v, _, r = uvzr.index_select(1, ids)
    x0, y0 = lo.index_select(1, ids)
    steps = torch.arange(s, dtype=u.dtype, device=u.device)
    px, py = x0[:, None] + steps, y0[:, None] + steps
    # the very float expression of the differentiable recompute, so both agree on every hit
    dx, dy = px + 0.5 - u[:, None], py + 0.5 - v[:, None]
    dx2 = (dx * dx).masked_fill_(px >= W, float("inf"))
    dy2 = (dy * dy).masked_fill_(py >= H, float("inf"))
    hit = (dy2[:, :, None] + dx2[:, None, :]) < (r * r)[:, None, None]
    flat = hit.view(-1).nonzero()[:, 0]
    i = flat // (s * s)
    steps_l = torch.arange(s, device=ids.device)
    offset = ((steps_l[:, None] * W + steps_l) << rank_bits).view(-1)
    point_key = ((base + y0.long() * W + x0.long()) << rank_bits) | ranks
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

    def __init__(self, keys: torch.Tensor, K: int, rank_bits: int, B: int, H: int, W: int) -> None:
        biggest = torch.iinfo(torch.long).max
        self.limit = torch.full((B * H * W,), biggest, dtype=torch.long, device=keys.device)
        pixel = keys >> rank_bits
        full = pixel[K - 1:] == pixel[:keys.shape[0] - K + 1]
        self.limit[pixel[K - 1:][full]] = keys[K - 1:][full]
        mask = (1 << rank_bits) - 1
        # depth rank of the K-th hit of every pixel; any rank passes where the pixel is not full
        self.kth = torch.where(self.limit == biggest, biggest, self.limit & mask).view(B, H, W)
        self.rank_bits = rank_bits
        self._tiles: dict[int, torch.Tensor] = {}

    def near_hits(self, keys: torch.Tensor) -> torch.Tensor:
        """The hits that would enter their pixel's K nearest."""
        return keys[keys < self.limit.index_select(0, keys >> self.rank_bits)]

    def may_hit(self, corner: torch.Tensor, camera: torch.Tensor | int, ranks: torch.Tensor, s: int) -> torch.Tensor:
        """`[n]` bool: False for instances behind the K-th hit of every pixel of their `s`-square.

        Tested per tile of side T >= s (so a square meets at most 2×2 tiles) against the largest
        K-th rank in the tile, a bound over its pixels.
        """
        T = max(8, 1 << (s - 1).bit_length())
        if T not in self._tiles:
            B, H, W = self.kth.shape
            padded = torch.nn.functional.pad(self.kth, (0, -W % T, 0, -H % T), value=-1)
            self._tiles[T] = padded.view(B, padded.shape[1] // T, T, padded.shape[2] // T, T).amax(dim=(2, 4))
        tiles = self._tiles[T]
        rows, cols = tiles.shape[1], tiles.shape[2]
        x0, y0 = corner.long() // T
        x1 = ((corner[0].long() + s - 1) // T).clamp_(max=cols - 1)
        y1 = ((corner[1].long() + s - 1) // T).clamp_(max=rows - 1)
        flat = tiles.view(-1)
        top, bottom = (camera * rows + y0) * cols, (camera * rows + y1) * cols
        bound = torch.maximum(torch.maximum(flat.index_select(0, top + x0), flat.index_select(0, top + x1)),
                              torch.maximum(flat.index_select(0, bottom + x0), flat.index_select(0, bottom + x1)))
        return ranks < bound


def _select(uvzr: torch.Tensor, cam_first: list[int], settings: PointsRasterSettings,
            H: int, W: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The K nearest hits of every pixel, as pixel ids `[M]`, slots `[M]` and instances `[M]`.

    Visible instances are ranked by depth once (an int sort of the float bits), so a hit's sort key
    needs no depth bits beyond the rank and the instance is recovered from the rank. When the work
    takes several chunks, instances are swept near to far: once pixels hold K hits, farther
    instances and hits of later chunks are dropped before any candidate is formed or sorted.
    """
    K, budget, B = settings.points_per_pixel, settings.chunk_candidates, len(cam_first) - 1
    lo, side = _boxes(uvzr, settings.znear, H, W)
    visible = (side > 0).nonzero()[:, 0]
    # z >= znear > 0 for visible instances, and positive IEEE floats order like their bit patterns
    nearest_first = torch.sort(uvzr[2].index_select(0, visible).float().view(torch.int32), stable=True).indices
    by_depth = visible.index_select(0, nearest_first)
    rank_bits = max(1, (by_depth.shape[0] - 1).bit_length())
    if (B * H * W).bit_length() + rank_bits > 63:
        raise ShapeError(f"{by_depth.shape[0]} visible points in {B * H * W} pixels overflow the 64-bit sort key; "
                         "render fewer views at once")
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
    first = torch.tensor(cam_first[1:-1], device=side.device)
    keys = torch.empty(0, dtype=torch.long, device=side.device)
    culler, pending = None, 0
    for g in present:
        s = _SIDES[g]
        members = (group == g).nonzero()[:, 0]
        step = max(1, budget // (s * s))
        for start in range(0, members.shape[0], step):
            chunk = members[start:start + step]
            ids, ranks = sweep.index_select(0, chunk), sweep_rank.index_select(0, chunk)
            camera = torch.searchsorted(first, ids, right=True) if B > 1 else 0
            if culler is not None:
                near = culler.may_hit(lo.index_select(1, ids), camera, ranks, s)
                ids, ranks = ids[near], ranks[near]
                camera = camera[near] if B > 1 else 0
                if ids.numel() == 0:
                    continue
            k = _hits(uvzr, lo, ids, ranks, camera * (H * W), s, H, W, rank_bits)
            if culler is not None:
                k = culler.near_hits(k)
            keys = torch.cat([keys, k])
            pending += k.shape[0]
            # merging bounds memory (the kept set never exceeds B·H·W·K plus one chunk of hits); merging
            # once the hits could fill every pixel also starts culling early
            if pending > min(budget, B * H * W * K):
                keys = _keep_nearest(keys, K, rank_bits)
                culler, pending = _Culler(keys, K, rank_bits, B, H, W), 0
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
    u, v, z, r = uvzr.index_select(1, inst)
    px = (pixel % W).to(uvzr.dtype) + 0.5 - u
    py = ((pixel // W) % H).to(uvzr.dtype) + 0.5 - v
    dists = (py * py + px * px) / (r * r)
    where = (pixel * K + slot,)
    n_slots = B * H * W * K
    if len(clouds) == 1 and B > 1:
        inst = inst % cam_first[1]
    return PointFragments(
        idx=torch.full((n_slots,), -1, dtype=torch.long, device=inst.device).index_put_(where, inst).view(B, H, W, K),
        zbuf=uvzr.new_full((n_slots,), -1.0).index_put_(where, z).view(B, H, W, K),
        dists=uvzr.new_full((n_slots,), -1.0).index_put_(where, dists).view(B, H, W, K),
    )
