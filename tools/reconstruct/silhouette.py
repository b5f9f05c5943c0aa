"""The silhouette template: a closed mesh built from the mask itself, exact in the input view from step 0.

Teddy-style inflation (Igarashi et al. 1999) with a distance-transform height. The mask's
outline, holes included, is traced to sub-pixel accuracy, triangulated (constrained Delaunay,
`triangle`), and every interior point is lifted to `h = sqrt(D · (2R − D))` in front of and behind
the object's centre plane, D its distance to the outline and R the local thickness (the radius of
the largest disk inside the mask covering the point). Cross-sections are then round with the width
the mask shows: a thin ear becomes a thin tube, a body a fat one, and a hole in the mask (a mug
handle) a hole through the surface, so the genus follows the mask.

Points are placed along their own pixel's ray (camera-frame `Z = d ± h·d/f`, `X = (u − cx)·Z/fx`), so
the surface projects exactly onto the mask under perspective. The two sheets share the outline
vertices: the mesh is closed and manifold. The 2D triangulation is refined where the lifted
surface is steep (near the outline), so triangles stay near `edge_px` in 3D too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage
from scipy.spatial import cKDTree

from render3d.cameras import Cameras
from tools.errors import ToolError
from tools.reconstruct.contacts import GroundSupport, contact_depths, contact_offsets, find_contacts, ground_support
from tools.reconstruct.pairs import LegPairs, find_pairs
from tools.reconstruct.panels import UprightPanel, find_panel
from tools.reconstruct.rings import RingRelief, find_rings
from tools.reconstruct.support import SupportLegs, support_legs
from tools.reconstruct.templates import Template

# Holes smaller than this many pixels are mask noise, not topology.
MIN_HOLE_PX = 6


@dataclass(frozen=True)
class SilhouetteMesh:
    """The inflated mask and its bookkeeping.

    Attributes:
        template: the closed mesh (world frame), `sphere` holding the vertices' unit-radius positions
            about the centre, `colors` the photo's colors at each vertex's pixel (when given).
        front: `[V]` bool, the vertex lies on the camera's side of the centre plane (or on the outline).
        partner: `[V]` index of the vertex on the other sheet at the same pixel (itself on the outline).
        holes: number of holes kept (the genus of the surface).
        rings: number of holes the ring prior slanted.
        support: the feet the ground-contact prior stood on a floor (None: not asked for, or none found).
        legs: the support's legs the rigid-legs prior placed (None: not asked for, or no support found).
        panel: the upright panel the panel prior made a thin slab (None: not asked for, or none found).
        pairs: the two legs holding up a body the leg-pairs prior found, deepened where that body is deeper
            (None: not asked for, or none found).
    """

    template: Template
    front: torch.Tensor
    partner: torch.Tensor
    holes: int
    rings: int = 0
    support: GroundSupport | None = None
    legs: SupportLegs | None = None
    panel: UprightPanel | None = None
    pairs: LegPairs | None = None


def _loops(mask: np.ndarray) -> list[np.ndarray]:
    """Closed outline loops `[n, 2]` (u, v in image coordinates) of a boolean mask, on the pixel edges."""
    from skimage.measure import find_contours

    padded = np.pad(mask.astype(np.float64), 1)
    loops = []
    for c in find_contours(padded, 0.5):
        if len(c) < 4 or np.abs(c[0] - c[-1]).max() > 1e-6:
            continue
        # find_contours gives (row, col) of the padded image; pixel centres sit at integer + 0.5.
        loops.append(np.stack([c[:-1, 1] - 0.5, c[:-1, 0] - 0.5], 1))
    return loops


def _resample(loop: np.ndarray, spacing: float) -> np.ndarray:
    """Points every `spacing` (about) along a closed polyline, at least 6."""
    closed = np.concatenate([loop, loop[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(6, int(np.ceil(arc[-1] / spacing)))
    s = np.linspace(0.0, arc[-1], n, endpoint=False)
    return np.stack([np.interp(s, arc, closed[:, 0]), np.interp(s, arc, closed[:, 1])], 1)


def clean_topology(mask: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The largest connected component with holes under `MIN_HOLE_PX` filled.

    Returns:
        `(mask, components found, holes kept)`.
    """
    labels, n = ndimage.label(mask)
    if n == 0:
        raise ToolError("the mask is empty")
    sizes = ndimage.sum(mask, labels, index=np.arange(1, n + 1))
    keep = labels == 1 + int(np.argmax(sizes))
    holes, nh = ndimage.label(ndimage.binary_fill_holes(keep) & ~keep)
    if nh:
        hsize = ndimage.sum(np.ones_like(keep), holes, index=np.arange(1, nh + 1))
        small = np.isin(holes, 1 + np.nonzero(hsize < MIN_HOLE_PX)[0])
        keep = keep | small
        nh = int((hsize >= MIN_HOLE_PX).sum())
    return keep, int(n), nh


