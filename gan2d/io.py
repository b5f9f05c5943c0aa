"""Atomic file writes: checkpoints, training snapshots and sample grids are never seen half-written.

gan2d may not import render3d (which keeps its own `render3d.io.images.atomic_write`), so gan2d has
this one helper and every writer in the package goes through it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: str | os.PathLike[str], write_to: Callable[[Path], Any]) -> Path:
    """Call `write_to(tmp)` on a temporary file beside `path`, then rename it onto `path`.

    The rename is atomic on one file system, so a crash or Ctrl-C leaves the old file (or none), never
    a partial one; the temporary file is removed whatever happens. Parent folders are created. The
    temporary name ends in `.tmp`: writers that pick a format from the suffix must name it.

    Returns:
        `path` as a Path.

    Example:
        >>> import tempfile
        >>> p = atomic_write(Path(tempfile.mkdtemp()) / "a" / "b.txt", lambda tmp: tmp.write_text("hi"))
        >>> p.read_text(), sorted(x.name for x in p.parent.iterdir())
        ('hi', ['b.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write_to(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
