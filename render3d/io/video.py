"""MP4 (H.264) turntables through the ffmpeg binary that the `imageio-ffmpeg` wheel carries.

Browsers, slide decks and chat clients play H.264 in yuv420p; GIFs stay beside them for places that
only show images.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from render3d.errors import ShapeError
from render3d.io.images import atomic_write, to_uint8


def _even_frames(frames: Sequence[torch.Tensor | np.ndarray]) -> np.ndarray:
    """`[N, H, W, 3]` uint8 with H and W padded to even sizes by repeating the last row/column.

    yuv420p stores chroma at half resolution, so libx264 refuses odd sides; padding keeps every
    source pixel instead of rescaling the image.
    """
    if len(frames) == 0:
        raise ShapeError("save_mp4 needs at least one frame")
    data = [to_uint8(f) for f in frames]
    shapes = {a.shape for a in data}
    if len(shapes) != 1:
        raise ShapeError(f"save_mp4 needs frames of one size, got {sorted(shapes)}")
    a = np.stack(data)
    if a.ndim == 3:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 4 or a.shape[-1] not in (1, 3, 4):
        raise ShapeError(f"save_mp4 needs [H, W] or [H, W, 1|3|4] frames, got {list(a.shape[1:])}")
    a = np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a[..., :3]
    pad_h, pad_w = a.shape[1] % 2, a.shape[2] % 2
    if pad_h or pad_w:
        a = np.pad(a, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return np.ascontiguousarray(a)


def save_mp4(path: str | os.PathLike, frames: Sequence[torch.Tensor | np.ndarray], fps: float = 12.0,
             crf: int = 18) -> Path:
    """Write frames as an H.264 MP4 (yuv420p, faststart), atomically.

    Args:
        path: output file (`.mp4`).
        frames: `N × [H, W]` or `N × [H, W, 1|3|4]` float in [0, 1] or uint8, all one size
            (alpha is dropped; odd sides are padded by one repeated row/column).
        fps: frames per second.
        crf: x264 constant rate factor (0 = lossless, 18 ≈ visually lossless, 51 = worst).

    Returns:
        `path` as a Path.

    Raises:
        ShapeError: no frames, frames of different sizes, or not images.

    Example:
        >>> import numpy as np
        >>> frames = [np.full((32, 32, 3), i / 7) for i in range(8)]
        >>> save_mp4("/tmp/ramp.mp4", frames, fps=8).name
        'ramp.mp4'
    """
    import imageio_ffmpeg

    data = _even_frames(frames)
    if not (fps > 0 and np.isfinite(fps)):
        raise ShapeError(f"save_mp4 needs fps > 0, got {fps}")
    h, w = data.shape[1:3]

    def write(tmp: Path) -> None:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (w, h), fps=fps, codec="libx264", quality=None, macro_block_size=1,
            output_params=["-crf", str(int(crf)), "-movflags", "+faststart", "-f", "mp4"])
        writer.send(None)  # start ffmpeg
        for frame in data:
            writer.send(frame)
        writer.close()

    return atomic_write(path, write)

