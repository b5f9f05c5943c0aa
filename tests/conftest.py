"""Fixtures shared by the whole suite, and the threading environment it runs in."""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# OpenMP reads this once, when torch loads it (render3d/THREADING.md): idle OpenMP threads sleep instead of
# spin-waiting at the barriers of the many small parallel regions of a test, which on a busy shared
# machine slows every other process (and this one) several-fold. pytest loads this file before it
# imports any test module (and torch); a value set by the caller wins. Subprocesses inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run a test with one intra-op torch thread: tiny tensors on a shared machine lose more to thread
    start-up and oversubscription than they gain. Opt in per module with
    `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _bomb_png(path: Path, width: int = 20000, height: int = 20000) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b""))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b""))
    return path


@pytest.fixture
def bomb_png() -> Callable[..., Path]:
    """`bomb_png(path, width=20000, height=20000)` writes a valid ~65-byte PNG header declaring a huge
    8-bit gray image with no pixel data: a decompression bomb that costs nothing to make."""
    return _bomb_png
