"""The leg-pairs prior: a body held up between two feet stands on legs that span its depth.

An object resting on a floor on only two visible feet, its body bridging them, would tip over unless
each foot is wide across the view's depth: the image's two legs are each a pair of legs one behind
the other (an animal's fore and hind legs), or a board (a bench's or a trestle's ends). The
silhouette inflation makes every leg a round tube as deep as it is wide and puts the pair's two
legs into one; this prior deepens each such leg's chords to the depth of the body it holds up.

`find_pairs` accepts two feet (`tools.reconstruct.contacts.find_contacts`, the lowest two when more;
none when the contact prior found a support) when their legs (`tools.reconstruct.support.trace_legs`)
are long (at least `MIN_LENGTH` of their width, not the round bottom of a ball) and their upper ends
lie far apart (at least `MIN_SPAN` of the mask's width: a body between them, not a person's legs
meeting at the hips).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.reconstruct.contacts import Contact
from tools.reconstruct.support import trace_legs

# A leg is at least this many times as long (rows) as it is wide.
MIN_LENGTH = 1.5
# The two legs' upper ends lie at least this share of the mask's width apart.
MIN_SPAN = 0.4


@dataclass(frozen=True)
class LegPairs:
    """Two legs holding up a body between them.

    Attributes:
        legs: `[H, W]` int, the leg (0 or 1) of every leg pixel, -1 elsewhere.
        ends: `[2, 2]` the image point of each leg's upper end.
        widths: `[2]` each leg's median width, pixels.
    """

    legs: np.ndarray
    ends: np.ndarray
    widths: np.ndarray

    def deepen(self, uv: np.ndarray, half: np.ndarray, height) -> np.ndarray:
        """The half chords `[m]` (pixels) at points `uv: [m, 2]`, `half: [m]` before, with the legs deepened.

        Args:
            uv: image points.
            half: their half chords, pixels.
            height: `(uv [n, 2]) -> [n]` the inflation's half chord (pixels) at image points.

        Returns:
            `[m]`: on leg k, `half` times the body's half chord just above the leg's upper end over the
            leg's own (half its width), but no deeper than that body; elsewhere `half`.
        """
        H, W = self.legs.shape
        px = np.clip(uv.astype(int), 0, [W - 1, H - 1])
        leg = self.legs[px[:, 1], px[:, 0]]
        out = half.copy()
        for k in range(2):
            # The body's half chord: its largest over the leg's width, a leg's width above its end.
            u = self.ends[k, 0] + np.linspace(-0.5, 0.5, 5) * self.widths[k]
            above = np.stack([u, np.full(5, self.ends[k, 1] - self.widths[k])], 1)
            body = float(np.max(height(above)))
            on = leg == k
            deeper = half[on] * max(1.0, body / (0.5 * self.widths[k]))
            out[on] = np.maximum(half[on], np.minimum(deeper, body))
        return out


def find_pairs(mask: np.ndarray, candidates: list[Contact]) -> LegPairs | None:
    """The two legs holding up a body between them, if the mask stands on two.

    Args:
        mask: `[H, W]` bool.
        candidates: the candidate feet (`find_contacts`).

    Returns:
        the `LegPairs`, or None.

    Example:
        >>> m = np.zeros((60, 60), bool); m[10:25, 5:55] = True  # a body on two legs
        >>> m[25:50, 8:14] = True; m[25:52, 44:50] = True
        >>> from tools.reconstruct.contacts import find_contacts
        >>> pairs = find_pairs(m, find_contacts(m))
        >>> pairs.widths.tolist(), pairs.ends.tolist()
        ([6.0, 6.0], [[47.0, 25.5], [11.0, 25.5]])
    """
    if len(candidates) < 2:
        return None
    feet = tuple(sorted(candidates, key=lambda c: -c.v)[:2])
    legs, ends = trace_legs(mask, feet)
    widths = []
    for k in range(2):
        leg = legs == k
        rows = int(leg.any(1).sum())
        if rows == 0:
            return None
        width = float(np.median(leg.sum(1)[leg.any(1)]))
        if rows < MIN_LENGTH * width:
            return None
        widths.append(width)
    cols = np.nonzero(mask.any(0))[0]
    if abs(ends[0, 0] - ends[1, 0]) < MIN_SPAN * (cols[-1] - cols[0] + 1):
        return None
    return LegPairs(legs, ends, np.array(widths))
