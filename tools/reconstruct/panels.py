"""The upright-panel prior: a large part rising above what a support's legs hold up is a thin upright
slab standing on one side of the footprint (a chair's backrest), not a blob as deep as it is wide.

Once the contact and rigid-legs priors (`tools.reconstruct.contacts`, `tools.reconstruct.support`) have
stood the feet on a floor seen from elevation `e` (camera one unit above it; a ray `(x, y, 1)` runs over
the floor along `q = (x, cos e − y sin e)` per unit of camera depth and drops `y cos e + sin e`), the
legs' upper ends carry a top (a seat) at the highest end's height. The parts of furniture are cut from
one stock: the top is taken as thick as the legs are wide, and so is a panel.

A side of the footprint (two feet `f1, f2`) spans an upright plane; a ray meets it at depth
`Z = (f1 × g) / (q × g)`, `g = f2 − f1`, where its point stands `1 − Z (y cos e + sin e)` above the floor.
The panel is the mask's region (legs excluded) whose points on that plane stand above the top: it is
accepted when its image columns match the side's legs' (a panel is as wide as the legs that hold it,
overlap IoU ≥ `SIDE_IOU`; of the sides that match, the farthest: the side a photo of a chair shows
its backrest on) and it rises above the top by at least `MIN_RISE` of its width along the side
(upright, not the far rim of a seat). Its pixels then put their chords on that plane moved half a leg's
width away from the camera (the feet are read off the near edges of round leg ends: the plane through the
legs' axes), as thick as the legs along the plane's normal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from tools.reconstruct.contacts import floor_rays
from tools.reconstruct.support import SupportLegs

# A panel's image columns overlap those of the legs of its footprint side at least this well (IoU).
SIDE_IOU = 0.6
# A panel rises above the top by at least this share of its width along its side.
MIN_RISE = 0.5
# A panel covers at least this share of the mask.
MIN_AREA = 0.05
# A chord through the slab is at most this many slab thicknesses long (rays grazing the plane).
MAX_CHORD = 3.0


@dataclass(frozen=True)
class UprightPanel:
    """One thin upright panel on a side of a support's footprint.

    Attributes:
        region: `[H, W]` bool, the panel's pixels.
        sides: `(i, j)` the feet (indices into the support's footprint) whose side it stands on.
        thickness: the slab's thickness in camera heights (the legs' width).
        rise: how far it rises above the top, in camera heights.
    """

    region: np.ndarray
    sides: tuple[int, int]
    thickness: float
    rise: float

    def describe(self) -> str:
        """In words, for the report: e.g. "a thin upright panel on the footprint's side of feet 2-3
        (0.051 thick, rising 0.46, camera heights)"."""
        return f"a thin upright panel on the footprint's side of feet {self.sides[0]}-{self.sides[1]} " \
            f"({self.thickness:.3f} thick, rising {self.rise:.2f}, camera heights)"

    def chords(self, uv: np.ndarray, legs: SupportLegs, fx: float, fy: float, cx: float,
               cy: float) -> tuple[np.ndarray, np.ndarray]:
        """Camera depth of the panel's mid-plane along each ray and the chord's half length in camera
        depth, both `[m]` for points `uv: [m, 2]` (camera-frame units: times `legs.scale`). The mid-plane
        is the side's upright plane moved half a leg's width away from the camera (through the legs' axes)."""
        f1, f2 = legs.footprint[self.sides[0]], legs.footprint[self.sides[1]]
        g = (f2 - f1) / np.linalg.norm(f2 - f1)
        away = np.array([-g[1], g[0]])
        away = away if away @ (f1 + f2) > 0 else -away
        # A round foot's lowest visible point is its near edge: the legs' axes, and the panel on them, lie
        # half a leg's width farther.
        f1, f2 = f1 + 0.5 * self.thickness * away, f2 + 0.5 * self.thickness * away
        z, _, _ = _on_plane(uv, f1, f2, legs.elevation, fx, fy, cx, cy)
        ray = floor_rays(uv, fx, fy, cx, cy, legs.elevation)
        normal = np.array([-g[1], g[0], 0.0])
        # Along the ray, the slab's half thickness spans this much camera depth.
        per_depth = np.abs(ray @ normal)
        half = 0.5 * self.thickness / np.maximum(per_depth, 1.0 / MAX_CHORD * np.linalg.norm(ray, axis=1))
        return legs.scale * z, legs.scale * half


