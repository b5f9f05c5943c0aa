"""`BackendInfo`, the static record each adapter module declares, and `Selection`, what a lookup returns.

Adapter modules import this module (never the registry), so the registry can load them lazily
without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from render3d.backends.capabilities import Capabilities
from render3d.backends.interface import Backend


def pip_install_hint(extra: str) -> str:
    """The exact command that installs one optional extra of this project.

    Example:
        >>> pip_install_hint("pyrender")
        "pip install -c constraints.txt 'neurender[pyrender]'"
    """
    return f"pip install -c constraints.txt 'neurender[{extra}]'"


@dataclass(frozen=True)
class BackendInfo:
    """One registered backend.

    Args:
        name: registry key (`"torch"`, `"pytorch3d"`, ...).
        capabilities: what it declares it can do.
        description: one line for humans.
        install: the exact command(s) that make it available.
        probe: returns None when the backend can run here, else the reason it cannot. It may
            import the third-party package; it is called once and cached.
        factory: builds the backend object (called once, after a successful probe); it must
            implement the `render3d.backends.interface` protocol of every declared task. A class
            is checked at registration, any other callable on the object it returns.
    """

    name: str
    capabilities: Capabilities
    description: str
    install: str
    probe: Callable[[], str | None]
    factory: Callable[[], Backend]


@dataclass(frozen=True)
class Selection:
    """The outcome of `select_backend`: which backend, the object, and why it was picked."""

    name: str
    backend: Backend
    reason: str
