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
import inspect
import logging

from render3d.backends.capabilities import Request, Task
from render3d.backends.info import BackendInfo, Selection
from render3d.backends.interface import Backend, contract_violations
from render3d.errors import BackendUnavailable

log = logging.getLogger("render3d.backends")

_ADAPTER_MODULES = ("torch_ref", "pytorch3d", "nvdiffrast", "pyrender", "open3d")

#: The pure-PyTorch reference backend: always available, the one every other backend is tested against.
REFERENCE = "torch"

#: Fastest first, per (device type, task). Backends not listed here are tried after these.
PREFERENCE: dict[tuple[str, Task], tuple[str, ...]] = {
    ("cpu", Task.RASTERIZE_MESHES): ("torch", "pytorch3d"),
    ("cuda", Task.RASTERIZE_MESHES): ("nvdiffrast", "pytorch3d", "torch"),
    ("cpu", Task.RASTERIZE_POINTS): ("torch", "pytorch3d"),
    ("cuda", Task.RASTERIZE_POINTS): ("pytorch3d", "torch"),
    ("cpu", Task.RENDER_MESHES): ("pyrender", "torch", "pytorch3d", "open3d"),
    ("cuda", Task.RENDER_MESHES): ("nvdiffrast", "pytorch3d", "torch"),
    ("cpu", Task.RENDER_POINTS): ("pyrender", "torch", "pytorch3d", "open3d"),
    ("cuda", Task.RENDER_POINTS): ("pytorch3d", "torch"),
}


_registry: dict[str, BackendInfo] = {}
_builtins_loaded = False


def _check_contract(name: str, implementation: object, tasks: frozenset[Task]) -> None:
    problems = contract_violations(implementation, tasks)
    if problems:
        declared = ", ".join(sorted(t.value for t in tasks))
        raise BackendUnavailable(f"backend {name!r} declares {declared} but {'; '.join(problems)}")


def register_backend(info: BackendInfo) -> None:
    """Add (or replace) a backend in the registry, after checking it implements what it declares.

    A factory that is a class is checked here, by signature (nothing is built or imported); any
    other factory is checked on the object it returns, at the first `get_backend`.

    Raises:
        BackendUnavailable: the name is empty, or the backend declares a task whose protocol
            (`render3d.backends.interface`) its class does not implement.
    """
    if not info.name:
        raise BackendUnavailable("a backend needs a non-empty name")
    if inspect.isclass(info.factory):
        _check_contract(info.name, info.factory, info.capabilities.tasks)
    _registry[info.name] = info
    _probe.cache_clear()
    _instance.cache_clear()


def _ensure_builtins() -> None:
    """Register the built-in adapters once. Marked done only when all of them registered: an import
    interrupted or failed half-way (a Ctrl-C, a worker's import error) is retried on the next call
    instead of leaving the registry empty for the rest of the process."""
    global _builtins_loaded
    if not _builtins_loaded:
        for mod in _ADAPTER_MODULES:
            info = importlib.import_module(f"render3d.backends.{mod}").INFO
            if info.name not in _registry:
                register_backend(info)
        _builtins_loaded = True


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
def _instance(name: str) -> Backend:
    info = _registry[name]
    backend = info.factory()
    _check_contract(name, backend, info.capabilities.tasks)
    return backend


def unavailable_reason(name: str) -> str | None:
    """None when backend `name` can run here, else why not (cached after the first call)."""
    backend_info(name)
    return _probe(name)


def get_backend(name: str) -> Backend:
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