def local_thickness(mask: np.ndarray, levels: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the outline `D` and local thickness radius `R` (pixels) at every pixel centre.

    `R(p)` is the radius of the largest disk inside the mask that covers p, found level by level:
    p is covered at radius r when it lies within r of a pixel whose own distance is at least r.

    Example:
        >>> yy, xx = np.mgrid[:64, :64] + 0.5
        >>> D, R = local_thickness((yy - 32) ** 2 + (xx - 32) ** 2 < 20**2)
        >>> round(float(R[32, 45])), float(D[32, 45])
        (19, 6.5)
    """
    # The outline runs along pixel edges, half a pixel before the nearest outside pixel centre.
    D = np.maximum(ndimage.distance_transform_edt(mask) - 0.5, 0.0)
    R = D.copy()
    top = float(D.max())
    for r in np.linspace(0.5, top, levels):
        centers = r <= D
        if not centers.any():
            continue
        near = ndimage.distance_transform_edt(~centers) <= r
        R = np.where(near & mask, np.maximum(R, r), R)
    return D, R


def _bilinear(img: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear lookup of `img: [H, W, ...]` (pixel centres at +0.5) at `uv: [n, 2]`."""
    H, W = img.shape[:2]
    x = np.clip(uv[:, 0] - 0.5, 0, W - 1)
    y = np.clip(uv[:, 1] - 0.5, 0, H - 1)
    x0, y0 = np.minimum(np.floor(x).astype(int), W - 2), np.minimum(np.floor(y).astype(int), H - 2)
    fx, fy = x - x0, y - y0
    if img.ndim == 3:
        fx, fy = fx[:, None], fy[:, None]
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bottom = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _triangulate(loops: list[np.ndarray], hole_points: np.ndarray, spacing: float, height, rounds: int = 2):
    """Constrained quality triangulation of the outline loops, refined where `height(uv)` is steep."""
    import triangle

    verts, segs, start = [], [], 0
    for p in loops:
        n = len(p)
        verts.append(p)
        idx = start + np.arange(n)
        segs.append(np.stack([idx, np.roll(idx, -1)], 1))
        start += n
    pslg = {"vertices": np.concatenate(verts), "segments": np.concatenate(segs)}
    if len(hole_points):
        pslg["holes"] = hole_points
    area = spacing**2 * np.sqrt(3) / 4
    out = triangle.triangulate(pslg, f"pq28a{area:.6f}")
    for _ in range(rounds):
        v, t = out["vertices"], out["triangles"]
        h = height(v)
        p3 = np.concatenate([v, h[:, None]], 1)[t]
        a3 = 0.5 * np.linalg.norm(np.cross(p3[:, 1] - p3[:, 0], p3[:, 2] - p3[:, 0]), axis=1)
        e1, e2 = v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]
        a2 = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
        # Triangles whose lifted area exceeds the target get a smaller 2D area bound; 0.25 px² at least.
        limit = np.maximum(area * a2 / np.maximum(a3, 1e-12), 0.25)
        if (a2 <= limit * 1.05).all():
            break
        out["triangle_max_area"] = limit
        out = triangle.triangulate(out, "rpq28a")
    return out["vertices"], out["triangles"], out["vertex_markers"].reshape(-1) == 1


