"""Image I/O: bounded image reads; outputs people look at (atomic PNG/NPY writes, false-color depth,
contact sheets, GIFs)."""

from __future__ import annotations

import os
import secrets
import stat
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from render3d.errors import ImageIOError, ShapeError

if TYPE_CHECKING:
    from PIL import Image as PILImage

MAX_IMAGE_PIXELS = 8192 * 8192  # decoded RGBA float32 at this size is already 1 GiB


def read_image(path: str | os.PathLike, max_pixels: int = MAX_IMAGE_PIXELS) -> PILImage.Image:
    """Open and decode an image file, refusing one larger than `max_pixels` before decoding it.

    The size check reads only the header, so a small file that declares a huge image (a decompression
    bomb: a 20000² PNG of zeros fits in a few hundred bytes) costs nothing.

    Args:
        path: PNG, JPEG or any format Pillow reads.
        max_pixels: width × height limit.

    Returns:
        The decoded Pillow image (file closed), in its stored mode.

    Raises:
        ImageIOError: missing file, not a readable image, or more than `max_pixels` pixels.

    Example:
        >>> import tempfile
        >>> p = save_png(Path(tempfile.mkdtemp()) / "a.png", np.zeros((4, 6), np.uint8))
        >>> read_image(p).size
        (6, 4)
    """
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise ImageIOError(f"{path}: no such image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageIOError(f"{path}: image of {w}x{h} pixels is over the {max_pixels:,}-pixel limit "
                                       "(refused before decoding: a decompression bomb or far too large)")
                im.load()
                return im.copy()  # closing the file releases the decoded data of `im` itself
    except ImageIOError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageIOError(f"{path}: image too large to decode safely ({e})") from e
    except (OSError, ValueError, SyntaxError) as e:  # Pillow raises all three on corrupt files
        raise ImageIOError(f"{path}: cannot read image ({type(e).__name__}: {e})") from e


def to_uint8(img: torch.Tensor | np.ndarray) -> np.ndarray:
    """`[H, W]` or `[H, W, C]` float in [0, 1] → uint8 array (rounded, clamped)."""
    a = img.detach().cpu().numpy() if isinstance(img, torch.Tensor) else np.asarray(img)
    if a.dtype == np.uint8:
        return a
    return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _temp_beside(path: Path, suffix: str) -> Path:
    """A new empty file beside `path` with the mode a plain `open()` gives it (0o666 less the umask):
    `mkstemp` makes 0o600, which the rename would keep and other users (a web server) could not read."""
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}"
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:
            continue


def atomic_write(path: str | os.PathLike, write_to) -> Path:
    """Call `write_to(tmp_path)` and rename the result onto `path`, so readers never see a partial file.

    The file gets the mode a plain `open()` would give it (0o644 under umask 022)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(path, path.suffix)
    mode = stat.S_IMODE(tmp.stat().st_mode)
    try:
        write_to(tmp)
        os.chmod(tmp, mode)  # some writers (safetensors) replace the file with a private 0o600 one
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def save_png(path: str | os.PathLike, img: torch.Tensor | np.ndarray) -> Path:
    """Write `[H, W]`, `[H, W, 1|3|4]` float [0, 1] (or uint8) as PNG, atomically."""
    from PIL import Image

    a = to_uint8(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ShapeError(f"save_png needs [H, W] or [H, W, 1|3|4], got {list(a.shape)}")
    return atomic_write(path, lambda p: Image.fromarray(a).save(p, format="PNG"))


def save_npy(path: str | os.PathLike, array: torch.Tensor | np.ndarray) -> Path:
    """Write an array as `.npy`, atomically."""
    a = array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)

    def write(p: Path) -> None:
        with open(p, "wb") as f:
            np.save(f, a)

    return atomic_write(path, write)


def save_gif(path: str | os.PathLike, frames: Sequence[torch.Tensor | np.ndarray], fps: float = 12.0) -> Path:
    """Write `[H, W, 3]` frames as a looping GIF, atomically."""
    import imageio.v3 as iio

    data = np.stack([to_uint8(f)[..., :3] for f in frames])
    return atomic_write(path, lambda p: iio.imwrite(p, data, extension=".gif", duration=1000.0 / fps, loop=0))


def colorize_depth(depth: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """`[H, W]` depth → `[H, W, 3]` false color (near = yellow, far = purple; background black).

    The range is the min/max over foreground pixels (depth > 0 unless `mask` is given).
    """
    fg = (depth > 0) if mask is None else mask > 0.5
    if not fg.any():
        return torch.zeros(*depth.shape, 3)
    d = depth.detach().float().cpu()
    lo, hi = d[fg.cpu()].min(), d[fg.cpu()].max()
    x = ((d - lo) / (hi - lo).clamp_min(1e-8)).clamp(0, 1)
    # A compact viridis-like ramp: purple → teal → yellow, reversed so near is bright.
    stops = torch.tensor([[0.99, 0.91, 0.14], [0.37, 0.79, 0.38], [0.13, 0.57, 0.55], [0.23, 0.32, 0.55],
                          [0.27, 0.00, 0.33]])
    pos = x * (len(stops) - 1)
    i0 = pos.floor().long().clamp(max=len(stops) - 2)
    w = (pos - i0)[..., None]
    rgb = stops[i0] * (1 - w) + stops[i0 + 1] * w
    return rgb * fg.cpu()[..., None]


def contact_sheet(images: Sequence[torch.Tensor], cols: int | None = None, pad: int = 2,
                  background: float = 1.0) -> torch.Tensor:
    """Tile `[H, W, C]` images (C = 1 or 3, sizes may differ) into one `[H', W', 3]` sheet, row-major."""
    if not images:
        raise ShapeError("contact_sheet needs at least one image")
    imgs = [im.detach().float().cpu() for im in images]
    imgs = [im.expand(*im.shape[:2], 3) if im.shape[-1] == 1 else im[..., :3] for im in imgs]
    cols = cols or int(np.ceil(np.sqrt(len(imgs))))
    rows = int(np.ceil(len(imgs) / cols))
    h = max(im.shape[0] for im in imgs)
    w = max(im.shape[1] for im in imgs)
    sheet = torch.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), background)
    for k, im in enumerate(imgs):
        r, c = divmod(k, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        sheet[y:y + im.shape[0], x:x + im.shape[1]] = im
    return sheet
