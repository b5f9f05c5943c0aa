"""Differentiable barycentrics, depth and boundary distance of selected (pixel, face) pairs.

A hand-written autograd function: the forward keeps no per-pair graph (the backward recomputes the
few terms it needs, in chunks) and the backward scatters closed-form gradients into per-face
tensors. Per-pair arithmetic runs on contiguous rows of a `[32, pairs]` gather of a per-face table
(one `index_select`), because reductions over tiny trailing dimensions are slow in PyTorch; the four
polygon edges are handled together as `[4, pairs]` blocks (few, large kernels: each is one OpenMP
parallel region, see `render3d/THREADING.md`). This keeps soft rasterization (millions of pairs) within memory and
several times faster than plain autograd.
"""

from __future__ import annotations

import torch

from render3d.elementwise import dot

# Pairs processed at once; bounds the temporary memory (~400 bytes a pair in float32).
_CHUNK = 1 << 19
# Columns of the per-face table: edge functions, corner depths, polygon corners, edge vectors, 1/|edge|².
_E, _Z, _A, _AB, _INV, _COLS = 0, 9, 12, 20, 28, 32


def _face_table(edges: torch.Tensor, depth: torch.Tensor, poly: torch.Tensor) -> torch.Tensor:
    """`[32, N]` per-face columns (see `_COLS`)."""
    ab = poly.roll(-1, dims=1) - poly
    ab2 = dot(ab, ab)
    inv = torch.where(ab2 > 0, 1 / torch.where(ab2 > 0, ab2, torch.ones_like(ab2)), torch.zeros_like(ab2))
    return torch.cat([edges.reshape(-1, 9), depth, poly.reshape(-1, 8), ab.reshape(-1, 8), inv], 1).T.contiguous()


