"""Lazy package attributes (PEP 562): names a package exports but imports only on first access.

Used where an eager import would load a layer the package must not depend on at import time (the
kernel packages `render3d.raster` / `render3d.points` export the modules that select backends, and
the reference backend imports those kernels), or would cost start-up time for nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_attributes(namespace: dict[str, Any],
                    table: dict[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for the package whose `globals()` is `namespace`.

    Args:
        namespace: the package's `globals()`.
        table: exported name → the module that defines it (imported on first access).

    Example:
        >>> getattr_, dir_ = lazy_attributes({"__name__": "demo"}, {"sqrt": "math"})
        >>> getattr_("sqrt")(9.0), dir_()
        (3.0, ['__name__', 'sqrt'])
    """
    package = namespace["__name__"]

    def get_attribute(name: str) -> object:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(table[name]), name)

    def list_attributes() -> list[str]:
        return sorted({*namespace, *table})

    return get_attribute, list_attributes
