"""Which faces each pixel lists: per-face pixel boxes, coverage test and depth-sorted top-K.

This half of the rasterizer is discrete (no autograd): it yields (pixel slot, face instance) pairs
whose barycentrics, depth and distance are then recomputed differentiably.

Every quantity the coverage test needs is a linear form `a·u + b·v + c` of the pixel center. Faces
are grouped by the size of their pixel box (rounded up to a few sizes), so a whole group is tested on
a dense `[faces, rows, cols]` grid with one broadcast add per form and no per-pixel gathers.
"""

from __future__ import annotations

import itertools

import torch

from render3d.elementwise import dot, total
from render3d.raster.geometry import FaceGeometry

# Grid cells tested at once; bounds the working memory (~100 bytes a cell in soft mode).
_CHUNK = 1 << 20
# Grid cells of the images whose candidates are ranked together (~40 bytes a listed candidate).
_RUN_CELLS = 1 << 23
_BOX_SIZES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072,
              4096, 6144, 8192, 12288, 16384)
# Padding edges of triangles drawn as quads get a line distance no pixel can reach.
_FAR = 1e18
_IDX_BITS = 31
# Rounding-error allowance of the incremental edge-function evaluation, in units of eps × magnitude.
_ROUNDING_ULPS = 16


def _pixel_boxes(poly: torch.Tensor, radius: float, H: int, W: int) -> tuple[torch.Tensor, torch.Tensor]:
    """First pixel `[N, 2]` (x, y) and size `[N, 2]` of the pixel centers within `radius` of `poly` bounds."""
    lo = poly.amin(1) - radius - 0.5
    hi = poly.amax(1) + radius - 0.5
    size = torch.tensor([W, H], device=poly.device, dtype=poly.dtype)
    start = lo.clamp(min=-1.0).minimum(size).ceil().long().clamp(min=0)
    end = hi.clamp(min=-1.0).minimum(size - 1).floor().long()
    return start, (end - start + 1).clamp(min=0)


