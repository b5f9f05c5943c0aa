"""Atomic file writes: checkpoints, training snapshots and sample grids are never seen half-written.

gan2d may not import render3d (which keeps its own `render3d.io.images.atomic_write`), so gan2d has
this one helper and every writer in the package goes through it.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any


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


def atomic_write(path: str | os.PathLike[str], write_to: Callable[[Path], Any]) -> Path:
    """Call `write_to(tmp)` on a temporary file beside `path`, then rename it onto `path`.

    The rename is atomic on one file system, so a crash or Ctrl-C leaves the old file (or none), never
    a partial one; the temporary file is removed whatever happens. Parent folders are created. The
    temporary name ends in `.tmp`: writers that pick a format from the suffix must name it. The file gets
    the mode a plain `open()` would give it (0o644 under umask 022).

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
    tmp = _temp_beside(path, ".tmp")
    mode = stat.S_IMODE(tmp.stat().st_mode)
    try:
        write_to(tmp)
        os.chmod(tmp, mode)  # some writers (safetensors) replace the file with a private 0o600 one
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
