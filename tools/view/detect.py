"""Which kind of run a directory holds, from its file names; opening it as a page.

Run kinds are plug-ins: a module in `tools.view.pages` that defines `KIND` (a `RunKind`), named in
`PAGE_MODULES`. Order matters where layouts overlap: the most specific layout comes first (a
reconstruct run also has a `config.json`, a datagen sample also has `cameras.json` and `scene.yaml`,
a pc2img run has the `cameras.json` + `config.json` pair of an orbit render).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from tools.errors import ToolError
from tools.view.pages.base import RunKind, RunPage

PAGE_MODULES = ("reconstruct", "datagen", "train", "faces_run", "pc2img", "render")


def run_kinds() -> list[RunKind]:
    """The registered run kinds, in detection order."""
    return [importlib.import_module(f"tools.view.pages.{name}").KIND for name in PAGE_MODULES]


def detect_kind(path: Path) -> RunKind:
    """The kind of run in `path`.

    Raises:
        ToolError: `path` is not a directory, or no kind recognizes it (the message lists what each looks for).
    """
    if not path.exists():
        raise ToolError(f"{path}: no such run directory")
    if not path.is_dir():
        raise ToolError(f"{path}: not a directory (give a run directory)")
    kinds = run_kinds()
    for kind in kinds:
        if kind.matches(path):
            return kind
    looked_for = "; ".join(f"{k.name}: {k.signature}" for k in kinds)
    raise ToolError(f"{path}: not a neurender run (looked for {looked_for})")


def open_run(path: str | Path) -> RunPage:
    """Detect and open a run directory; every file the page needs is checked here.

    Raises:
        ToolError: not a run directory, or a file its page needs is missing or unreadable.

    Example:
        >>> import json, tempfile
        >>> run = Path(tempfile.mkdtemp())
        >>> _ = (run / "stats.jsonl").write_text(json.dumps({"step": 1, "loss_G": 0.7}))
        >>> page = open_run(run)  # a training run, from its stats log
        >>> page.kind, page.path == run
        ('train', True)
    """
    path = Path(path)
    return detect_kind(path).open(path)
