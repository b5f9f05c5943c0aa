"""The ground-contact prior: an object rests on a horizontal ground plane, and the bottom ends of
the silhouette's downward-pointing parts (legs, feet, a base) touch it.

Seen from a camera pitched down by elevation `e`, a camera-frame ray `(x, y, 1)` (y down) drops by
`y cos e + sin e` per unit of depth, so the ray of a contact at image row v meets a ground plane a
height `H` below the camera at depth `Z = H / (sin e + cos e · (v − cy) / fy)`: a contact lower in
the image is nearer. `H` is unknown; it is fixed by putting the contacts' mean depth on the centre
plane (the object's centre), so only their relative depths come from the prior.

`find_contacts` finds candidate feet: the prominent lowest points of the mask's bottom edge, in its
lower half. Not every candidate stands on the ground (a hanging hand, a tail), so `ground_support`
keeps a set only when it is the footprint of a rigid support: three feet an equilateral triangle
(a tripod) or four a rectangle (legs at its corners) on the floor seen from some elevation between
`MIN_ELEVATION` and `MAX_ELEVATION`, which that footprint's shape then fixes (a rectangle's image is
a trapezoid whose convergence gives the floor's tilt; `estimate_elevation`), or from the elevation the
user gives. A set that fits no footprint loses its highest candidate (the one a floor explains worst:
a limb hanging above the others' line) and is tried again. Two feet are no support: their footprint
has no shape to check or to tell the elevation by, and measured as the ends of a wide base (the
depth linear between them) they lost more than they won (bench, dog) — so one or two feet leave the
template alone.

`contact_offsets` gives every mask pixel the depth offset of the feet below it, weighted by how near
their columns are, so a leg and what stands on it move together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A foot's end lies at least this share of the mask's height below the bottom edge on either side of it.
FOOT_PROMINENCE = 0.05
# Feet stand in the lower half of the object: a hand hanging higher up is not on the ground.
FOOT_BAND = 0.5
# The elevations a footprint's shape may explain, degrees: a photo of an object on a floor is taken from
# a little above it to well above it, not straight down.
MIN_ELEVATION, MAX_ELEVATION = 3.0, 70.0
# The largest footprint misfit accepted (`footprint_misfit`: share of the footprint's size).
MAX_MISFIT = 0.12


@dataclass(frozen=True)
class Contact:
    """One foot: `(u, v)` image position of its lowest point (pixel centres at +0.5) and its width in pixels."""

    u: float
    v: float
    width: float


@dataclass(frozen=True)
class GroundSupport:
    """The feet the contact prior accepted and the floor they stand on.

    Attributes:
        feet: the accepted feet, lowest (nearest) first.
        elevation: the camera's elevation above the floor, degrees.
        source: where the elevation came from: "feet" (the footprint's shape) or "given".
        kind: "tripod" or "rectangle".
        rejected: the candidates dropped as not standing on the floor.
    """

    feet: tuple[Contact, ...]
    elevation: float
    source: str
    kind: str
    rejected: tuple[Contact, ...] = ()

    def describe(self) -> str:
        """In words, for the report: e.g. "4 feet (a rectangle) on a floor seen from 29.5° (from the feet)"."""
        names = {"tripod": "a tripod", "rectangle": "a rectangle"}
        src = {"feet": "from the feet", "given": "given"}[self.source]
        dropped = f", {len(self.rejected)} candidate{'s' if len(self.rejected) > 1 else ''} off the floor" \
            if self.rejected else ""
        return f"{len(self.feet)} feet ({names[self.kind]}{dropped}) on a floor seen from {self.elevation:.1f}° ({src})"

    def as_dict(self) -> dict:
        """JSON-ready: feet as `[u, v]` pixels, the elevation and where it came from."""
        return {"feet": [[round(c.u, 1), round(c.v, 1)] for c in self.feet], "elevation": round(self.elevation, 2),
                "elevation_source": self.source, "kind": self.kind,
                "rejected": [[round(c.u, 1), round(c.v, 1)] for c in self.rejected]}


def find_contacts(mask: np.ndarray) -> list[Contact]:
    """The candidate feet of a mask: the lowest points of its bottom edge that stand out from the
    columns either side by at least `FOOT_PROMINENCE` of the mask's height (a leg's end, not a belly).

    Example:
        >>> m = np.zeros((40, 40), bool); m[5:10, 5:35] = True  # a table top
        >>> m[10:30, 6:9] = True; m[10:36, 30:33] = True        # two legs, the right one lower
        >>> [(c.u, c.v) for c in find_contacts(m)]
        [(7.5, 29.5), (31.5, 35.5)]
    """
    from scipy.signal import find_peaks

    rows = np.nonzero(mask.any(1))[0]
    if len(rows) < 3:
        return []
    H = mask.shape[0]
    # Bottom edge per column, -1 outside, padded so a foot at the mask's side still has two sides.
    bottom = np.where(mask.any(0), H - 1 - np.argmax(mask[::-1], axis=0), -1).astype(float)
    padded = np.concatenate([[-1.0], bottom, [-1.0]])
    prominence = max(2.0, FOOT_PROMINENCE * (rows[-1] - rows[0] + 1))
    peaks, props = find_peaks(padded, prominence=prominence, plateau_size=1)
    out = []
    for p, left, right in zip(peaks, props["left_edges"], props["right_edges"], strict=True):
        if padded[p] < rows[-1] - FOOT_BAND * (rows[-1] - rows[0] + 1):
            continue
        out.append(Contact(float(0.5 * (left + right) - 1 + 0.5), float(padded[p] + 0.5), float(right - left + 1)))
    return out


def floor_rays(uv: np.ndarray, fx: float, fy: float, cx: float, cy: float, elevation_deg: float) -> np.ndarray:
    """The rays of image points `uv: [n, 2]` in the floor frame (across, ahead along the horizontal viewing
    direction, up) per unit of camera depth: `[n, 3]` (the camera looks down by `elevation_deg`)."""
    e = np.deg2rad(elevation_deg)
    x, y = (uv[:, 0] - cx) / fx, (uv[:, 1] - cy) / fy
    return np.stack([x, np.cos(e) - y * np.sin(e), -(y * np.cos(e) + np.sin(e))], 1)


def floor_points(uv: np.ndarray, fx: float, fy: float, cx: float, cy: float, elevation_deg: float) -> np.ndarray:
    """Where the rays of image points `uv: [n, 2]` meet a floor one unit below the camera: `[n, 2]`
    (across, along the horizontal viewing direction), or inf where a ray misses it (at or above the horizon)."""
    ray = floor_rays(uv, fx, fy, cx, cy, elevation_deg)
    drop = -ray[:, 2]
    z = np.where(drop > 1e-6, 1.0 / np.maximum(drop, 1e-6), np.inf)
    return z[:, None] * ray[:, :2]


def footprint_misfit(points: np.ndarray) -> float:
    """How far floor points `[n, 2]` are from a rigid support's footprint, as a share of its size: three
    from an equilateral triangle (spread of the sides over their mean), four from a rectangle (the
    diagonals' midpoints apart and their lengths unequal, over the mean diagonal); inf otherwise."""
    if not np.isfinite(points).all():
        return float("inf")
    if len(points) == 3:
        sides = np.linalg.norm(points - np.roll(points, 1, axis=0), axis=1)
        return float((sides.max() - sides.min()) / max(sides.mean(), 1e-12))
    if len(points) == 4:
        c = points.mean(0)
        p = points[np.argsort(np.arctan2(points[:, 1] - c[1], points[:, 0] - c[0]))]
        d1, d2 = p[2] - p[0], p[3] - p[1]
        size = max(0.5 * (np.linalg.norm(d1) + np.linalg.norm(d2)), 1e-12)
        apart = np.linalg.norm(0.5 * (p[0] + p[2]) - 0.5 * (p[1] + p[3]))
        return float(np.hypot(apart, np.linalg.norm(d1) - np.linalg.norm(d2)) / size)
    return float("inf")


def estimate_elevation(contacts: list[Contact], fx: float, fy: float, cx: float, cy: float) -> tuple[float, float]:
    """The camera elevation (degrees, within `MIN_ELEVATION`..`MAX_ELEVATION`) at which three or four
    feet are most nearly a tripod's or a rectangle's footprint on the floor, and that misfit
    (`footprint_misfit`; nan and inf for other counts).

    Example:
        >>> import math
        >>> f, e = 100.0, math.radians(30)
        >>> def project(x, z):  # a floor point 1 below the camera, z ahead along the ground
        ...     yc, zc = math.cos(e) - z * math.sin(e), math.sin(e) + z * math.cos(e)
        ...     return Contact(50 + f * x / zc, 50 + f * yc / zc, 1.0)
        >>> feet = [project(x, z) for x in (-0.3, 0.3) for z in (2.8, 3.2)]
        >>> round(estimate_elevation(feet, f, f, 50.0, 50.0)[0], 1)
        30.0
    """
    if len(contacts) not in (3, 4):
        return float("nan"), float("inf")
    from scipy.optimize import minimize_scalar

    uv = np.array([[c.u, c.v] for c in contacts])

    def misfit(e: float) -> float:
        return footprint_misfit(floor_points(uv, fx, fy, cx, cy, e))

    grid = np.arange(MIN_ELEVATION, MAX_ELEVATION + 1e-9, 0.5)
    best = float(grid[int(np.argmin([misfit(e) for e in grid]))])
    lo, hi = max(MIN_ELEVATION, best - 0.5), min(MAX_ELEVATION, best + 0.5)
    res = minimize_scalar(misfit, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    e = float(res.x) if res.fun <= misfit(best) else best
    return e, misfit(e)


def ground_support(contacts: list[Contact], fx: float, fy: float, cx: float, cy: float,
                   elevation: float | None = None) -> GroundSupport | None:
    """The feet that stand on one floor as a rigid support, and that floor's elevation.

    Tries the candidates lowest first: all of them, then without the highest, and so on, until they are a
    tripod's or a rectangle's footprint (`footprint_misfit` ≤ `MAX_MISFIT` at the elevation their shape
    gives, or at `elevation` when given). A candidate dropped on the way is one no floor explains: a
    hanging hand, a tail.

    Args:
        contacts: the candidates (`find_contacts`).
        fx, fy, cx, cy: the camera's intrinsics, pixels.
        elevation: the camera's elevation when known (degrees); None: from the feet.

    Returns:
        the `GroundSupport`, or None when no three or four candidates are one.

    Example:
        >>> m = np.zeros((100, 100), bool); m[40:50, 20:80] = True  # a seat on two legs
        >>> m[50:80, 22:26] = True; m[50:70, 74:78] = True
        >>> ground_support(find_contacts(m), 100.0, 100.0, 50.0, 50.0) is None  # two feet: no support
        True
    """
    cand = sorted(contacts, key=lambda c: -c.v)
    rejected: list[Contact] = []
    while len(cand) >= 3:
        if len(cand) <= 4:
            if elevation is None:
                e, misfit = estimate_elevation(cand, fx, fy, cx, cy)
            else:
                e = elevation
                misfit = footprint_misfit(floor_points(np.array([[c.u, c.v] for c in cand]), fx, fy, cx, cy, e))
            if misfit <= MAX_MISFIT:
                return GroundSupport(tuple(cand), e, "feet" if elevation is None else "given",
                                     "tripod" if len(cand) == 3 else "rectangle", tuple(rejected))
        rejected.append(cand.pop())
    return None


def contact_depths(contacts: list[Contact] | tuple[Contact, ...], fy: float, cy: float, elevation_deg: float,
                   depth: float) -> np.ndarray | None:
    """Camera-frame depth of each contact on the ground plane, their mean put at `depth`.

    Args:
        contacts: the feet (`ground_support`).
        fy, cy: the camera's vertical focal length and principal row, pixels.
        elevation_deg: how far the camera looks down.
        depth: depth of the object's centre plane.

    Returns:
        `[n]` depths, or None when fewer than two feet or one lies at or above the horizon.

    Example:
        >>> cs = [Contact(10.0, 80.0, 2.0), Contact(30.0, 100.0, 2.0)]
        >>> [round(float(z), 3) for z in contact_depths(cs, 100.0, 50.0, 0.0, 3.0)]
        [3.75, 2.25]
    """
    if len(contacts) < 2:
        return None
    e = np.deg2rad(elevation_deg)
    drop = np.sin(e) + np.cos(e) * (np.array([c.v for c in contacts]) - cy) / fy
    if (drop <= 1e-3).any():
        return None
    g = 1.0 / drop
    return depth * g / g.mean()


def contact_offsets(mask: np.ndarray, uv: np.ndarray, contacts: list[Contact] | tuple[Contact, ...],
                    depths: np.ndarray, depth: float) -> np.ndarray:
    """Depth offset `[m]` at points `uv: [m, 2]`: the feet's offsets from `depth`, averaged with weights
    falling off with the column distance beyond each foot's width (a Gaussian of the mask's width / 8).

    Args:
        mask: `[H, W]` bool, the object.
        uv: `[m, 2]` image points.
        contacts: the feet; depths: `[n]` their depths (`contact_depths`); depth: the centre plane's.

    Returns:
        `[m]` camera-frame depth offsets.
    """
    cu = np.array([c.u for c in contacts])
    dz = depths - depth
    cols = np.nonzero(mask.any(0))[0]
    sigma = max(1.0, (cols[-1] - cols[0] + 1) / 8.0)
    cw = np.array([c.width for c in contacts])
    du = np.maximum(np.abs(uv[:, :1] - cu[None]) - 0.5 * cw[None], 0.0)
    w = np.exp(-0.5 * (du / sigma) ** 2)
    return (w * dz[None]).sum(1) / np.maximum(w.sum(1), 1e-12)
