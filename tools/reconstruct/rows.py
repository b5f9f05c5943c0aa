"""Which masks a surface of revolution about the image's vertical axis fits, and which of those a
coarse sphere template cannot follow (the choice `--template auto` makes)."""

from __future__ import annotations

import numpy as np

from tools.reconstruct.silhouette import clean_topology


def row_convex(mask: np.ndarray, tolerance: float = 0.02) -> bool:
    """Whether (nearly) every row crosses the mask in one run and the mask has no holes: the masks a
    surface of revolution about the image's vertical axis can match (vases, eggs, bottles).

    Example:
        >>> m = np.zeros((20, 20), bool); m[2:18, 5:15] = True
        >>> u = m.copy(); u[2:12, 8:12] = False  # a U: two runs in the upper rows
        >>> row_convex(m), row_convex(u)
        (True, False)
    """
    kept, _, holes = clean_topology(mask)
    edges = np.diff(kept.astype(np.int8), axis=1, prepend=0, append=0)
    runs = (edges == 1).sum(1)
    rows = runs > 0
    return holes == 0 and float((runs[rows] > 1).mean()) <= tolerance


def thin_rows(mask: np.ndarray, width: float = 0.1) -> float:
    """Share of the mask's rows narrower than `width` times its larger extent: a long thin part
    (a lamp's pole, a bottle's neck) that a coarse sphere template cannot follow.

    Example:
        >>> m = np.zeros((40, 40), bool); m[2:38, 18:21] = True; m[30:38, 8:32] = True  # pole on a base
        >>> round(thin_rows(m), 2)
        0.78
    """
    rows = mask.any(1)
    extent = max(int(rows.sum()), int(mask.any(0).sum()))
    return float((mask.sum(1)[rows] < width * extent).mean()) if rows.any() else 0.0