def _on_plane(uv: np.ndarray, f1: np.ndarray, f2: np.ndarray, elevation: float, fx: float, fy: float,
              cx: float, cy: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the rays of `uv: [m, 2]` meet the upright plane through floor points f1, f2: camera depth
    `[m]` (camera heights), height above the floor `[m]` and position along the side `[m]` (0 at f1, 1 at
    f2); nan where a ray runs along the plane."""
    ray = floor_rays(uv, fx, fy, cx, cy, elevation)
    q, g = ray[:, :2], f2 - f1
    cross = q[:, 0] * g[1] - q[:, 1] * g[0]
    z = (f1[0] * g[1] - f1[1] * g[0]) / np.where(np.abs(cross) > 1e-12, cross, np.nan)
    along = ((z[:, None] * q - f1) @ g) / max(float(g @ g), 1e-12)
    return z, 1.0 + z * ray[:, 2], along


def _sides(footprint: np.ndarray) -> list[tuple[int, int]]:
    """The footprint's sides: consecutive feet around its centre."""
    c = footprint.mean(0)
    order = np.argsort(np.arctan2(footprint[:, 1] - c[1], footprint[:, 0] - c[0]))
    return [(int(order[k]), int(order[(k + 1) % len(order)])) for k in range(len(order))]


def _columns_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / max(union, 1e-12)


def find_panel(mask: np.ndarray, legs: SupportLegs, fx: float, fy: float, cx: float,
               cy: float) -> UprightPanel | None:
    """The upright panel standing on a side of the support's footprint, if the mask shows one.

    Args:
        mask: `[H, W]` bool; legs: the support's legs (`support_legs`); fx, fy, cx, cy: intrinsics, pixels.

    Returns:
        the `UprightPanel`, or None.
    """
    H, W = mask.shape
    rows, cols = np.nonzero(mask & (legs.legs < 0))
    if len(rows) == 0:
        return None
    uv = np.stack([cols + 0.5, rows + 0.5], 1)
    n = len(legs.footprint)
    ends_z = legs.depth(legs.ends, np.arange(n), fx, fy, cx, cy) / legs.scale
    heights = 1.0 + ends_z * floor_rays(legs.ends, fx, fy, cx, cy, legs.elevation)[:, 2]
    # The legs' widths: pixels per leg row, at each leg's depth.
    widths = []
    for k in range(n):
        leg = legs.legs == k
        if leg.any():
            widths.append(leg.sum() / max(int(leg.any(1).sum()), 1) * ends_z[k] / fx)
    thickness = float(np.median(widths)) if widths else 0.0
    top = float(heights.max()) + thickness
    best = None
    for i, j in _sides(legs.footprint):
        f1, f2 = legs.footprint[i], legs.footprint[j]
        z, h, along = _on_plane(uv, f1, f2, legs.elevation, fx, fy, cx, cy)
        above = np.zeros((H, W), bool)
        above[rows, cols] = np.isfinite(h) & (h > top) & (z > 0)
        lab, k = ndimage.label(above)
        if k == 0:
            continue
        sizes = ndimage.sum(above, lab, index=np.arange(1, k + 1))
        region = lab == 1 + int(np.argmax(sizes))
        if region.sum() < MIN_AREA * mask.sum():
            continue
        pc = np.nonzero(region.any(0))[0]
        side_cols = []
        for f in (i, j):
            leg_cols = np.nonzero((legs.legs == f).any(0))[0]
            side_cols += [leg_cols.min(), leg_cols.max() + 1] if len(leg_cols) else [legs.ends[f, 0]]
        overlap = _columns_iou((pc[0], pc[-1] + 1.0), (min(side_cols), max(side_cols)))
        if overlap < SIDE_IOU:
            continue
        sel = region[rows, cols]
        rise = float(np.nanmax(h[sel]) - top)
        span = float(np.linalg.norm(f2 - f1))
        width = float(np.ptp(along[sel])) * span
        if rise < MIN_RISE * width:
            continue
        distance = float(0.5 * (f1 + f2)[1])
        if best is None or distance > best[0]:
            best = (distance, UprightPanel(region, (i, j), thickness, rise))
    return None if best is None else best[1]