def _hole_seeds(mask: np.ndarray, outline: list[np.ndarray]) -> np.ndarray:
    """One point `[k, 2]` inside each hole of the mask that the sampled outline loops `outline` enclose.

    A hole's seed is its deepest pixel that lies inside an even number of the loops (outside the
    polygon the triangulation meshes: its outer loop and the hole's): the deepest pixel itself may not
    be, when the hole's loop is sampled more coarsely than its width. A hole none of whose pixels is
    gets no seed, and the triangulation fills it.
    """
    from skimage.measure import points_in_poly

    holes, n = ndimage.label(ndimage.binary_fill_holes(mask) & ~mask)
    seeds = []
    for k in range(1, n + 1):
        region = holes == k
        dist = ndimage.distance_transform_edt(region)
        rows, cols = np.nonzero(region)
        order = np.argsort(-dist[rows, cols], kind="stable")
        pts = np.stack([cols[order] + 0.5, rows[order] + 0.5], 1)
        crossings = sum(points_in_poly(pts, loop).astype(int) for loop in outline)
        inside = np.nonzero((crossings > 0) & (crossings % 2 == 0))[0]
        if len(inside):
            seeds.append(pts[inside[0]])
    return np.array(seeds, dtype=np.float64).reshape(-1, 2)


def _split_chords(uv: np.ndarray, tri: np.ndarray, on_outline: np.ndarray):
    """Split every interior edge joining two outline vertices at its midpoint.

    Both sheets share the outline vertices, so such a chord (across a thin part, say) would be
    an edge of four faces; split, its midpoint gets a height and each sheet its own copy.
    """
    for _ in range(8):
        e = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
        key = np.minimum(e[:, 0], e[:, 1]) * len(uv) + np.maximum(e[:, 0], e[:, 1])
        uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        a, b = uniq // len(uv), uniq % len(uv)
        chord = (counts == 2) & on_outline[a] & on_outline[b]
        if not chord.any():
            break
        # One chord per triangle per pass: a triangle touching two chords waits for the next pass.
        face_edge = inverse.reshape(3, -1).T  # [F, 3]: edge k joins corners k and k+1
        chosen = np.full(len(uniq), False)
        busy = np.zeros(len(tri), bool)
        for f, k in zip(*np.nonzero(chord[face_edge]), strict=True):
            j = face_edge[f, k]
            if chosen[j] or busy[f]:
                continue
            others = np.nonzero((face_edge == j).any(1))[0]
            if busy[others].any():
                continue
            chosen[j] = True
            busy[others] = True
        ids = np.nonzero(chosen)[0]
        mid = len(uv) + np.arange(len(ids))
        mid_of = np.full(len(uniq), -1)
        mid_of[ids] = mid
        uv = np.concatenate([uv, 0.5 * (uv[a[ids]] + uv[b[ids]])])
        on_outline = np.concatenate([on_outline, np.zeros(len(ids), bool)])
        new = []
        for f in range(len(tri)):
            ks = np.nonzero(mid_of[face_edge[f]] >= 0)[0]
            if len(ks) == 0:
                new.append(tri[f])
                continue
            k = ks[0]
            p, q, r = tri[f, k], tri[f, (k + 1) % 3], tri[f, (k + 2) % 3]
            m = mid_of[face_edge[f, k]]
            new += [np.array([p, m, r]), np.array([m, q, r])]
        tri = np.stack(new)
    return uv, tri, on_outline


