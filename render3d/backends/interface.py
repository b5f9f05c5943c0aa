"""One signature per `Task`: what a backend object offers for each task it declares, and the check.

Requests and results are typed: meshes/clouds, `Cameras` and a frozen settings object in
(`RasterSettings`, `PointsRasterSettings` or the backend-neutral `RenderSettings`), `Fragments`,
`PointFragments` or `RenderOutput` out, all in the OpenCV convention of `render3d`. A field or
buffer a backend cannot fill is None and undeclared in its `Capabilities`.

The registry calls `contract_violations` on every backend when it is registered (on the factory
when it is a class, which needs no third-party import) and again on the object the factory builds,
so a backend that declares a task it does not implement with exactly this signature never reaches
a caller.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from render3d.backends.capabilities import Task

if TYPE_CHECKING:
    from render3d.cameras import Cameras
    from render3d.fragments import Fragments, PointFragments
    from render3d.lights import Light
    from render3d.output import RenderOutput
    from render3d.points.settings import PointsRasterSettings
    from render3d.raster.settings import RasterSettings
    from render3d.render_settings import RenderSettings
    from render3d.shading.materials import Materials
    from render3d.structures import Meshes, Pointclouds


@runtime_checkable
class MeshRasterBackend(Protocol):
    """`Task.RASTERIZE_MESHES`: meshes seen by cameras → `Fragments`."""

    def rasterize_meshes(self, meshes: Meshes, cameras: Cameras, settings: RasterSettings) -> Fragments:
        """`meshes` (B) seen by `cameras` (B) → Fragments `[B, H, W, K]`."""
        ...


@runtime_checkable
class PointRasterBackend(Protocol):
    """`Task.RASTERIZE_POINTS`: point clouds seen by cameras → `PointFragments`."""

    def rasterize_points(self, clouds: Pointclouds, cameras: Cameras,
                         settings: PointsRasterSettings) -> PointFragments:
        """`clouds` (B) seen by `cameras` (B) → PointFragments `[B, H, W, K]`."""
        ...


@runtime_checkable
class MeshRenderBackend(Protocol):
    """`Task.RENDER_MESHES`: lit, colored meshes seen by cameras → images."""

    def render_meshes(self, meshes: Meshes, cameras: Cameras, lights: Light | None = None,
                      materials: Materials | None = None, settings: RenderSettings | None = None) -> RenderOutput:
        """`meshes` (B) seen by `cameras` (B) → `RenderOutput` `[B, H, W, ...]`.

        Albedo is the mesh texture, else its vertex colors, else `materials.base_color`; `lights`
        are ignored when `settings.shading` is "unlit"; None settings mean `RenderSettings()`.
        """
        ...


@runtime_checkable
class PointRenderBackend(Protocol):
    """`Task.RENDER_POINTS`: colored point clouds (world-unit radii) seen by cameras → images."""

    def render_points(self, clouds: Pointclouds, cameras: Cameras,
                      settings: RenderSettings | None = None) -> RenderOutput:
        """`clouds` (B) seen by `cameras` (B) → `RenderOutput` `[B, H, W, ...]`, drawn with their colors."""
        ...


TASK_PROTOCOLS: dict[Task, type] = {
    Task.RASTERIZE_MESHES: MeshRasterBackend,
    Task.RASTERIZE_POINTS: PointRasterBackend,
    Task.RENDER_MESHES: MeshRenderBackend,
    Task.RENDER_POINTS: PointRenderBackend,
}

#: Any backend object: it implements the protocols of the tasks it declares.
Backend = MeshRasterBackend | PointRasterBackend | MeshRenderBackend | PointRenderBackend


def _parameters(fn: object, drop_self: bool) -> list[tuple[str, inspect._ParameterKind, bool]]:
    params = list(inspect.signature(fn).parameters.values())  # type: ignore[arg-type]
    if drop_self:
        params = params[1:]
    return [(p.name, p.kind, p.default is inspect.Parameter.empty) for p in params]


def _spell(params: list[tuple[str, inspect._ParameterKind, bool]]) -> str:
    return "(" + ", ".join(name + ("" if required else "=…") for name, _, required in params) + ")"


def contract_violations(implementation: object, tasks: Iterable[Task]) -> list[str]:
    """What `implementation` (a backend class, or the object it builds) lacks of the declared `tasks`.

    Each declared task's method must exist with the protocol's parameters: same names, order,
    kinds, and the same ones optional.

    Returns:
        One line per problem; empty when the implementation honours every declaration.

    Example:
        >>> class Broken:
        ...     def rasterize_meshes(self, meshes, cameras):
        ...         ...
        >>> contract_violations(Broken, [Task.RASTERIZE_MESHES])
        ['rasterize_meshes takes (meshes, cameras), the task needs (meshes, cameras, settings)']
    """
    problems = []
    for task in sorted(tasks, key=lambda t: t.value):
        name = task.value
        expected = _parameters(getattr(TASK_PROTOCOLS[task], name), drop_self=True)
        method = inspect.getattr_static(implementation, name, None)
        if method is None or not callable(getattr(implementation, name, None)):
            problems.append(f"has no method {name}{_spell(expected)}")
            continue
        # on a class the attribute is the plain function (self first); on an object, a bound method
        is_class = inspect.isclass(implementation) and not isinstance(method, staticmethod)
        got = _parameters(getattr(implementation, name), drop_self=is_class)
        if got != expected:
            problems.append(f"{name} takes {_spell(got)}, the task needs {_spell(expected)}")
    return problems
