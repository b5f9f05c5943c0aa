"""The backend registry: declared capabilities, lazy loading, `auto` selection, install hints.

Each adapter module (`render3d.backends.<name>`) defines `INFO: BackendInfo`; importing an adapter
module never imports its third-party package — that happens in `BackendInfo.probe` /
`BackendInfo.factory`, on the first `get_backend(name)` or availability check.

`backend="auto"` walks `PREFERENCE[(device type, task)]`, a static order from fastest to slowest
measured with `neurender bench render` (see BENCHMARKS.md), and takes the first backend that is
installed, runs here and declares what the request needs. It reports its choice: the returned
`Selection` names it and the `render3d.backends` logger logs it at INFO. A backend asked for by
name is never replaced by another one: if it is missing or cannot serve the request,
`BackendUnavailable` says why and how to install it.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from render3d.backends.capabilities import Capabilities, Request, Task
from render3d.errors import BackendUnavailable

log = logging.getLogger("render3d.backends")

_ADAPTER_MODULES = ("torch_ref", "pytorch3d", "nvdiffrast", "pyrender", "open3d")

#: Fastest first, per (device type, task). Backends not listed here are tried after these.
PREFERENCE: dict[tuple[str, Task], tuple[str, ...]] = {
    ("cpu", Task.RASTERIZE_MESHES): ("torch", "pytorch3d"),
    ("cuda", Task.RASTERIZE_MESHES): ("nvdiffrast", "pytorch3d", "torch"),
    ("cpu", Task.RASTERIZE_POINTS): ("torch", "pytorch3d"),
    ("cuda", Task.RASTERIZE_POINTS): ("pytorch3d", "torch"),
    ("cpu", Task.RENDER_MESHES): ("pyrender", "open3d"),
    ("cpu", Task.RENDER_POINTS): ("pyrender", "open3d"),
}


def pip_install_hint(extra: str) -> str:
    """The exact command that installs one optional extra of this project."""
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
        factory: builds the backend object (called once, after a successful probe).
    """

    name: str
    capabilities: Capabilities
    description: str
    install: str
    probe: Callable[[], str | None]
    factory: Callable[[], Any]


@dataclass(frozen=True)
class Selection:
    """The outcome of `select_backend`: which backend, the object, and why it was picked."""

    name: str
    backend: Any
    reason: str


_registry: dict[str, BackendInfo] = {}
_builtins_loaded = False


def register_backend(info: BackendInfo) -> None:
    """Add (or replace) a backend in the registry.

    Raises:
        BackendUnavailable: the name is empty.
    """
    if not info.name:
        raise BackendUnavailable("a backend needs a non-empty name")
    _registry[info.name] = info
    _probe.cache_clear()
    _instance.cache_clear()


def _ensure_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for mod in _ADAPTER_MODULES:
            info = importlib.import_module(f"render3d.backends.{mod}").INFO
            _registry.setdefault(info.name, info)


def backend_info(name: str) -> BackendInfo:
    """The registered `BackendInfo` of `name`.

    Raises:
        BackendUnavailable: no backend of that name is registered.
    """
    _ensure_builtins()
    if name not in _registry:
        raise BackendUnavailable(f"unknown backend {name!r}; registered: {', '.join(sorted(_registry))}")
    return _registry[name]


def backend_names() -> list[str]:
    """Registered backend names, in registration order."""
    _ensure_builtins()
    return list(_registry)


@functools.cache
def _probe(name: str) -> str | None:
    info = _registry[name]
    try:
        return info.probe()
    except Exception as e:  # a broken install (bad wheel, missing system library) is "unavailable", with why
        return f"{type(e).__name__}: {e}"


@functools.cache
def _instance(name: str) -> Any:
    return _registry[name].factory()


def unavailable_reason(name: str) -> str | None:
    """None when backend `name` can run here, else why not (cached after the first call)."""
    backend_info(name)
    return _probe(name)


def get_backend(name: str) -> Any:
    """The backend object registered as `name`, loading its package on first use.

    Raises:
        BackendUnavailable: unknown name, or the package is missing / cannot run here; the
            message holds the install command.

    Example:
        >>> get_backend("torch").rasterize_meshes  # doctest: +ELLIPSIS
        <bound method ...>
    """
    info = backend_info(name)
    reason = _probe(name)
    if reason is not None:
        raise BackendUnavailable(f"backend {name!r} is unavailable: {reason}. Install it with: {info.install}")
    return _instance(name)


def select_backend(request: Request, name: str = "auto") -> Selection:
    """Pick the backend for `request`: the named one, or with `"auto"` the fastest that can serve it.

    Args:
        request: task, device, differentiability and fields needed.
        name: a registered backend name, or `"auto"`.

    Returns:
        The `Selection` (name, backend object, reason). `"auto"` also logs its choice at INFO on the
        `render3d.backends` logger.

    Raises:
        BackendUnavailable: the named backend is missing or cannot serve the request (never
            silently replaced), or with `"auto"` no registered backend can.

    Example:
        >>> sel = select_backend(Request(Task.RASTERIZE_MESHES, device="cpu", differentiable=True))
        >>> sel.name
        'torch'
    """
    if name != "auto":
        backend = get_backend(name)
        missing = backend_info(name).capabilities.missing(request)
        if missing is not None:
            raise BackendUnavailable(f"backend {name!r} {missing}; it cannot serve {request}")
        return Selection(name, backend, "asked for by name")
    _ensure_builtins()
    preferred = PREFERENCE.get((request.device, request.task), ())
    order = [*preferred, *(n for n in _registry if n not in preferred)]
    skipped = []
    for candidate in order:
        if candidate not in _registry:
            continue
        missing = _registry[candidate].capabilities.missing(request) or _probe(candidate)
        if missing is not None:
            skipped.append(f"{candidate}: {missing}")
            continue
        reason = f"first of {list(preferred)} able to serve {request.task.value} on {request.device}"
        if skipped:
            reason += f" (skipped {'; '.join(skipped)})"
        log.info("backend auto -> %s: %s", candidate, reason)
        return Selection(candidate, _instance(candidate), reason)
    raise BackendUnavailable(f"no backend can serve {request}: {'; '.join(skipped) or 'none registered'}")
