"""Run directories: one folder per job run, checked before any work starts and written all-or-nothing.

`check_out_dir` refuses, before anything runs, an `--out` that is a file, lies under a file, or cannot be
written (probed by creating a file there, which also catches read-only file systems, where permission
bits say nothing). `staged_dir` hands a job a fresh hidden sibling folder to write into and swaps it in
under the final name only when the job succeeded. On an error or Ctrl-C the staging folder is removed
and `--out` keeps what it held, so a run never leaves half-written files, nor a mix of two runs (a
2-view render over a 4-view one keeps no stale views). Resumable jobs (training, datagen) write in
place with atomic files instead and only use the check.

Example:
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "run"
    >>> with staged_dir(out) as tmp:
    ...     _ = (tmp / "a.txt").write_text("1")
    >>> sorted(p.name for p in out.iterdir())
    ['.neurender-run', 'a.txt']
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from tools.errors import ToolError

MARKER = ".neurender-run"  # marks a folder neurender may replace as a whole on the next run into it


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _probe_writable(folder: Path, out: Path, option: str) -> None:
    probe = folder / f".neurender-probe-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
    except OSError as e:
        raise ToolError(f"{option} {out}: cannot write in {folder} ({e.strerror or type(e).__name__})") from e
    probe.rmdir()


def check_out_dir(out: str | os.PathLike[str], option: str = "--out", replace: bool = False) -> Path:
    """Validate a run directory without creating it (nothing is written but a removed probe).

    Args:
        out: the directory a job will write.
        option: the option's name, for messages.
        replace: the job will replace `out` as a whole (`staged_dir`): it must then be new, empty, or
            a previous neurender run (holding `MARKER`), and must not hold the current directory.

    Returns:
        `out` as a `Path`.

    Raises:
        ToolError: `out` (or a parent) is a file, cannot be written, or holds files of something else.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ToolError(f"{option} {out} exists and is not a directory")
    base = _nearest_existing(out.absolute())
    if not base.is_dir():
        raise ToolError(f"{option} {out}: {base} is a file, not a directory")
    _probe_writable(base, out, option)
    if replace and out.is_dir():
        if Path.cwd().resolve().is_relative_to(out.resolve()):
            raise ToolError(f"{option} {out} holds the current directory; write the run into a subfolder")
        if any(out.iterdir()) and not (out / MARKER).is_file():
            raise ToolError(f"{option} {out} holds files that are not a neurender run; "
                            "pick a new or empty folder (a previous run there is replaced)")
    return out


@contextlib.contextmanager
def staged_dir(out: str | os.PathLike[str], option: str = "--out") -> Iterator[Path]:
    """Yield an empty staging folder; on success it becomes `out` (replacing a previous run there).

    Raises:
        ToolError: `out` fails `check_out_dir(out, replace=True)`.
    """
    out = check_out_dir(out, option, replace=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.{secrets.token_hex(4)}.partial"
    stage.mkdir()
    try:
        yield stage
        (stage / MARKER).write_text("written by neurender; the next run into this folder replaces it whole\n")
        _swap_in(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _swap_in(stage: Path, out: Path) -> None:
    if not out.exists():
        stage.rename(out)
        return
    old = out.parent / f".{out.name}.{secrets.token_hex(4)}.old"
    out.rename(old)
    stage.rename(out)
    shutil.rmtree(old, ignore_errors=True)
