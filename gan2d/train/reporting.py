"""What a run writes for people: JSONL stats lines and PNG sample grids, both written atomically."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from gan2d.errors import ShapeError
from gan2d.io import atomic_write


def image_grid(images: torch.Tensor, columns: int | None = None) -> np.ndarray:
    """Tile `[N, C, H, W]` images in [-1, 1] (C = 1 or 3) into an `[rows·H, cols·W, 3]` uint8 array.

    Conversion follows the official StyleGAN tools: `x · 127.5 + 128`, clamped to [0, 255].
    """
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ShapeError(f"image_grid: images must be [N, 1|3, H, W], got {tuple(images.shape)}")
    n, c, h, w = images.shape
    cols = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    x = (images.detach().float().cpu() * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    if c == 1:
        x = x.expand(n, 3, h, w)
    grid = torch.zeros(rows * cols, 3, h, w, dtype=torch.uint8)
    grid[:n] = x
    grid = grid.view(rows, cols, 3, h, w).permute(0, 3, 1, 4, 2).reshape(rows * h, cols * w, 3)
    return grid.numpy()


def save_image_grid(images: torch.Tensor, path: Path, columns: int | None = None) -> Path:
    """Write `image_grid(images, columns)` as a PNG, atomically (temp file + rename)."""
    grid = image_grid(images, columns)
    return atomic_write(path, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))


def training_seconds(path: Path) -> float | None:
    r"""Wall seconds of a training run from its `stats.jsonl` at `path`, None when there is none.

    The loop's `sec` clock restarts at each resume, so the segments are summed.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "stats.jsonl"
        >>> _ = p.write_text('{"step": 1, "sec": 50}\n{"step": 2, "sec": 100}\n{"step": 3, "sec": 40}\n')
        >>> training_seconds(p), training_seconds(p.with_name("missing.jsonl"))
        (140.0, None)
    """
    if not path.is_file():
        return None
    total, last = 0.0, 0.0
    for line in path.read_text().splitlines():
        sec = float(json.loads(line).get("sec", 0.0))
        if sec < last:
            total += last
        last = sec
    return total + last


class StatsWriter:
    """Appends one JSON object per line to `stats.jsonl`.

    On resume the file is first trimmed to lines with `step <= resume_step`, so lines logged after
    the snapshot by a run that then crashed do not appear twice.
    """

    def __init__(self, path: Path, resume_step: int | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None and path.is_file():
            keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= resume_step]
            path.write_text("".join(line + "\n" for line in keep))
        elif path.exists():
            path.unlink()

    def write(self, record: dict[str, Any]) -> None:
        """Append `record` (must contain "step")."""
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
