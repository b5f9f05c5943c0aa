"""Which faces each pixel lists: bounding-box enumeration, coverage test and depth-sorted top-K.

This half of the rasterizer is discrete (no autograd): it yields (pixel slot, face instance) pairs
whose barycentrics, depth and distance are then recomputed differentiably.
"""

from __future__ import annotations

import itertools

import torch

from render3d.raster.geometry import FaceGeometry

# Candidate (face, pixel) pairs tested at once; bounds the working memory (~60 bytes a pair).
_CHUNK = 1 << 20
_IDX_BITS = 31


def _pixel_boxes(poly: torch.Tensor, radius: float, H: int, W: int) -> tuple[torch.Tensor, ...]:
    """Inclusive pixel ranges `x0, y0` and sizes `w, h` whose centers lie within `radius` of `poly` bounds."""
    lo = poly.amin(1) - radius - 0.5
    hi = poly.amax(1) + radius - 0.5
    size = torch.tensor([W, H], device=poly.device, dtype=poly.dtype)
    start = lo.clamp(min=-1.0).minimum(size).ceil().long()
    end = hi.clamp(min=-1.0).minimum(size - 1).floor().long()
    start = start.clamp(min=0)
    extent = (end - start + 1).clamp(min=0)
    return start[:, 0], start[:, 1], extent[:, 0], extent[:, 1]


def polygon_dist2(poly: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Squared distance from points `(u, v): [M]` to the boundary of polygons `poly: [M, P, 2]` → `[M]`."""
    a = poly
    ab = poly.roll(-1, dims=1) - a
    ap = torch.stack([u, v], -1)[:, None] - a
    ab2 = (ab * ab).sum(-1)
    tpar = ((ap * ab).sum(-1) / torch.where(ab2 > 0, ab2, torch.ones_like(ab2))).clamp(0, 1)
    d = ap - tpar[..., None] * ab
    return (d * d).sum(-1).amin(1)


def _test_chunk(geom: FaceGeometry, faces: torch.Tensor, x0, y0, w, counts, H: int, W: int,
                radius: float, znear: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Enumerate the boxes of `faces` and keep covered (or within `radius`) pixels in front of znear."""
    total = int(counts.sum())
    dev = faces.device
    local_face = torch.repeat_interleave(torch.arange(faces.shape[0], device=dev), counts, output_size=total)
    first = torch.cumsum(counts, 0) - counts
    offset = torch.arange(total, device=dev) - first[local_face]
    wf = w[local_face]
    dy = torch.div(offset, wf, rounding_mode="floor")
    x = x0[local_face] + offset - dy * wf
    y = y0[local_face] + dy
    inst = faces[local_face]
    dtype = geom.edges.dtype
    u = x.to(dtype) + 0.5
    v = y.to(dtype) + 0.5
    table = torch.cat([geom.edges[faces].reshape(-1, 9), geom.depth[faces]], 1)[local_face]
    w0 = table[:, 0] * u + table[:, 1] * v + table[:, 2]
    w1 = table[:, 3] * u + table[:, 4] * v + table[:, 5]
    w2 = table[:, 6] * u + table[:, 7] * v + table[:, 8]
    s = w0 + w1 + w2
    safe_s = torch.where(s == 0, torch.ones_like(s), s)
    z = (w0 * table[:, 9] + w1 * table[:, 10] + w2 * table[:, 11]) / safe_s
    ok = (s != 0) & (z >= znear) & torch.isfinite(z)
    inside = (w0 * s >= 0) & (w1 * s >= 0) & (w2 * s >= 0)
    if radius > 0:
        near = polygon_dist2(geom.poly[inst], u, v) <= radius * radius
        ok &= inside | near
    else:
        ok &= inside
    pix = (geom.image[inst] * H + y) * W + x
    return pix[ok], inst[ok], z[ok]


def select_pairs(geom: FaceGeometry, H: int, W: int, faces_per_pixel: int, radius: float, cull_backfaces: bool,
                 znear: float, num_images: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The K nearest listed faces of every pixel.

    Args:
        geom: detached face geometry.
        H, W: image size.
        faces_per_pixel: K.
        radius: blur radius in pixels.
        cull_backfaces: skip faces with `orient >= 0`.
        znear: near clipping depth.
        num_images: B.

    Returns:
        `slot: [S]` index into the flattened `[B, H, W, K]` output, `pix: [S]` index into the
        flattened `[B, H, W]` image, `inst: [S]` face instance.
    """
    keep = geom.visible
    if cull_backfaces:
        keep = keep & (geom.orient < 0)
    faces = keep.nonzero()[:, 0]
    x0, y0, w, h = _pixel_boxes(geom.poly[faces], radius, H, W)
    counts = w * h
    nz = counts > 0
    faces, x0, y0, w, counts = faces[nz], x0[nz], y0[nz], w[nz], counts[nz]
    dev = geom.edges.device
    starts = torch.cumsum(counts, 0) - counts
    total = int(counts.sum())
    bounds = [*torch.searchsorted(starts, torch.arange(0, total, _CHUNK, device=dev)).tolist(), faces.numel()]
    pieces = [_test_chunk(geom, faces[a:b], x0[a:b], y0[a:b], w[a:b], counts[a:b], H, W, radius, znear)
              for a, b in itertools.pairwise(bounds) if b > a]
    if not pieces:
        empty = torch.zeros(0, dtype=torch.long, device=dev)
        return empty, empty, empty
    pix, inst, z = (torch.cat(p) for p in zip(*pieces, strict=True))
    zbits = z.float().view(torch.int32).long()  # positive floats order like their bit patterns
    K = faces_per_pixel
    n_pix = num_images * H * W
    if K == 1 and pix.numel() < (1 << _IDX_BITS):
        key = (zbits << _IDX_BITS) | torch.arange(pix.numel(), device=dev)
        best = torch.full((n_pix,), torch.iinfo(torch.long).max, dtype=torch.long, device=dev)
        best = best.scatter_reduce(0, pix, key, "amin")
        slot = (best != torch.iinfo(torch.long).max).nonzero()[:, 0]
        winner = best[slot] & ((1 << _IDX_BITS) - 1)
        return slot, slot, inst[winner]
    order = torch.argsort((pix << 32) | zbits)
    pix, inst = pix[order], inst[order]
    counts = torch.bincount(pix, minlength=n_pix)
    first = torch.cumsum(counts, 0) - counts
    rank = torch.arange(pix.numel(), device=dev) - first[pix]
    top = rank < K
    pix, inst = pix[top], inst[top]
    return pix * K + rank[top], pix, inst
