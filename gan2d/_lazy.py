"""Package `__init__`s that name their verbs without importing them: `import gan2d` stays free of torch
(the CLI imports `gan2d.errors` on its error path), and the first use of a name imports its module."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`(__getattr__, __dir__)` for `package`, resolving each name of `exports` (name → module) on first use.

    Example:
        >>> getattr_, dir_ = lazy_exports("demo", {"sqrt": "math"})
        >>> getattr_("sqrt")(9.0), dir_()
        (3.0, ['sqrt'])
    """

    def get(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        if package in sys.modules:
            setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def names() -> list[str]:
        return sorted(exports)

    return get, names
