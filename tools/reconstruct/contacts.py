"""The ground-contact prior: an object rests on a horizontal ground plane, and the bottom ends of
the silhouette's downward-pointing parts (legs, feet, a base) touch it.

Seen from a camera pitched down by elevation `e`, a camera-frame ray `(x, y, 1)` (y down) drops by
`y cos e + sin e` per unit of depth, so the ray of a contact at image row v meets a ground plane a
height `H` below the camera at depth `Z = H / (sin e + cos e · (v − cy) / fy)`: a contact lower in
the image is nearer. `H` is unknown; it is fixed by putting the contacts' mean depth on the centre
plane (the object's centre), so only their relative depths come from the prior.

`find_contacts` finds the feet: the prominent lowest points of the mask's bottom edge, in its lower
half. `contact_offsets` gives every mask pixel the depth offset of the contacts
below it (weighted by how near their columns are), so a leg and what stands on it move together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A foot's end lies at least this share of the mask's height below the bottom edge on either side of it.
FOOT_PROMINENCE = 0.05
# Feet stand in the lower half of the object: a hand hanging higher up is not on the ground.
FOOT_BAND = 0.5


@dataclass(frozen=True)
class Contact:
    """One foot: `(u, v)` image position of its lowest point (pixel centres at +0.5) and its width in pixels."""

    u: float
    v: float
    width: float


def find_contacts(mask: np.ndarray) -> list[Contact]:
    """The feet of a mask: the lowest points of its bottom edge that stand out from the columns
    either side by at least `FOOT_PROMINENCE` of the mask's height (a leg's end, not a belly).

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


def contact_depths(contacts: list[Contact], fy: float, cy: float, elevation_deg: float,
                   depth: float) -> np.ndarray | None:
    """Camera-frame depth of each contact on the ground plane, their mean put at `depth`.

    Args:
        contacts: the feet (`find_contacts`).
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


def contact_offsets(mask: np.ndarray, uv: np.ndarray, contacts: list[Contact], depths: np.ndarray,
                    depth: float) -> np.ndarray:
    """Depth offset `[m]` at points `uv: [m, 2]`: the feet's offsets from `depth`, averaged with weights
    falling off with the column distance beyond each foot's width (a Gaussian of the mask's width / 8).

    Args:
        mask: `[H, W]` bool, the object.
        uv: `[m, 2]` image points.
        contacts: the feet; depths: `[n]` their depths (`contact_depths`); depth: the centre plane's.

    Returns:
        `[m]` camera-frame depth offsets.
    """
    cols = np.nonzero(mask.any(0))[0]
    sigma = max(1.0, (cols[-1] - cols[0] + 1) / 8.0)
    cu = np.array([c.u for c in contacts])
    cw = np.array([c.width for c in contacts])
    dz = depths - depth
    du = np.maximum(np.abs(uv[:, :1] - cu[None]) - 0.5 * cw[None], 0.0)
    w = np.exp(-0.5 * (du / sigma) ** 2)
    return (w * dz[None]).sum(1) / np.maximum(w.sum(1), 1e-12)
