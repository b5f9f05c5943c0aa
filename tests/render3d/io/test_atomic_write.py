"""render3d.io.images.atomic_write (and the PNG writer on it): files get the mode a plain open() gives
them (the umask's), not the 0o600 of a private temporary file kept through the rename."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from render3d.io.images import atomic_write, save_png


@pytest.fixture(params=[0o022, 0o027])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_atomic_write_file_gets_the_umask_mode(tmp_path: Path, umask: int) -> None:
    seen: list[str] = []

    def write(tmp: Path) -> None:
        seen.append(tmp.suffix)
        tmp.write_bytes(b"x")

    path = atomic_write(tmp_path / "sub" / "a.bin", write)
    assert seen == [".bin"]  # writers that pick a format from the suffix still can
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # 0o644 under umask 022
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.bin"]


def test_png_gets_the_umask_mode(tmp_path: Path, umask: int) -> None:
    path = save_png(tmp_path / "a.png", np.zeros((4, 6), np.uint8))
    assert stat.S_IMODE(Path(path).stat().st_mode) == 0o666 & ~umask


def test_meshes_and_clouds_get_the_umask_mode(tmp_path: Path, umask: int) -> None:
    import torch

    from render3d.io import save_mesh
    from render3d.io.points import save_pointcloud
    from render3d.structures import Meshes, Pointclouds

    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    save_mesh(tmp_path / "m.ply", Meshes([verts], [torch.tensor([[0, 1, 2]])]))
    save_pointcloud(tmp_path / "c.npy", Pointclouds([verts]))
    written = sorted(tmp_path.iterdir())
    assert [p.name for p in written] == ["c.npy", "m.ply"]  # no staging folder left
    assert [stat.S_IMODE(p.stat().st_mode) for p in written] == [0o666 & ~umask] * 2
