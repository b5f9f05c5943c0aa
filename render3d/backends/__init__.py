"""Rendering backends behind one registry: the reference "torch", pytorch3d, nvdiffrast, pyrender, open3d.

Every backend offers the tasks it declares with the one signature per task of `interface`
(`rasterize_meshes`, `rasterize_points`, `render_meshes`, `render_points`); the registry checks
that when a backend is registered. Importing this package imports no optional third-party
package; each is loaded on first use of its backend. See `registry` for `auto` selection and
`capabilities` for what each declares.

Example:
    >>> from render3d.backends import Request, Task, select_backend
    >>> select_backend(Request(Task.RASTERIZE_MESHES, device="cpu")).name
    'torch'
"""

from render3d.backends.capabilities import Capabilities, Request, Task
from render3d.backends.info import BackendInfo, Selection, pip_install_hint
from render3d.backends.interface import (
    TASK_PROTOCOLS,
    Backend,
    MeshRasterBackend,
    MeshRenderBackend,
    PointRasterBackend,
    PointRenderBackend,
    contract_violations,
)
from render3d.backends.registry import (
    PREFERENCE,
    REFERENCE,
    backend_info,
    backend_names,
    get_backend,
    register_backend,
    select_backend,
    unavailable_reason,
)

__all__ = [
    "PREFERENCE", "REFERENCE", "TASK_PROTOCOLS", "Backend", "BackendInfo", "Capabilities", "MeshRasterBackend",
    "MeshRenderBackend", "PointRasterBackend", "PointRenderBackend", "Request", "Selection", "Task", "backend_info",
    "backend_names", "contract_violations", "get_backend", "pip_install_hint", "register_backend", "select_backend",
    "unavailable_reason",
]
