"""Holding a Ctrl-C across a third-party call that would swallow it.

trimesh's loaders catch `BaseException`, so a KeyboardInterrupt raised inside a mesh or PLY load is
lost and the job after it runs on; so does trimesh's own first import (its optional dependencies are
imported in `try: ... except BaseException`). The readers and writers of `render3d.io` run those calls
inside `deferred_interrupt()`, which keeps the signal until the call returns and then raises it, and
import trimesh through `import_trimesh()`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import ModuleType


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) until the block ends, then raise KeyboardInterrupt.

    Only the main thread with Python's default SIGINT handler is affected: signals reach only the main
    thread, and a custom handler (or SIG_IGN) is the caller's choice, left alone.

    Raises:
        KeyboardInterrupt: after the block, when a SIGINT arrived during it.

    Example:
        >>> with deferred_interrupt():
        ...     pass
    """
    if threading.current_thread() is not threading.main_thread() or (
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def import_trimesh() -> ModuleType:
    """`import trimesh` with a Ctrl-C held until the import is done (its first import takes seconds and
    would swallow one).

    Example:
        >>> import_trimesh().__name__
        'trimesh'
    """
    with deferred_interrupt():
        import trimesh
    return trimesh