def _vertex_heights(uv: np.ndarray, boundary: cKDTree, depth_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Heights at the final vertices and the centre of the disk that gives each one its thickness.

    D is the exact distance to the outline, the local thickness `R(p) = max {D(q) : |p − q| <= D(q)}`
    over the vertices q (the largest inscribed disk covering p), and `h = sqrt(D (2R − D))`.

    Returns:
        `h: [n]` in pixels and `centre: [n]`, the index of the vertex q at that disk's centre.
    """
    d = boundary.query(uv)[0]
    pts = torch.from_numpy(uv)
    dq = torch.from_numpy(d)
    R = dq.clone()
    centre = torch.arange(len(uv))
    for chunk in torch.arange(len(uv)).split(2048):
        near = torch.cdist(pts[chunk], pts) <= dq[None]
        R[chunk], centre[chunk] = torch.where(near, dq[None], torch.zeros((), dtype=dq.dtype)).max(1)
    R = np.maximum(R.numpy(), d)
    return depth_ratio * np.sqrt(np.maximum(d * (2 * R - d), 0.0)), centre.numpy()


def _row_heights(loops: list[np.ndarray], uv: np.ndarray, depth_ratio: float) -> np.ndarray:
    """Heights of a surface of revolution about each row's centre: every row's cross-section a circle
    spanning the outline's leftmost and rightmost crossing of that row (for masks one run per row).

    Args:
        loops: the outline loops `[n, 2]` (sub-pixel, see `_loops`).
        uv: `[m, 2]` points inside the outline.
        depth_ratio: depth of the cross-sections relative to their width.

    Returns:
        `h: [m]` in pixels.
    """
    a = np.concatenate(loops)
    b = np.concatenate([np.roll(p, -1, 0) for p in loops])
    lo, hi = np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1])
    left, right = np.full(len(uv), np.inf), np.full(len(uv), -np.inf)
    for chunk in np.array_split(np.arange(len(uv)), max(1, len(uv) // 1024)):
        v = uv[chunk, 1:2]
        crosses = (lo <= v) & (v <= hi) & (hi > lo)
        t = (v - a[:, 1]) / np.where(hi > lo, b[:, 1] - a[:, 1], 1.0)
        u = a[:, 0] + t * (b[:, 0] - a[:, 0])
        left[chunk] = np.where(crosses, u, np.inf).min(1)
        right[chunk] = np.where(crosses, u, -np.inf).max(1)
    left, right = np.minimum(left, uv[:, 0]), np.maximum(right, uv[:, 0])
    c, w = 0.5 * (left + right), 0.5 * (right - left)
    return depth_ratio * np.sqrt(np.maximum(w**2 - (uv[:, 0] - c) ** 2, 0.0))


def _on_legs(mask: np.ndarray, uv: np.ndarray, rays: np.ndarray, mid: np.ndarray, legs: SupportLegs,
             feet: tuple, depth: float, intrinsics: tuple[float, float, float, float]) -> np.ndarray:
    """Chord centres `[m]` along the unit rays `[m, 3]` of the points `uv: [m, 2]`, given `mid: [m]` before
    the contact prior: a leg pixel's on its leg (`SupportLegs.depth`), every other pixel's moved by the legs'
    upper ends' depths (`contact_offsets`, which the contact prior alone feeds the feet's)."""
    H, W = legs.legs.shape
    px = np.clip(uv.astype(int), 0, [W - 1, H - 1])
    leg = legs.legs[px[:, 1], px[:, 0]]
    on_leg = legs.depth(uv, np.maximum(leg, 0), *intrinsics)
    ends = legs.depth(legs.ends, np.arange(len(feet)), *intrinsics)
    held = mid + contact_offsets(mask, uv, feet, ends, depth) / rays[:, 2]
    return np.where(leg >= 0, on_leg / rays[:, 2], held)


def silhouette_mesh(mask: torch.Tensor, camera: Cameras, edge_px: float = 4.0, image: torch.Tensor | None = None,
                    depth_ratio: float = 1.0, rings: bool = True, profile: str = "disk",
                    contacts: bool = False, ground_elevation: float | None = None,
                    legs: bool = False, panels: bool = False, pairs: bool = False) -> SilhouetteMesh:
    """Inflate a mask into a closed mesh whose input-view silhouette is the mask.

    Args:
        mask: `[H, W]` mask (> 0.5 is the object) at the camera's resolution; its largest component is used.
        camera: one camera looking at the world origin, which becomes the centre plane's depth.
        edge_px: target edge length in pixels.
        image: optional `[H, W, 3]` photo: vertex colors are sampled from it.
        depth_ratio: depth of the cross-sections relative to their width (1 = round).
        rings: apply the ring prior (`tools.reconstruct.rings`): elliptical holes are slanted circles.
        profile: "disk": every point as thick as the largest disk inside the mask covering it (round
            parts of any shape); "rows": every row's cross-section a circle (a surface of revolution
            about the image's vertical axis: vases, bottles, lamps; the mask must be one run per row).
        contacts: apply the ground-contact prior (`tools.reconstruct.contacts`): when the outline's feet
            are a rigid support's (`ground_support`), they stand on a horizontal floor and each leg's
            chords move to its foot's depth there. Off, or no support found: every part on the centre plane.
        ground_elevation: the camera's elevation above that floor in degrees, when known; None: from the
            feet (the elevation at which they are a tripod's or a rectangle's footprint).
        legs: with a support found, apply the rigid-legs prior (`tools.reconstruct.support`): each leg
            a straight rod from its foot, upright or leaning towards the footprint's centre, and the rest
            moved by the depths of the legs' upper ends instead of the feet's.
        panels: with legs placed, apply the upright-panel prior (`tools.reconstruct.panels`): a large part
            rising above the legs' top is a thin upright slab on a side of the footprint.
        pairs: without a support, apply the leg-pairs prior (`tools.reconstruct.pairs`): two legs holding
            up a body between them are as deep as that body (leg pairs one behind the other, or boards).

    Returns:
        the `SilhouetteMesh`.

    Raises:
        ToolError: an empty mask or one too small to triangulate.

    Example:
        >>> from tools.reconstruct.render import view_camera
        >>> from render3d.cameras import intrinsics_from_fov
        >>> yy, xx = torch.meshgrid(torch.arange(48) + 0.5, torch.arange(48) + 0.5, indexing="ij")
        >>> ring = (((yy - 24) ** 2 + (xx - 24) ** 2) < 18**2) & (((yy - 24) ** 2 + (xx - 24) ** 2) > 6**2)
        >>> sm = silhouette_mesh(ring.float(), view_camera(intrinsics_from_fov(40, 48, 48), 48, 48, 3.0, 0.0))
        >>> sm.holes, sm.template.verts.shape[1]
        (1, 3)
    """
    m, _, n_holes = clean_topology(mask.detach().cpu().numpy() > 0.5)
    if m.sum() < 8:
        raise ToolError(f"the mask's largest region has {int(m.sum())} pixels; too small to build a mesh")
    loops = _loops(m)
    if not loops:
        raise ToolError("cannot trace the mask's outline")
    dense = np.concatenate(loops)
    R_exact = local_thickness(m)[1]
    R_img = ndimage.gaussian_filter(R_exact, 1.0)
    boundary = cKDTree(dense)

    def height(uv: np.ndarray) -> np.ndarray:
        if profile == "rows":
            return _row_heights(loops, uv, depth_ratio)
        d = boundary.query(uv)[0]
        r = np.maximum(_bilinear(R_img, uv), d)
        return depth_ratio * np.sqrt(np.maximum(d * (2 * r - d), 0.0))

    spacing = float(edge_px)
    # The outline is sampled more densely than the interior: it is what the input view shows.
    outline = [_resample(p, 0.7 * spacing) for p in loops]
    seeds = _hole_seeds(m, outline)
    n_holes = len(seeds)
    uv, tri, on_outline = _triangulate(outline, seeds, spacing, height)
    uv, tri, on_outline = _split_chords(uv, tri, on_outline)
    h, centre = _vertex_heights(uv, boundary, depth_ratio)
    if profile == "rows":
        h = _row_heights(loops, uv, depth_ratio)
    h = np.where(on_outline, 0.0, h)
    n = len(uv)
    inner = np.nonzero(~on_outline)[0]
    back_index = np.arange(n)
    back_index[inner] = n + np.arange(len(inner))
    # Front faces look counter-clockwise in the y-down image (negative 2D cross product): flip
    # triangle's counter-clockwise (positive) output for the front sheet, keep it for the back.
    faces = np.concatenate([tri[:, [0, 2, 1]], back_index[tri]])
    K, R, t = camera.K[0].detach().double(), camera.R[0].detach().double(), camera.t[0].detach().double()
    d = float(t.norm())
    fx, fy, cx, cy = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
    def unit_rays(p: np.ndarray) -> np.ndarray:
        r = np.stack([(p[:, 0] - cx) / fx, (p[:, 1] - cy) / fy, np.ones(len(p))], 1)
        return r / np.linalg.norm(r, axis=1, keepdims=True)

    # Each pixel's chord is centred where its ray passes closest to the centre of the largest disk
    # inside the mask covering it, that centre placed on the centre plane: as for a sphere under
    # perspective, a round part's outline then lies a little nearer than its centre.
    rays = unit_rays(uv)
    centres = unit_rays(uv[centre])
    centres = centres * (d / centres[:, 2])[:, None]
    mid = (rays * centres).sum(1)
    half = h * d / fx
    found = find_rings(m, R_exact) if rings else []
    offset, factor = RingRelief(found).at(uv, _bilinear)
    mid = mid + offset * d / fx / rays[:, 2]
    half = half * factor
    support = ground_support(find_contacts(m), fx, fy, cx, cy, ground_elevation) if contacts else None
    z = None if support is None else contact_depths(support.feet, fy, cy, support.elevation, d)
    if z is None:
        support = None
    rods = None if support is None or not legs else support_legs(m, support, fx, fy, cx, cy, d)
    if rods is not None:
        mid = _on_legs(m, uv, rays, mid, rods, support.feet, d, (fx, fy, cx, cy))
    elif support is not None:
        mid = mid + contact_offsets(m, uv, support.feet, z, d) / rays[:, 2]
    panel = find_panel(m, rods, fx, fy, cx, cy) if rods is not None and panels else None
    if panel is not None:
        px = np.clip(uv.astype(int), 0, [m.shape[1] - 1, m.shape[0] - 1])
        on = panel.region[px[:, 1], px[:, 0]]
        z_plane, z_half = panel.chords(uv, rods, fx, fy, cx, cy)
        mid = np.where(on, z_plane / rays[:, 2], mid)
        half = np.where(on, np.where(on_outline, 0.0, z_half / rays[:, 2]), half)
    paired = find_pairs(m, find_contacts(m)) if pairs and support is None else None
    if paired is not None:
        half = paired.deepen(uv, half * fx / d, height) * d / fx
    uv_all = np.concatenate([uv, uv[inner]])
    cam = np.concatenate([rays * (mid - half)[:, None], rays[inner] * (mid + half)[inner][:, None]])
    world = (torch.from_numpy(cam) - t) @ R
    center = 0.5 * (world.min(0).values + world.max(0).values)
    unit = (world - center) / (world - center).norm(dim=1).max().clamp(min=1e-12)
    colors = None
    if image is not None:
        colors = torch.from_numpy(_bilinear(image.detach().cpu().double().numpy(), uv_all)).float().clamp(0, 1)
    front = torch.zeros(len(uv_all), dtype=torch.bool)
    front[:n] = True
    partner = torch.arange(len(uv_all))
    partner[torch.from_numpy(inner)] = torch.arange(n, len(uv_all))
    partner[n:] = torch.from_numpy(inner)
    template = Template(world.float(), torch.from_numpy(faces).long(), unit.float(), colors)
    return SilhouetteMesh(template, front, partner, n_holes, len(found), support, rods, panel, paired)
