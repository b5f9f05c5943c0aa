"""Monotone calibration from a step along a latent direction to degrees, and its inverse.

A calibration is a piecewise-linear, strictly increasing map `degrees(step)` measured over the whole
usable range of a direction (not a single slope): the median measured pose over many identities at
each step, cut to the stretch from its lowest to its highest point (pushed far enough, a generator can
turn back), made monotone by isotonic regression (pool-adjacent-violators) and trimmed where it stops
rising (where the generator saturates). Requests outside `[degrees[0], degrees[-1]]` are outside the
calibrated range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tools.errors import ToolError


def isotonic(y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares non-decreasing fit of `y` (pool-adjacent-violators).

    Example:
        >>> isotonic(np.array([1.0, 3.0, 2.0, 4.0])).tolist()
        [1.0, 2.5, 2.5, 4.0]
    """
    w = np.ones_like(y, dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64)
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, wv in zip(np.asarray(y, dtype=np.float64), w, strict=True):
        blocks.append([float(v), float(wv), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    return np.concatenate([np.full(int(c), m) for m, _, c in blocks])


@dataclass(frozen=True)
class Calibration:
    """Strictly increasing piecewise-linear `degrees(step)` with its inverse.

    Attributes:
        steps: `[K]` increasing step values (coordinates along the direction).
        degrees: `[K]` strictly increasing degrees measured at those steps.
    """

    steps: tuple[float, ...]
    degrees: tuple[float, ...]

    def __post_init__(self) -> None:
        s, d = np.asarray(self.steps), np.asarray(self.degrees)
        if len(s) < 2 or s.shape != d.shape or np.any(np.diff(s) <= 0) or np.any(np.diff(d) <= 0):
            raise ToolError("a calibration needs >= 2 points with strictly increasing steps and degrees")

    @property
    def range(self) -> tuple[float, float]:
        """The calibrated degrees (lowest, highest)."""
        return self.degrees[0], self.degrees[-1]

    def contains(self, deg: float, tol: float = 1e-6) -> bool:
        """Whether `deg` lies inside the calibrated range."""
        return self.degrees[0] - tol <= deg <= self.degrees[-1] + tol

    def to_step(self, deg: np.ndarray | float) -> np.ndarray:
        """Steps for degrees (clamped to the calibrated range)."""
        return np.interp(deg, self.degrees, self.steps)

    def to_degrees(self, step: np.ndarray | float) -> np.ndarray:
        """Degrees at steps (clamped to the calibrated steps)."""
        return np.interp(step, self.steps, self.degrees)

    def slope(self, step: np.ndarray | float) -> np.ndarray:
        """d degrees / d step of the segment each step falls in (end segments outside)."""
        s, d = np.asarray(self.steps), np.asarray(self.degrees)
        k = np.clip(np.searchsorted(s, step) - 1, 0, len(s) - 2)
        return (d[k + 1] - d[k]) / (s[k + 1] - s[k])

    def to_dict(self) -> dict[str, Any]:
        return {"steps": list(self.steps), "degrees": list(self.degrees)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        return cls(tuple(float(x) for x in d["steps"]), tuple(float(x) for x in d["degrees"]))


def fit_calibration(steps: np.ndarray, measured: np.ndarray, min_slope: float) -> Calibration:
    """Calibration from poses measured at steps.

    Args:
        steps: `[K]` increasing steps.
        measured: `[K, M]` degrees measured at each step for M identities (medians are taken) or `[K]`.
        min_slope: degrees per unit step below which a segment counts as saturated; the calibration
            keeps the longest run of steps rising at least that fast.

    Returns:
        The calibration over the rising run.

    Raises:
        ToolError: the direction does not change the measured pose (no run of two points rises).

    Example:
        >>> s = np.linspace(-2, 2, 9)
        >>> cal = fit_calibration(s, 30 * np.tanh(s), min_slope=1.0)
        >>> round(float(cal.to_step(15.0)), 3)  # atanh(0.5) = 0.549, up to the piecewise-linear fit
        0.563
    """
    steps = np.asarray(steps, dtype=np.float64)
    med = np.median(measured, axis=1) if np.ndim(measured) == 2 else np.asarray(measured, dtype=np.float64)
    top = int(np.argmax(med))
    bottom = int(np.argmin(med[:top + 1]))
    steps, med = steps[bottom:top + 1], med[bottom:top + 1]
    if len(steps) < 2:
        raise ToolError("this direction does not turn the head: the measured pose does not rise along it")
    mono = isotonic(med)
    rising = np.diff(mono) / np.diff(steps) >= min_slope
    best, start = (0, 0), None
    for i, ok in enumerate([*rising, False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            best = max(best, (start, i), key=lambda r: r[1] - r[0])
            start = None
    lo, hi = best
    if hi - lo < 1:
        raise ToolError("this direction does not turn the head: the measured pose does not rise along it")
    return Calibration(tuple(steps[lo:hi + 1].tolist()), tuple(mono[lo:hi + 1].tolist()))
