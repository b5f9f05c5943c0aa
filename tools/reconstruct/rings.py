"""The ring prior: a hole whose outline is an ellipse is a circular ring seen at a slant.

The silhouette inflation puts every part's spine in one plane facing the camera, so a tyre, a hoop
or a torus photographed at an angle comes out as an elliptical ring standing in the image plane.
A closed planar curve that looks like an ellipse is far more often a circle seen obliquely than an
ellipse seen face-on (Witkin 1981, shape from contour): its plane is slanted by `acos(b / a)` about
the ellipse's major axis. Which half is nearer a single orthographic view cannot say; perspective
can: a ring's tube has one thickness, so the half where it looks thicker is the near one.

`find_rings` measures each hole: the region the ring's spine encloses (the hole and the inner
half of the tube around it) is an ellipse by its second moments when the region fills that
ellipse; holes of other shapes (a shelf's rectangles) are left alone. `RingRelief` then gives the
silhouette template, at any pixel, the depth offset that tilts the spine's plane and the factor
by which the ray's chord through the tube grows where the slanted tube runs in depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

# A hole is a slanted circle when its spine region fills the ellipse of its moments this well (IoU).
ELLIPSE_IOU = 0.95
# Slants below this are within the measurement's noise: the ring is left facing the camera.
MIN_SLANT_DEG = 10.0
# The two halves' tube widths must differ by this ratio before perspective decides which is near.
NEAR_RATIO = 1.04


@dataclass(frozen=True)
class Ring:
    """One slanted circular ring, in image pixels.

    Attributes:
        centre: `[2]` (u, v) centre of the spine ellipse.
        major: `[2]` unit image direction of its major axis.
        a: spine semi-major axis.
        b: spine semi-minor axis.
        far_sign: +1 when the half on the `minor` side (`major` turned +90° in the image) is the far one, else -1.
        tube: the tube's radius (median local thickness around the hole).
        weight: `[H, W]` how much each pixel belongs to the ring (1 on it, 0 away from it).
    """

    centre: np.ndarray
    major: np.ndarray
    a: float
    b: float
    far_sign: float
    tube: float
    weight: np.ndarray

    @property
    def minor(self) -> np.ndarray:
        return np.array([-self.major[1], self.major[0]])

    @property
    def tan_slant(self) -> float:
        return float(np.sqrt(max(self.a**2 - self.b**2, 0.0)) / self.b)


def _moment_ellipse(region: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """Centre, major-axis direction, semi-axes and IoU with the region of a region's moment ellipse."""
    ys, xs = np.nonzero(region)
    pts = np.stack([xs + 0.5, ys + 0.5], 1)
    centre = pts.mean(0)
    evals, evecs = np.linalg.eigh(np.cov((pts - centre).T))
    # A filled ellipse of semi-axes (a, b) has variances a²/4 and b²/4 along its axes.
    a, b = 2 * np.sqrt(max(evals[1], 1e-12)), 2 * np.sqrt(max(evals[0], 1e-12))
    major = evecs[:, 1]
    H, W = region.shape
    vv, uu = np.mgrid[:H, :W] + 0.5
    q = np.stack([uu - centre[0], vv - centre[1]], -1)
    x, y = q @ major, q @ np.array([-major[1], major[0]])
    inside = (x / a) ** 2 + (y / b) ** 2 <= 1.0
    iou = float((inside & region).sum() / max((inside | region).sum(), 1))
    return centre, major, float(a), float(b), iou


