"""Latitude-longitude UVs for a closed mesh around the origin (the icosphere), with the seam cut.

The map is the one every surface of revolution here uses: u = atan2(x, z) / 2π (0 on +Z, growing
toward +X), v = acos(-y / |p|) / π (0 at the south pole). A mesh whose triangles cross the u = 0|1
meridian cannot carry these UVs per vertex: a triangle with corners at u = 0.98 and u = 0.02 would
interpolate across the whole texture (a smeared band along the seam). So the triangles crossing the
seam half-plane {x = 0, z > 0} are split there, at points on their own edges (the surface does
not move and neighbors split the shared edge at the same point, so no crack opens), and every
vertex on the seam is duplicated: u = 0 for the triangles east of it, u = 1 for those west of it.
Pole vertices, where u is undefined, get per triangle the mean u of the triangle's other corners.
"""

from __future__ import annotations

import math

import torch

from scenes.assets.geometry import MeshData


def _cut_seam(verts: torch.Tensor, faces: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Split the triangles crossing the seam half-plane along it; returns (verts, faces)."""
    n = verts.shape[0]
    x = verts[:, 0]
    side = torch.where(x.abs() <= eps, 0, torch.sign(x)).long()
    a, b = faces, faces.roll(-1, 1)  # [F, 3]: edge k runs from corner k to corner k + 1
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    crosses = side[lo] * side[hi] < 0
    t = x[lo] / (x[lo] - x[hi]).where(crosses, torch.ones_like(x[lo]))
    hit = verts[lo] + t[..., None] * (verts[hi] - verts[lo])
    # Crossings behind the axis (z < 0) lie on the u = 0.5 meridian, where u is continuous; a
    # crossing on the axis itself (z = 0) is a pole, which also needs its own vertex.
    cut = crosses & (hit[..., 2] > -eps)
    if not cut.any():
        return verts, faces
    # One new vertex per cut edge, shared by the two triangles on either side of it.
    keys, first = torch.unique((lo * n + hi)[cut], return_inverse=True)
    mids = torch.full_like(faces, -1)
    mids[cut] = n + first
    points = torch.zeros(len(keys), 3, dtype=verts.dtype).index_copy_(0, first, hit[cut])
    keep, extra = ~cut.any(1), []
    for tri, mid in zip(faces[~keep].tolist(), mids[~keep].tolist(), strict=True):
        cuts = [k for k in range(3) if mid[k] >= 0]
        if len(cuts) == 2:
            # Rotate so the lone corner is first: its two edges (0→1 and 2→0) are the cut ones.
            r = next(k for k in range(3) if mid[k] >= 0 and mid[(k + 2) % 3] >= 0)
            p, q, s = tri[r], tri[(r + 1) % 3], tri[(r + 2) % 3]
            m_pq, m_sp = mid[r], mid[(r + 2) % 3]
            extra += [[p, m_pq, m_sp], [m_pq, q, s], [m_pq, s, m_sp]]
        else:
            # One cut edge q→s; the corner p opposite it lies on the seam plane.
            r = cuts[0]
            q, s, p = tri[r], tri[(r + 1) % 3], tri[(r + 2) % 3]
            extra += [[p, q, mid[r]], [p, mid[r], s]]
    return torch.cat([verts, points]), torch.cat([faces[keep], torch.tensor(extra, dtype=faces.dtype)])


def spherical_uvs(verts: torch.Tensor, faces: torch.Tensor) -> MeshData:
    """Cut the seam and assign latitude-longitude UVs.

    Args:
        verts: `[V, 3]` positions around the origin (float64 recommended: seam tests are exact).
        faces: `[F, 3]` long, counter-clockwise seen from outside.

    Returns:
        `MeshData` with float32 positions (seam and pole vertices duplicated, cut points added),
        faces, `[V', 2]` UVs in [0, 1], and normals None.

    Example:
        >>> v = torch.tensor([[0.0, 1, 0], [0, -1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, 0, -1]])
        >>> f = torch.tensor([[0, 4, 2], [0, 2, 5], [0, 5, 3], [0, 3, 4], [1, 2, 4], [1, 5, 2], [1, 3, 5],
        ...                   [1, 4, 3]])
        >>> m = spherical_uvs(v.double(), f)
        >>> float(m.uvs.min()), float(m.uvs.max())
        (0.0, 1.0)
    """
    scale = float(verts.abs().max())
    eps = 1e-9 * scale
    verts, faces = _cut_seam(verts.double(), faces, eps)
    corner = verts[faces]  # [F, 3, 3]
    x, y, z = corner.unbind(-1)
    pole = torch.hypot(x, z) <= eps
    seam = (x.abs() <= eps) & (z > 0) & ~pole
    u = torch.remainder(torch.atan2(x, z) / (2 * math.pi), 1.0)
    free = ~pole & ~seam
    mean_free = (u * free).sum(1) / free.sum(1).clamp(min=1)
    west = mean_free > 0.5
    u = torch.where(seam, west[:, None].double().expand_as(u), u)
    others = ~pole
    u = torch.where(pole, ((u * others).sum(1) / others.sum(1).clamp(min=1))[:, None].expand_as(u), u)
    v = torch.arccos((-y / corner.norm(dim=-1).clamp(min=eps)).clamp(-1, 1)) / math.pi
    # One output vertex per distinct (position, uv). A vertex has one uv except on the seam (two:
    # east and west) and at a pole (one per triangle), so an integer key per corner names it.
    f = faces.shape[0]
    variant = torch.where(pole, 2 + torch.arange(f)[:, None], torch.where(seam, west[:, None].long(), 0))
    uniq, inverse = torch.unique(faces * (f + 2) + variant, return_inverse=True)
    slot = torch.empty(len(uniq), dtype=torch.long).scatter_(0, inverse.reshape(-1), torch.arange(3 * f))
    uvs = torch.stack([u, v], -1).reshape(-1, 2)[slot]
    return MeshData(verts[uniq // (f + 2)].float(), inverse.reshape(-1, 3), uvs.float().clamp(0, 1))
