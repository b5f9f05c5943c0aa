"""Suite-wide collection rules. `--doctest-modules` (pyproject) runs every docstring example of render3d,
gan2d, scenes and tools; the few known to fail are marked here, each with its owner and why, until fixed."""

from __future__ import annotations

import pytest

KNOWN_FAILING_DOCTESTS = {
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        reason = KNOWN_FAILING_DOCTESTS.get(item.nodeid)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=False))
