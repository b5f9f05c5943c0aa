"""How much memory a scene render needs, estimated before anything is allocated.

`scenes.render.render_built` keeps every finished frame at full resolution and renders batches
of `FRAMES_PER_BATCH` frames at the supersampled resolution, one pass per object. The per-pixel
constants below were measured with `ru_maxrss` on that code (torch backend, CPU, float32): about
150 bytes per output pixel per frame for rgb alone and 200 with every output, and 120 bytes per
supersampled pixel of a batch plus 100 per object. A 4096² × supersample 4 × 10000-frame scene
needs tens of terabytes: it is refused up front instead of being killed at the memory limit.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from scenes.errors import SceneFileError
from scenes.schema import SceneSpec

FRAMES_PER_BATCH = 8
OUTPUT_BYTES_PER_PIXEL = 200
BATCH_BYTES_PER_SUBPIXEL = 120
OBJECT_BYTES_PER_SUBPIXEL = 100


@dataclass(frozen=True)
class RenderEstimate:
    """Estimated peak memory of a scene render, in bytes: the finished frames and one batch."""

    frames: int
    outputs: int
    batch: int

    @property
    def total(self) -> int:
        return self.outputs + self.batch


def estimate_render_bytes(spec: SceneSpec) -> RenderEstimate:
    """Estimate the memory `scenes.render.render` needs for `spec`.

    Example:
        >>> from scenes.scene import Scene
        >>> from scenes.assets import SphereParams
        >>> spec = Scene().add_asset(SphereParams()).orbit(frames=24).configure(width=256, height=256).spec()
        >>> round(estimate_render_bytes(spec).total / 2**20)
        410
    """
    r = spec.render
    frames = spec.num_frames()
    objects = sum(1 for o in spec.objects if o.flags.visible)
    pixels = r.width * r.height
    subpixels = pixels * r.supersample**2
    outputs = frames * pixels * OUTPUT_BYTES_PER_PIXEL
    batch = min(frames, FRAMES_PER_BATCH) * subpixels * (BATCH_BYTES_PER_SUBPIXEL + OBJECT_BYTES_PER_SUBPIXEL * objects)
    return RenderEstimate(frames, outputs, batch)


def available_memory() -> int | None:
    """Bytes this process can still allocate: the smaller of the system's available memory and the
    room left under a cgroup (container) limit; None where neither can be read."""
    limits = []
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                limits.append(int(line.split()[1]) * 1024)
    with contextlib.suppress(OSError, ValueError):
        cap = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if cap != "max":
            limits.append(int(cap) - int(Path("/sys/fs/cgroup/memory.current").read_text()))
    if not limits and hasattr(os, "sysconf"):
        with contextlib.suppress(OSError, ValueError):
            limits.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return min(limits) if limits else None


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def check_render_budget(spec: SceneSpec, source: str = "<scene>", available: int | None = None) -> RenderEstimate:
    """Refuse a scene whose render would not fit in memory.

    Args:
        spec: the scene.
        source: name used in the message (the file).
        available: bytes to fit in; None reads `available_memory()` (no check if unknown).

    Returns:
        The estimate.

    Raises:
        SceneFileError: the estimate exceeds the available memory; the message names the fields
            (render.width, render.height, render.supersample, the cameras' frames) and the figures.
    """
    est = estimate_render_bytes(spec)
    limit = available_memory() if available is None else available
    if limit is not None and est.total > limit:
        r = spec.render
        raise SceneFileError(
            f"{source}: render.width × render.height = {r.width}×{r.height} px, render.supersample {r.supersample}, "
            f"{est.frames} frames (cameras) need about {_size(est.total)} of memory ({_size(est.outputs)} for the "
            f"finished frames, {_size(est.batch)} per batch of {min(est.frames, FRAMES_PER_BATCH)} supersampled "
            f"frames); {_size(limit)} is available. Lower the size, the supersampling or the frame count, or split "
            f"the cameras over several scene files")
    return est