def _linear_forms(geom: FaceGeometry, faces: torch.Tensor, radius: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Coefficients `[n, F, 3]` (du, dv, 1) of the forms tested per pixel, and edge lengths `[n, 4]`.

    Forms: the three edge functions and their sum `s`, oriented so that `s > 0` where the pixel ray
    meets the face's plane in front of the camera; `s * depth`; then, with a blur radius, for each
    polygon edge the distance to its line and the position along it.
    """
    sign = torch.where(geom.orient[faces] < 0, -1.0, 1.0).to(geom.edges.dtype)
    edges = geom.edges[faces] * sign[:, None, None]
    s = total(edges, 1)
    zs = total(edges * geom.depth[faces][..., None], 1)
    forms = [edges, s[:, None], zs[:, None]]
    if radius <= 0:
        return torch.cat(forms, 1), edges.new_zeros(0, 4)
    a = geom.poly[faces]
    ab = a.roll(-1, dims=1) - a
    length = dot(ab, ab).sqrt()
    d = ab / torch.where(length > 0, length, torch.ones_like(length))[..., None]
    normal = torch.stack([d[..., 1], -d[..., 0]], -1)
    line = torch.cat([normal, -dot(normal, a)[..., None]], -1)
    line[..., 2] = torch.where(length > 0, line[..., 2], torch.full_like(length, _FAR))
    along = torch.cat([d, -dot(d, a)[..., None]], -1)
    return torch.cat([*forms, line, along], 1), length


def _test_group(forms: torch.Tensor, length: torch.Tensor, depth: torch.Tensor, origin: torch.Tensor,
                pixbase: torch.Tensor, inst: torch.Tensor, bw: int, bh: int, W: int, radius: float, znear: float,
                clipped: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Test a `[n, bh, bw]` grid of pixels per face; return the passing (pixel, instance, depth)."""
    dtype = forms.dtype
    dx = torch.arange(bw, device=forms.device, dtype=dtype)
    dy = torch.arange(bh, device=forms.device, dtype=dtype)
    at0 = forms[..., 0] * origin[:, None, 0] + forms[..., 1] * origin[:, None, 1] + forms[..., 2]
    grid = (at0[..., None] + forms[..., 1:2] * dy)[..., None] + (forms[..., 0:1] * dx)[..., None, :]
    w0, w1, w2, s, zs = grid[:, :5].unbind(1)
    # Two faces sharing an edge evaluate it from different origins, so rounding differs between them; a
    # pixel center on the edge could then fail both (a crack). Accepting a bound on that rounding error
    # (|a|·u + |b|·v + |c| ulp-scaled) makes closed meshes watertight; a center lying exactly on the edge
    # may be listed by both faces, and the depth sort keeps one.
    e = forms[:, :3].abs()
    reach = e[..., 0] * (origin[:, None, 0] + bw) + e[..., 1] * (origin[:, None, 1] + bh) + e[..., 2]
    tol = (_ROUNDING_ULPS * torch.finfo(dtype).eps) * reach
    ok = (w0 >= -tol[:, 0, None, None]) & (w1 >= -tol[:, 1, None, None]) & (w2 >= -tol[:, 2, None, None])
    if radius > 0:
        dist2 = None
        for e in range(4):
            n, t = grid[:, 5 + e], grid[:, 9 + e]
            over = t - t.clamp(min=0).minimum(length[:, e, None, None])
            d2 = n * n + over * over
            dist2 = d2 if dist2 is None else torch.minimum(dist2, d2)
        ok = (ok | (dist2 <= radius * radius)) & (s > 0)
    elif clipped:
        # Inside an unclipped face the depth is at least its nearest corner's, so only these need the test.
        ok &= (s > 0) & (zs >= znear * s)
    idx = ok.view(-1).nonzero().squeeze(1)
    cells = bh * bw
    face = torch.div(idx, cells, rounding_mode="floor")
    rest = idx - face * cells
    row = torch.div(rest, bw, rounding_mode="floor")
    pix = pixbase.index_select(0, face) + row * W + (rest - row * bw)
    inst = inst.index_select(0, face)
    if radius <= 0:
        return pix, inst, zs.reshape(-1).index_select(0, idx) / s.reshape(-1).index_select(0, idx)
    # Depth at the clipped barycentrics (equal to the plane's depth inside the face).
    corner_z = depth.index_select(0, face)
    num = torch.zeros_like(corner_z[:, 0])
    den = torch.zeros_like(num)
    for i, w in enumerate((w0, w1, w2)):
        wi = w.reshape(-1).index_select(0, idx).clamp_(min=0)
        num.addcmul_(wi, corner_z[:, i])
        den += wi
    z = num / den
    front = (z >= znear).nonzero().squeeze(1)
    return pix.index_select(0, front), inst.index_select(0, front), z.index_select(0, front)


def _candidates(geom: FaceGeometry, faces: torch.Tensor, start: torch.Tensor, box: torch.Tensor, H: int, W: int,
                radius: float, znear: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All listed (pixel, instance, depth) of `faces`, testing them in groups of equal box size."""
    key = (box[:, 0] * 16385 + box[:, 1]) * 2 + geom.clipped.index_select(0, faces)
    key, order = torch.sort(key, stable=True)
    faces, start, box = faces.index_select(0, order), start.index_select(0, order), box.index_select(0, order)
    forms, length = _linear_forms(geom, faces, radius)
    depth = geom.depth.index_select(0, faces)
    origin = start.to(forms.dtype) + 0.5
    pixbase = (geom.image.index_select(0, faces) * H + start[:, 1]) * W + start[:, 0]
    _, counts = torch.unique_consecutive(key, return_counts=True)
    bounds = [0, *torch.cumsum(counts, 0).tolist()]
    pieces = []
    for a, b in itertools.pairwise(bounds):
        bw, bh = box[a].tolist()
        clipped = bool(geom.clipped[faces[a]])
        step = max(1, _CHUNK // (bw * bh))
        for c in range(a, b, step):
            sl = slice(c, min(b, c + step))
            pieces.append(_test_group(forms[sl], length[sl], depth[sl], origin[sl], pixbase[sl], faces[sl], bw,
                                      bh, W, radius, znear, clipped))
    pix, inst, z = (torch.cat(p) for p in zip(*pieces, strict=True))
    return pix, inst, z


def _top_k(pix: torch.Tensor, inst: torch.Tensor, z: torch.Tensor, K: int, n_pix: int,
           n_inst: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep the K nearest entries of each pixel in `[0, n_pix)`; return (slot, pix, inst) sorted by slot.

    Entries at exactly equal depth (faces meeting at a pixel, e.g. at their shared corner in the blur
    band) are ordered by face instance, lowest first, so the winner is a property of the faces and not
    of the order the candidates were listed in (which depends on the other faces of the batch).
    """
    dev = pix.device
    zbits = z.float().view(torch.int32).long()  # positive floats order like their bit patterns
    if K == 1 and n_inst <= (1 << _IDX_BITS):
        key = (zbits << _IDX_BITS) | inst
        best = torch.full((n_pix,), torch.iinfo(torch.long).max, dtype=torch.long, device=dev)
        best = best.scatter_reduce(0, pix, key, "amin")
        slot = (best != torch.iinfo(torch.long).max).nonzero().squeeze(1)
        winner = best.index_select(0, slot) & ((1 << _IDX_BITS) - 1)
        return slot, slot, winner
    key, order = torch.sort((pix << 32) | zbits)
    tie = key[1:] == key[:-1]
    if bool(tie.any()):
        order = _order_ties_by_instance(tie, order, inst)
    pix = key >> 32
    counts = torch.bincount(pix, minlength=n_pix)
    first = torch.cumsum(counts, 0) - counts
    rank = torch.arange(pix.numel(), device=dev) - first.index_select(0, pix)
    top = (rank < K).nonzero().squeeze(1)
    pix = pix.index_select(0, top)
    return pix * K + rank.index_select(0, top), pix, inst.index_select(0, order.index_select(0, top))


def _order_ties_by_instance(tie: torch.Tensor, order: torch.Tensor, inst: torch.Tensor) -> torch.Tensor:
    """Re-order the runs of equal sort keys (`tie[i]`: entry i + 1 equals entry i) by instance.

    Only the entries of tied runs are sorted again, by (run, instance); runs are contiguous and their
    order is kept, so they land back in the same positions.
    """
    member = torch.zeros(order.numel(), dtype=torch.bool, device=order.device)
    member[1:] |= tie
    member[:-1] |= tie
    run = torch.cat([tie.new_zeros(1, dtype=torch.long), torch.cumsum(~tie, 0)])
    pos = member.nonzero().squeeze(1)
    tied = order.index_select(0, pos)
    resort = torch.sort((run.index_select(0, pos) << _IDX_BITS) | inst.index_select(0, tied)).indices
    return order.index_put((pos,), tied.index_select(0, resort))


def select_pairs(geom: FaceGeometry, H: int, W: int, faces_per_pixel: int, radius: float, cull_backfaces: bool,
                 znear: float, num_images: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The K nearest listed faces of every pixel.

    Images are processed in runs of about `_RUN_CELLS` tested pixels, which bounds the memory that
    the listed candidates take before the top-K cut.

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
    dev = geom.edges.device
    keep = geom.visible
    if cull_backfaces:
        keep = keep & (geom.orient < 0)
    faces = keep.nonzero().squeeze(1)
    start, size = _pixel_boxes(geom.poly.index_select(0, faces), radius, H, W)
    nz = (size > 0).all(1).nonzero().squeeze(1)
    faces, start, size = faces.index_select(0, nz), start.index_select(0, nz), size.index_select(0, nz)
    sizes = torch.tensor(_BOX_SIZES, device=dev)
    image_size = torch.tensor([W, H], device=dev)
    box = sizes[torch.searchsorted(sizes, size)].minimum(image_size)
    start = start.minimum(image_size - box)
    image = geom.image.index_select(0, faces)
    cells = torch.zeros(num_images, dtype=torch.long, device=dev).index_add_(0, image, box[:, 0] * box[:, 1])
    face_bounds = torch.searchsorted(image, torch.arange(num_images + 1, device=dev)).tolist()
    outputs = []
    lo, total = 0, 0
    for img, n in enumerate([*cells.tolist(), None]):
        if n is not None and (total == 0 or total + n <= _RUN_CELLS):
            total += n
            continue
        a, b = face_bounds[lo], face_bounds[img]
        if b > a:
            pix, inst, z = _candidates(geom, faces[a:b], start[a:b], box[a:b], H, W, radius, znear)
            base = lo * H * W
            slot, pix, inst = _top_k(pix - base, inst, z, faces_per_pixel, (img - lo) * H * W,
                                     geom.face_id.shape[0])
            outputs.append((slot + base * faces_per_pixel, pix + base, inst))
        lo, total = img, n or 0
    if not outputs:
        empty = torch.zeros(0, dtype=torch.long, device=dev)
        return empty, empty, empty
    slot, pix, inst = (torch.cat(o) for o in zip(*outputs, strict=True))
    return slot, pix, inst
