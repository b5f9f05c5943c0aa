"""Camera trajectories: orbit / turntable, linear dolly, keyframed look-at paths.

Every path returns world→camera extrinsics `R: [N, 3, 3]`, `t: [N, 3]` in the OpenCV convention
(built with `render3d.cameras.look_at`), one per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from render3d.cameras import look_at, orbit
from scenes.errors import SceneFileError

Interpolation = Literal["linear", "catmull_rom"]


def orbit_path(center: Sequence[float], distance: float, frames: int, elevation_deg: float = 0.0,
               start_azimuth_deg: float = 0.0, sweep_deg: float = 360.0,
               up: Sequence[float] = (0.0, 1.0, 0.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """Cameras circling `center` at constant `distance` and elevation (a turntable).

    A full 360° sweep spaces the frames `360 / frames` apart without repeating the first one (so
    the GIF loops seamlessly); a partial sweep includes both ends.

    Example:
        >>> R, t = orbit_path((0, 0, 0), 3.0, frames=8, elevation_deg=15)
        >>> R.shape, round(float(t[0].norm()), 4)
        (torch.Size([8, 3, 3]), 3.0)
    """
    if frames < 1:
        raise SceneFileError(f"orbit needs frames >= 1, got {frames}")
    if abs(abs(sweep_deg) - 360.0) < 1e-9:
        az = start_azimuth_deg + sweep_deg * torch.arange(frames, dtype=torch.float64) / frames
    else:
        az = torch.linspace(start_azimuth_deg, start_azimuth_deg + sweep_deg, frames, dtype=torch.float64)
    return orbit(center, distance, az.float(), elevation_deg, up)


def dolly_path(start: Sequence[float], end: Sequence[float], at: Sequence[float], frames: int,
               up: Sequence[float] = (0.0, 1.0, 0.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """Eye moving on the segment `start → end` in equal steps, always looking at `at`."""
    if frames < 1:
        raise SceneFileError(f"dolly needs frames >= 1, got {frames}")
    s = torch.linspace(0, 1, frames)[:, None] if frames > 1 else torch.zeros(1, 1)
    a, b = torch.tensor(start, dtype=torch.float32), torch.tensor(end, dtype=torch.float32)
    eyes = a + (b - a) * s
    return look_at(eyes, torch.tensor(at, dtype=torch.float32).expand_as(eyes), up)


def interpolate_keys(values: torch.Tensor, times: torch.Tensor, query: torch.Tensor,
                     mode: Interpolation = "linear") -> torch.Tensor:
    """Interpolate keyframed `values: [K, C]` at increasing `times: [K]`, sampled at `query: [N]`.

    `catmull_rom` is the centripetal-free (uniform-tangent) Catmull-Rom spline through every key,
    with end tangents from duplicated end keys; queries outside the key range clamp.

    Returns:
        `[N, C]`.
    """
    K = values.shape[0]
    if K == 1:
        return values.expand(query.shape[0], -1).clone()
    q = query.clamp(float(times[0]), float(times[-1]))
    i = (torch.searchsorted(times, q, right=True) - 1).clamp(0, K - 2)
    t0, t1 = times[i], times[i + 1]
    s = ((q - t0) / (t1 - t0).clamp_min(1e-12))[:, None]
    p1, p2 = values[i], values[i + 1]
    if mode == "linear":
        return p1 + (p2 - p1) * s
    p0 = values[(i - 1).clamp(min=0)]
    p3 = values[(i + 2).clamp(max=K - 1)]
    s2, s3 = s * s, s * s * s
    return 0.5 * (2 * p1 + (-p0 + p2) * s + (2 * p0 - 5 * p1 + 4 * p2 - p3) * s2 + (-p0 + 3 * p1 - 3 * p2 + p3) * s3)


def keyframe_path(eyes: Sequence[Sequence[float]], ats: Sequence[Sequence[float]], frames: int,
                  times: Sequence[float] | None = None, interpolation: Interpolation = "linear",
                  up: Sequence[float] = (0.0, 1.0, 0.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """A look-at camera whose eye and target are interpolated between keyframes.

    Args:
        eyes: K eye positions.
        ats: K look-at targets.
        frames: frames sampled uniformly in time from the first to the last key.
        times: K strictly increasing key times (uniform when None).
        interpolation: `linear` or `catmull_rom`.
        up: world up hint.

    Raises:
        SceneFileError: mismatched key counts, non-increasing times, frames < 1.
    """
    e = torch.tensor(eyes, dtype=torch.float64).reshape(-1, 3)
    a = torch.tensor(ats, dtype=torch.float64).reshape(-1, 3)
    if e.shape != a.shape or e.shape[0] < 1:
        raise SceneFileError(f"keyframes need as many eyes as targets (got {e.shape[0]} and {a.shape[0]})")
    if frames < 1:
        raise SceneFileError(f"keyframes need frames >= 1, got {frames}")
    tk = torch.arange(e.shape[0], dtype=torch.float64) if times is None else torch.tensor(times, dtype=torch.float64)
    if tk.shape[0] != e.shape[0] or (tk[1:] <= tk[:-1]).any():
        raise SceneFileError(f"keyframe times must be {e.shape[0]} strictly increasing values, got {tk.tolist()}")
    q = torch.linspace(float(tk[0]), float(tk[-1]), frames, dtype=torch.float64)
    eye_q = interpolate_keys(e, tk, q, interpolation)
    at_q = interpolate_keys(a, tk, q, interpolation)
    return look_at(eye_q.float(), at_q.float(), up)