def find_rings(mask: np.ndarray, thickness: np.ndarray) -> list[Ring]:
    """The slanted circular rings around the holes of a mask.

    Args:
        mask: `[H, W]` bool, one component (holes are its enclosed background regions).
        thickness: `[H, W]` local thickness radius R of every pixel (`silhouette.local_thickness`).

    Returns:
        one `Ring` per hole that is an ellipse slanted by more than `MIN_SLANT_DEG`.

    Example:
        A tube of radius 6 px around an ellipse of semi-axes 40 and 20: a circle slanted by 60°
        (equal halves and a horizontal axis: seen from above, the top half is the far one).

        >>> from scipy.spatial import cKDTree
        >>> from tools.reconstruct.silhouette import local_thickness
        >>> t = np.linspace(0, 2 * np.pi, 800)
        >>> spine = cKDTree(np.stack([48 + 40 * np.cos(t), 48 + 20 * np.sin(t)], 1))
        >>> yy, xx = np.mgrid[:96, :96] + 0.5
        >>> m = spine.query(np.stack([xx.ravel(), yy.ravel()], 1))[0].reshape(96, 96) < 6
        >>> ring, = find_rings(m, local_thickness(m)[1])
        >>> slant = float(np.degrees(np.arctan(ring.tan_slant)))
        >>> abs(slant - 60) < 2, float(ring.minor[1] * ring.far_sign) < 0
        (True, True)
    """
    holes, n = ndimage.label(ndimage.binary_fill_holes(mask) & ~mask)
    rings = []
    for k in range(1, n + 1):
        hole = holes == k
        near_hole = ndimage.binary_dilation(hole) & mask
        if near_hole.sum() < 8:
            continue
        tube = float(np.median(thickness[near_hole]))
        dist = ndimage.distance_transform_edt(~hole)
        # The spine runs a tube radius out from the hole: it encloses the hole and the tube's inner half.
        centre, major, a, b, iou = _moment_ellipse(hole | (mask & (dist <= tube)))
        if iou < ELLIPSE_IOU or np.degrees(np.arccos(min(b / a, 1.0))) < MIN_SLANT_DEG:
            continue
        minor = np.array([-major[1], major[0]])
        ys, xs = np.nonzero(near_hole)
        side = (np.stack([xs + 0.5, ys + 0.5], 1) - centre) @ minor
        plus, minus = np.median(thickness[ys, xs][side > 0]), np.median(thickness[ys, xs][side < 0])
        if max(plus, minus) >= NEAR_RATIO * min(plus, minus):
            far_sign = -1.0 if plus > minus else 1.0  # the thicker half is nearer
        elif abs(major[0]) >= np.cos(np.radians(30)):
            # A near-horizontal ring of equal halves: seen from above (photos mostly are), its top half is far.
            far_sign = 1.0 if minor[1] < 0 else -1.0
        else:
            continue
        weight = np.clip(1.0 - (dist - 2 * tube) / (2 * tube), 0.0, 1.0) * mask
        rings.append(Ring(centre, major, a, b, far_sign, tube, weight))
    return rings


@dataclass(frozen=True)
class RingRelief:
    """The rings' effect on the silhouette template, evaluated at vertex positions.

    Attributes:
        rings: the rings found (see `find_rings`).
    """

    rings: list[Ring]

    def at(self, uv: np.ndarray, weight_at) -> tuple[np.ndarray, np.ndarray]:
        """Depth offsets (pixels; times depth/focal length gives world units) and chord factors at `uv: [n, 2]`.

        Args:
            uv: image positions.
            weight_at: `(image [H, W], uv) -> [n]` bilinear lookup.

        Returns:
            `(offset [n], factor [n])`: the depth of the spine relative to the ring's centre
            (positive = farther), and how much longer the ray's chord through the tube is than
            through a tube facing the camera.
        """
        offset = np.zeros(len(uv))
        factor = np.ones(len(uv))
        for r in self.rings:
            w = weight_at(r.weight, uv)
            q = uv - r.centre
            x, y = q @ r.major, q @ r.minor
            # Every point of the tube takes the depth of the spine point at its elliptic angle (a chord
            # centred on the tube's axis): a circle slanted by σ about its major axis lies y·tan σ
            # deeper at image offset y along the minor axis.
            phi = np.arctan2(y / r.b, x / r.a)
            offset += w * r.far_sign * r.tan_slant * r.b * np.sin(phi)
            # The spine's image tangent there, and how far it runs in depth.
            t = np.stack([-r.a * np.sin(phi), r.b * np.cos(phi)], 1)
            t /= np.linalg.norm(t, axis=1, keepdims=True).clip(min=1e-12)
            factor *= np.sqrt(1.0 + (t[:, 1] * r.tan_slant) ** 2) ** w
        return offset, factor
