"""gan2d.io.atomic_write and the snapshot folder: outputs get the mode a plain open()/mkdir gives them
(the umask's), not the 0o600 / 0o700 of a private temporary file kept through the rename."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from torch import nn

from gan2d.io import atomic_write
from gan2d.train.snapshot import LoopState, save_snapshot


@pytest.fixture(params=[0o022, 0o027])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_file_gets_the_umask_mode(tmp_path: Path, umask: int) -> None:
    path = atomic_write(tmp_path / "sub" / "a.txt", lambda tmp: tmp.write_text("hi"))
    assert path.read_text() == "hi"
    assert _mode(path) == 0o666 & ~umask  # 0o644 under umask 022
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.txt"]


def test_atomic_write_failure_leaves_nothing(tmp_path: Path) -> None:
    def fail(tmp: Path) -> None:
        tmp.write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "a.txt", fail)
    assert list(tmp_path.iterdir()) == []


def test_snapshot_folder_and_files_get_the_umask_mode(tmp_path: Path, umask: int) -> None:
    net = nn.Linear(2, 2)
    final = save_snapshot(tmp_path / "ckpt", LoopState(step=1, nimg=4), {"G": net}, {}, {}, keep=2)
    assert final.name == "snapshot-000000004"
    assert _mode(final) == 0o777 & ~umask  # 0o755 under umask 022
    for f in [*final.iterdir(), tmp_path / "ckpt" / "latest"]:
        assert _mode(f) == 0o666 & ~umask, f.name
