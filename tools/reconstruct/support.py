"""The rigid-legs prior: a support's legs are straight rods, upright or leaning towards its centre,
and what they hold up sits where they end.

Once the contact prior (`tools.reconstruct.contacts`) has stood three or four feet on a floor seen
from elevation `e` (camera one unit above it; a ray `(x, y, 1)` runs over the floor along
`q = (x, cos e − y sin e)` per unit of camera depth), every leg is followed up the mask from its foot:
the run of mask pixels through the leg's column, as long as it stays about as wide as the leg is
near its foot (`trace_legs`). A leg pixel's 3D point is where its ray meets the upright plane through
the leg's foot `f` and the footprint's centre `g`: `Z q = f + s (g − f)`, solved for the depth `Z`.
That plane holds an upright leg (any upright plane through its foot does) and one leaning towards the
centre, as a tripod's or a stool's legs do. A ray whose floor track runs too nearly along that plane
meets the upright line over the foot instead (`Z = f·q / q·q`).

The rest of the object (the top, a seat, a backrest) is moved as the contact prior moves it by its
feet, but by the depths of the legs' visible upper ends instead of the feet's: what legs hold up
is where they end, not where they stand (a stool's legs meet under its seat's centre).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.reconstruct.contacts import Contact, GroundSupport, floor_points, floor_rays

# A leg ends where its row run is wider than this many times its width near the foot (plus 2 px).
WIDEN = 2.0
# Below this sine of the angle between a ray's floor track and its leg's plane, the leg is taken upright.
LEAN_CONDITION = 0.25


@dataclass(frozen=True)
class SupportLegs:
    """The legs of a rigid support.

    Attributes:
        legs: `[H, W]` int, the foot index of every leg pixel, -1 elsewhere.
        ends: `[n, 2]` the image point of each leg's visible upper end.
        footprint: `[n, 2]` the feet on the floor (across, ahead), camera height 1.
        scale: camera-frame units per camera height (the feet's mean depth is the centre plane's).
        elevation: the camera's elevation above the floor, degrees.
    """

    legs: np.ndarray
    ends: np.ndarray
    footprint: np.ndarray
    scale: float
    elevation: float

    def depth(self, uv: np.ndarray, foot: np.ndarray, fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
        """Camera-frame depth `[m]` of points `uv: [m, 2]` on the legs of feet `foot: [m]` (indices).

        Example:
            >>> import math
            >>> f, e = 100.0, math.radians(30)
            >>> def project(x, a, up):  # a point `up` above the floor at (x, a), camera 1 above the floor
            ...     zc, yc = a * math.cos(e) + (1 - up) * math.sin(e), (1 - up) * math.cos(e) - a * math.sin(e)
            ...     return [50 + f * x / zc, 50 + f * yc / zc], zc
            >>> feet = np.array([[-0.3, 2.8], [0.3, 2.8], [0.0, 3.3]])
            >>> legs = SupportLegs(np.zeros((1, 1), int), feet, feet, 1.0, 30.0)
            >>> g = feet.mean(0)
            >>> uv, z = project(*(0.5 * (feet[0] + g)), 0.4)  # on the first leg, halfway to the centre
            >>> round(float(legs.depth(np.array([uv]), np.array([0]), f, f, 50.0, 50.0)[0] / z), 6)
            1.0
        """
        q = floor_rays(uv, fx, fy, cx, cy, self.elevation)[:, :2]
        f = self.footprint[foot]
        g = self.footprint.mean(0)[None] - f
        cross = q[:, 0] * g[:, 1] - q[:, 1] * g[:, 0]
        size = np.linalg.norm(q, axis=1) * np.linalg.norm(g, axis=1)
        # Z q = f + s g  →  Z (q × g) = f × g.
        lean = (f[:, 0] * g[:, 1] - f[:, 1] * g[:, 0]) / np.where(np.abs(cross) > 1e-12, cross, 1.0)
        upright = (f * q).sum(1) / (q * q).sum(1)
        return self.scale * np.where(np.abs(cross) > LEAN_CONDITION * size, lean, upright)


def trace_legs(mask: np.ndarray, feet: tuple[Contact, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Follow every foot's leg up the mask.

    Args:
        mask: `[H, W]` bool.
        feet: the feet (a support's, `GroundSupport.feet`).

    Returns:
        `(legs, ends)`: `[H, W]` int foot index of each leg pixel (-1 elsewhere; a pixel two legs share
        keeps the first) and `[n, 2]` the image point of each leg's upper end (the middle of its run in
        its highest row).

    Example:
        >>> m = np.zeros((40, 40), bool); m[5:12, 5:35] = True  # a top on two legs
        >>> m[12:30, 6:9] = True; m[12:36, 30:33] = True
        >>> legs, ends = trace_legs(m, (Contact(31.5, 35.5, 3.0), Contact(7.5, 29.5, 3.0)))
        >>> ends.tolist(), int((legs == 0).sum()), int((legs == 1).sum())
        ([[31.5, 12.5], [7.5, 12.5]], 72, 54)
    """
    H, W = mask.shape
    legs = np.full((H, W), -1)
    ends = []
    height = int(mask.any(1).sum())
    for k, foot in enumerate(feet):
        col = min(max(int(foot.u), 0), W - 1)
        widths: list[int] = []
        row, end = int(foot.v), (foot.u, foot.v)
        while row >= 0 and mask[row, col]:
            lo, hi = col, col
            while lo > 0 and mask[row, lo - 1]:
                lo -= 1
            while hi < W - 1 and mask[row, hi + 1]:
                hi += 1
            w = hi - lo + 1
            near = widths[: max(3, int(0.1 * height))]
            if len(widths) >= 3 and w > WIDEN * float(np.median(near)) + 2:
                break
            widths.append(w)
            legs[row, lo:hi + 1] = np.where(legs[row, lo:hi + 1] < 0, k, legs[row, lo:hi + 1])
            end = (0.5 * (lo + hi + 1), row + 0.5)
            col = (lo + hi) // 2
            row -= 1
        ends.append(end)
    return legs, np.array(ends)


def support_legs(mask: np.ndarray, support: GroundSupport, fx: float, fy: float, cx: float, cy: float,
                 depth: float) -> SupportLegs:
    """The legs of an accepted support (`ground_support`; its feet are below the horizon).

    Args:
        mask: `[H, W]` bool; support: the feet and elevation; fx, fy, cx, cy: intrinsics, pixels;
        depth: the centre plane's depth, where the feet's mean depth is put (as `contact_depths` does).
    """
    uv = np.array([[c.u, c.v] for c in support.feet])
    z_feet = -1.0 / floor_rays(uv, fx, fy, cx, cy, support.elevation)[:, 2]
    legs, ends = trace_legs(mask, support.feet)
    return SupportLegs(legs, ends, floor_points(uv, fx, fy, cx, cy, support.elevation),
                       depth / float(z_feet.mean()), support.elevation)