def _pair_terms(table: torch.Tensor, inst: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> dict:
    """Per-pair terms shared by forward and backward, each a `[c]` column (or list of columns)."""
    T = table.index_select(1, inst)  # every column in one gather: [32, c], rows contiguous
    w = [torch.addcmul(T[_E + 3 * i + 2], T[_E + 3 * i], u).addcmul_(T[_E + 3 * i + 1], v) for i in range(3)]
    inv_s = (w[0] + w[1] + w[2]).reciprocal_()
    b = [wi * inv_s for wi in w]
    zc = [T[_Z], T[_Z + 1], T[_Z + 2]]
    z = torch.addcmul(b[0] * zc[0], b[1], zc[1]).addcmul_(b[2], zc[2])
    # Depth at the clipped barycentrics relu(b) / sum(relu(b)): the plane's depth inside the face,
    # a point of the face outside it (blur), where the plane's depth may run off to infinity.
    c = [bi.clamp(min=0) for bi in b]
    inv_c = (c[0] + c[1] + c[2]).reciprocal_()
    z_clip = torch.addcmul(c[0] * zc[0], c[1], zc[1]).addcmul_(c[2], zc[2]).mul_(inv_c)
    # the four polygon edges at once, as [4, c] blocks: a quarter of the kernels of an edge loop
    a, ab = T[_A:_A + 8].view(4, 2, -1), T[_AB:_AB + 8].view(4, 2, -1)
    abx, aby = ab[:, 0], ab[:, 1]
    apx, apy = u - a[:, 0], v - a[:, 1]
    t = (apx * abx).addcmul_(apy, aby).mul_(T[_INV:_INV + 4]).clamp_(0, 1)
    rx, ry = apx.addcmul_(t, abx, value=-1), apy.addcmul_(t, aby, value=-1)
    d2, edge = torch.addcmul(rx * rx, ry, ry).min(0)
    pick = edge[None]
    inside = (b[0] >= 0) & (b[1] >= 0) & (b[2] >= 0)
    return {"b": b, "inv_s": inv_s, "zc": zc, "z": z, "c": c, "inv_c": inv_c, "z_clip": z_clip,
            "d": d2.sqrt_(), "edge": edge, "sign": torch.where(inside, -1.0, 1.0).to(u.dtype),
            "t": t.gather(0, pick)[0], "rx": rx.gather(0, pick)[0], "ry": ry.gather(0, pick)[0]}


class _EvaluatePairs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, edges, depth, poly, inst, u, v, affine):
        table = _face_table(edges, depth, poly)
        bary = edges.new_empty(inst.numel(), 3)
        z = edges.new_empty(inst.numel())
        dist = edges.new_empty(inst.numel())
        for a in range(0, inst.numel(), _CHUNK):
            sl = slice(a, a + _CHUNK)
            p = _pair_terms(table, inst[sl], u[sl], v[sl])
            b = torch.stack(p["b"], 1)
            if affine is not None:
                zc = torch.stack(p["zc"], 1)
                b = torch.where(affine[sl, None], b * zc / p["z"][:, None], b)
            bary[sl], z[sl], dist[sl] = b, p["z_clip"], p["sign"] * p["d"]
        ctx.save_for_backward(table, inst, u, v, affine)
        ctx.num_faces = edges.shape[0]
        return bary, z, dist

    @staticmethod
    def backward(ctx, g_bary, g_z, g_dist):
        table, inst, u, v, affine = ctx.saved_tensors
        N = ctx.num_faces
        g_tab = table.new_zeros(12, N)
        g_poly = table.new_zeros(N * 4, 2)
        for a in range(0, inst.numel(), _CHUNK):
            sl = slice(a, a + _CHUNK)
            ic, uc, vc = inst[sl], u[sl], v[sl]
            p = _pair_terms(table, ic, uc, vc)
            b, zc, z = p["b"], p["zc"], p["z"]
            gb = list(g_bary[sl].T)
            gz = g_z[sl]
            c, inv_c, z_clip = p["c"], p["inv_c"], p["z_clip"]
            g_zc = [gz * ci * inv_c for ci in c]
            if affine is not None:
                # Affine output o_i = b_i zc_i / z with z = sum_j b_j zc_j.
                aff = affine[sl]
                inv_z = z.reciprocal()
                dot = sum(gb[i] * b[i] * zc[i] for i in range(3)) * inv_z
                proj = [gbi - dot for gbi in gb]
                g_zc = [torch.where(aff, g_zc[i] + b[i] * proj[i] * inv_z, g_zc[i]) for i in range(3)]
                gb = [torch.where(aff, zc[i] * proj[i] * inv_z, gb[i]) for i in range(3)]
            g_b = [torch.where(b[i] > 0, gb[i] + gz * (zc[i] - z_clip) * inv_c, gb[i]) for i in range(3)]
            dot = g_b[0] * b[0] + g_b[1] * b[1] + g_b[2] * b[2]
            g_w = [(g_b[i] - dot) * p["inv_s"] for i in range(3)]
            cols = [c for gw in g_w for c in (gw * uc, gw * vc, gw)] + g_zc
            for k, col in enumerate(cols):
                g_tab[k].index_add_(0, ic, col)
            # Nearest point on the nearest edge A→B at parameter t: d|r|/dA = -(1-t) r/|r|, d|r|/dB = -t r/|r|.
            d = p["d"]
            scale = g_dist[sl] * p["sign"] / torch.where(d > 0, d, torch.ones_like(d))
            r = torch.stack([p["rx"], p["ry"]], 1) * scale[:, None]
            t = p["t"][:, None]
            g_poly.index_add_(0, ic * 4 + p["edge"], -(1 - t) * r)
            g_poly.index_add_(0, ic * 4 + (p["edge"] + 1) % 4, -t * r)
        return g_tab[:9].T.reshape(N, 3, 3), g_tab[9:].T, g_poly.view(N, 4, 2), None, None, None, None


def evaluate_pairs(edges: torch.Tensor, depth: torch.Tensor, poly: torch.Tensor, inst: torch.Tensor,
                   u: torch.Tensor, v: torch.Tensor,
                   affine: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Barycentrics, depth and signed boundary distance of pixel centers in faces.

    Args:
        edges: `[N, 3, 3]` homogeneous edge functions of the face instances.
        depth: `[N, 3]` camera depth of their corners.
        poly: `[N, 4, 2]` their visible screen polygons (pixels).
        inst: `[S]` long, the face instance of each pair.
        u, v: `[S]` pixel-center coordinates of each pair.
        affine: `[S]` bool, pairs whose barycentrics are made affine in screen space, or None.

    Returns:
        `bary: [S, 3]` (perspective-correct unless affine), `z: [S]` camera depth of the surface
        point (at the clipped barycentrics when the pixel center lies outside the face), `dist: [S]`
        distance to the polygon boundary in pixels, negative when the pixel center is inside the face.
    """
    return _EvaluatePairs.apply(edges, depth, poly, inst, u, v, affine)
