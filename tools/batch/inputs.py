"""The inputs of a batch: a list file or a glob, expanded to files and the output folder name of each.

A list file (`.txt`) holds one path per line, relative to the list file's folder; blank lines and
lines starting with `#` are skipped. A glob (`'scenes/*.yaml'`, quoted so the shell leaves it; `**`
recurses) is expanded in sorted order. Task i writes `OUT/<name i>`: the file's stem, or, when two
stems clash, its path below the inputs' common folder with `/` turned into `-`.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from tools.errors import ToolError

GLOB_CHARS = frozenset("*?[")
LIST_SUFFIX = ".txt"


def is_batch_input(spec: str | os.PathLike) -> bool:
    """True for a list file or a glob pattern (what a batch command takes instead of one input)."""
    text = str(spec)
    return Path(text).suffix.lower() == LIST_SUFFIX or bool(GLOB_CHARS & set(text))


def expand_inputs(spec: str | os.PathLike, suffixes: tuple[str, ...], what: str = "input") -> list[Path]:
    """The files a list file or glob names, each checked to exist and to have one of `suffixes`
    (a suffix-less entry such as a folder is accepted when `""` is among them).

    Raises:
        ToolError: an unreadable or empty list, a glob matching nothing, a missing file or a wrong
            suffix (naming the list line).

    Example:
        >>> expand_inputs("/nonexistent/*.yaml", (".yaml",))
        Traceback (most recent call last):
        ...
        tools.errors.ToolError: /nonexistent/*.yaml matches no file
    """
    text = str(spec)
    if Path(text).suffix.lower() == LIST_SUFFIX and not GLOB_CHARS & set(text):
        entries = _read_list(Path(text))
    else:
        entries = [(Path(p), f"{text} match") for p in sorted(glob.glob(text, recursive=True))]
        if not entries:
            raise ToolError(f"{text} matches no file")
    paths = []
    for path, where in entries:
        if not path.exists():
            raise ToolError(f"{where}: {path} does not exist")
        suffix = path.suffix.lower() if path.is_file() else ""
        if suffix not in suffixes:
            raise ToolError(f"{where}: {path} is not a {what} ({', '.join(s or 'folder' for s in suffixes)})")
        paths.append(path)
    return paths


def _read_list(path: Path) -> list[tuple[Path, str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ToolError(f"{path}: cannot read the list ({type(e).__name__}: {e})") from None
    entries = [(path.parent / line.strip(), f"{path} line {n}") for n, line in enumerate(lines, 1)
               if line.strip() and not line.lstrip().startswith("#")]
    if not entries:
        raise ToolError(f"{path}: the list names no file")
    return entries


def output_names(paths: list[Path]) -> list[str]:
    """One distinct folder name per input: its stem, or its path below the common folder when stems clash.

    Raises:
        ToolError: the same file is listed twice.

    Example:
        >>> output_names([Path("a/x.yaml"), Path("b/y.yaml")]), output_names([Path("a/x.yaml"), Path("b/x.yaml")])
        (['x', 'y'], ['a-x', 'b-x'])
    """
    resolved = [p.resolve() for p in paths]
    if len(set(resolved)) < len(resolved):
        twice = next(p for p in paths if resolved.count(p.resolve()) > 1)
        raise ToolError(f"{twice} is listed twice")
    stems = [p.stem if p.suffix else p.name for p in resolved]
    if len(set(stems)) == len(stems):
        return stems
    common = Path(os.path.commonpath([str(p.parent) for p in resolved]))
    return ["-".join(p.relative_to(common).with_suffix("").parts) for p in resolved]
