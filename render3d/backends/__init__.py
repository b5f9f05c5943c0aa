"""Rendering backends behind one registry: the reference "torch", pytorch3d, nvdiffrast, pyrender, open3d.

Importing this package imports no optional third-party package; each is loaded on first use of
its backend. See `registry` for `auto` selection and `capabilities` for what each declares.

Example:
    >>> from render3d.backends import Request, Task, select_backend
    >>> select_backend(Request(Task.RASTERIZE_MESHES, device="cpu")).name
    'torch'
"""

from render3d.backends.capabilities import Capabilities, Request, Task
from render3d.backends.registry import (
    PREFERENCE,
    BackendInfo,
    Selection,
    backend_info,
    backend_names,
    get_backend,
    register_backend,
    select_backend,
    unavailable_reason,
)

__all__ = [
    "PREFERENCE", "BackendInfo", "Capabilities", "Request", "Selection", "Task", "backend_info", "backend_names",
    "get_backend", "register_backend", "select_backend", "unavailable_reason",
]
