"""The faces job's measures: pose error per 10° yaw bin, identity drift, Fréchet distances.

- Pose error: median |measured − requested| of yaw and pitch, per 10° bin of the requested yaw (bins
  centered on multiples of 10°, so each step of a ±40° sweep in 10° steps is one bin).
- Identity drift: the spread of one identity's descriptors across its views (RMS distance to their
  mean, averaged over identities) relative to the spread across identities (RMS distance of
  identities' mean descriptors to the overall mean). 0 = every view reads as the same head; 1 = views
  differ as much as different heads do.
- Fréchet distances of generated against reference images in two embeddings: the project's fixed
  random conv features (`gan2d.metrics.frechet`) and the head analyzer's trunk features.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch

from gan2d.metrics.frechet import frechet_distance, gaussian_fit, random_feature_distance

YAW_BINS = tuple(range(-65, 66, 10))  # 10° bins centered on multiples of 10°


def binned_errors(requested: torch.Tensor, measured: torch.Tensor, edges: tuple[int, ...] = YAW_BINS
                  ) -> list[dict[str, Any]]:
    """Median |measured − requested| of yaw and pitch per 10° bin of the requested yaw.

    Args:
        requested: `[N, 2]` (yaw, pitch) degrees the images should show (or truly show).
        measured: `[N, 2]` estimated (yaw, pitch).
        edges: bin edges in degrees (the last bin includes its upper edge).

    Returns:
        One dict per non-empty bin: `{"yaw_bin": [lo, hi], "n", "yaw_median_abs", "pitch_median_abs"}`.

    Example:
        >>> req = torch.tensor([[-35.0, 0.0], [-32.0, 0.0], [5.0, 0.0]])
        >>> [r["yaw_bin"] for r in binned_errors(req, req + 1)]
        [[-35, -25], [5, 15]]
    """
    err = (measured - requested).abs()
    rows = []
    for lo, hi in itertools.pairwise(edges):
        upper = (requested[:, 0] <= hi) if hi == edges[-1] else (requested[:, 0] < hi)
        sel = (requested[:, 0] >= lo) & upper
        if sel.any():
            rows.append({"yaw_bin": [lo, hi], "n": int(sel.sum()), "yaw_median_abs": float(err[sel, 0].median()),
                         "pitch_median_abs": float(err[sel, 1].median())})
    return rows


def pose_summary(requested: torch.Tensor, measured: torch.Tensor) -> dict[str, Any]:
    """Overall medians, the worst bin, and the per-bin table of `binned_errors`."""
    err = (measured - requested).abs()
    bins = binned_errors(requested, measured)
    return {"n": len(requested), "yaw_median_abs": float(err[:, 0].median()),
            "pitch_median_abs": float(err[:, 1].median()),
            "worst_bin_median_abs": max(max(b["yaw_median_abs"], b["pitch_median_abs"]) for b in bins),
            "bins": bins}


def identity_spread(descriptors: torch.Tensor) -> float:
    """RMS distance of `[N, K]` descriptors to their mean."""
    return float((descriptors - descriptors.mean(0)).norm(dim=1).square().mean().sqrt())


def identity_drift(descriptors: torch.Tensor, between: float | None = None) -> dict[str, float]:
    """Drift of `[I, V, K]` descriptors (I identities × V views).

    Args:
        descriptors: identity descriptors per identity and view.
        between: the between-identity spread to divide by; None measures it from these identities' means
            (needs I >= 2).

    Returns:
        `{"within", "between", "drift"}`; drift = within / between.

    Example:
        >>> d = torch.tensor([[[0.0], [0.2]], [[2.0], [2.2]]])
        >>> round(identity_drift(d)["drift"], 3)
        0.1
    """
    means = descriptors.mean(1)
    within = float((descriptors - means[:, None]).norm(dim=2).square().mean(1).sqrt().mean())
    b = identity_spread(means) if between is None else between
    return {"within": within, "between": b, "drift": within / max(b, 1e-12)}


def frechet_features(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussian fits of two feature sets `[N, D]`."""
    return frechet_distance(*gaussian_fit(a), *gaussian_fit(b))


def frechet_scores(real: torch.Tensor, fake: torch.Tensor, real_ref: torch.Tensor, features: Any
                   ) -> dict[str, float]:
    """Random-feature and analyzer-feature Fréchet distances of `fake` vs `real`, with real-vs-real beside them.

    Args:
        real, fake, real_ref: `[N, 3, S, S]` images in [-1, 1]; `real_ref` is a second real set, disjoint
            from `real`, that gives the distance two real samples have (the floor).
        features: callable images → `[N, D]` features (the head analyzer's `features`).
    """
    with torch.no_grad():
        f_real, f_fake, f_ref = (torch.cat([features(x[k:k + 256]) for k in range(0, len(x), 256)])
                                 for x in (real, fake, real_ref))
    return {"rfd_fake": random_feature_distance(real, fake), "rfd_real": random_feature_distance(real, real_ref),
            "analyzer_fd_fake": frechet_features(f_real, f_fake), "analyzer_fd_real": frechet_features(f_real, f_ref)}
