"""What a backend can do, and what a caller asks for: the two sides `backend="auto"` matches.

A backend declares its `Capabilities` once (static, no import of the third-party package); a
caller describes its need as a `Request`. `Capabilities.missing(request)` says in words why a
backend cannot serve a request, or returns None when it can.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from render3d.errors import ShapeError
from render3d.render_settings import SHADINGS, RenderSettings

if TYPE_CHECKING:
    from render3d.points.settings import PointsRasterSettings
    from render3d.raster.settings import RasterSettings

FRAGMENT_FIELDS = frozenset({"pix_to_face", "bary", "zbuf", "dists"})
POINT_FRAGMENT_FIELDS = frozenset({"idx", "zbuf", "dists"})
OUTPUT_FIELDS = frozenset({"rgb", "alpha", "depth", "normals"})
SHADING_MODELS = frozenset(SHADINGS)


class Task(enum.Enum):
    """The kinds of work a backend may offer."""

    RASTERIZE_MESHES = "rasterize_meshes"  # meshes + cameras → Fragments
    RASTERIZE_POINTS = "rasterize_points"  # point clouds + cameras → PointFragments
    RENDER_MESHES = "render_meshes"  # lit meshes + cameras + RenderSettings → RenderOutput
    RENDER_POINTS = "render_points"  # point clouds + cameras + RenderSettings → RenderOutput


@dataclass(frozen=True)
class Capabilities:
    """The static declaration of one backend.

    Args:
        tasks: the tasks it implements.
        differentiable: gradients flow from its outputs to vertex/point positions (and attributes).
        devices: torch device types it runs on (`"cpu"`, `"cuda"`).
        fragment_fields: `Fragments` fields it fills (`pix_to_face`, `bary`, `zbuf`, `dists`); a field
            not listed is returned as None.
        point_fields: `PointFragments` fields it fills (`idx`, `zbuf`, `dists`).
        outputs: `RenderOutput` buffers its render tasks fill (`rgb`, `alpha`, `depth`, `normals`).
        shadings: `RenderSettings.shading` models its mesh render task draws (`unlit`, `lambert`, `phong`).
        max_faces_per_pixel: the largest K it can return per pixel (1 for a z-buffer).
        soft: it honours a non-zero blur radius (soft rasterization).
        oriented_points: its point rasterizer draws disks in each point's tangent plane
            (`PointsRasterSettings.oriented`); without it, disks face the camera and such a request is refused.

    Example:
        >>> caps = Capabilities(tasks=frozenset({Task.RASTERIZE_MESHES}), differentiable=True,
        ...                     devices=frozenset({"cpu"}), fragment_fields=frozenset({"pix_to_face"}))
        >>> caps.missing(Request(Task.RASTERIZE_MESHES, device="cuda"))
        'runs on cpu, not cuda'
    """

    tasks: frozenset[Task]
    differentiable: bool
    devices: frozenset[str]
    fragment_fields: frozenset[str] = frozenset()
    point_fields: frozenset[str] = frozenset()
    outputs: frozenset[str] = frozenset()
    shadings: frozenset[str] = frozenset()
    max_faces_per_pixel: int = 1
    soft: bool = False
    oriented_points: bool = False

    def __post_init__(self) -> None:
        for name, given, allowed in (("fragment_fields", self.fragment_fields, FRAGMENT_FIELDS),
                                     ("point_fields", self.point_fields, POINT_FRAGMENT_FIELDS),
                                     ("outputs", self.outputs, OUTPUT_FIELDS),
                                     ("shadings", self.shadings, SHADING_MODELS)):
            if not given <= allowed:
                raise ShapeError(f"unknown {name} {sorted(given - allowed)}; allowed: {sorted(allowed)}")

    def missing(self, request: Request) -> str | None:
        """Why this backend cannot serve `request`, or None if it can."""
        if request.task not in self.tasks:
            return f"does not implement {request.task.value}"
        if request.device not in self.devices:
            return f"runs on {', '.join(sorted(self.devices))}, not {request.device}"
        if request.differentiable and not self.differentiable:
            return "is not differentiable"
        if request.faces_per_pixel > self.max_faces_per_pixel:
            return f"returns at most {self.max_faces_per_pixel} faces per pixel, {request.faces_per_pixel} asked"
        if request.soft and not self.soft:
            return "has no soft rasterization (blur radius)"
        if request.oriented and not self.oriented_points:
            return "draws camera-facing point disks only (no PointsRasterSettings.oriented)"
        if request.shading is not None and request.shading not in self.shadings:
            return f"does not draw {request.shading} shading (only {', '.join(sorted(self.shadings)) or 'none'})"
        filled = {Task.RASTERIZE_MESHES: self.fragment_fields, Task.RASTERIZE_POINTS: self.point_fields,
                  Task.RENDER_MESHES: self.outputs, Task.RENDER_POINTS: self.outputs}[request.task]
        lacking = request.needs - filled
        if lacking:
            return f"does not fill {', '.join(sorted(lacking))}"
        return None

    def summary(self) -> str:
        """A one-line human description (used by `neurender backends`)."""
        parts = [", ".join(t.value for t in sorted(self.tasks, key=lambda t: t.value)),
                 "differentiable" if self.differentiable else "not differentiable",
                 "devices: " + "/".join(sorted(self.devices))]
        if Task.RASTERIZE_MESHES in self.tasks:
            parts.append(f"K≤{self.max_faces_per_pixel}" + (", soft" if self.soft else ""))
            parts.append("fragments: " + ",".join(sorted(self.fragment_fields)))
        if Task.RASTERIZE_POINTS in self.tasks:
            parts.append("points: " + ",".join(sorted(self.point_fields))
                         + (", oriented" if self.oriented_points else ", camera-facing"))
        if self.outputs:
            parts.append("outputs: " + ",".join(sorted(self.outputs)))
        if self.shadings:
            parts.append("shading: " + ",".join(sorted(self.shadings)))
        return "; ".join(parts)


@dataclass(frozen=True)
class Request:
    """What a caller needs from a backend.

    Args:
        task: the kind of work.
        device: torch device type the inputs live on (`"cpu"`, `"cuda"`); a `torch.device` or
            `"cuda:1"` style string is reduced to its type.
        differentiable: gradients are needed.
        faces_per_pixel: K, the number of faces per pixel asked for.
        soft: a non-zero blur radius is asked for.
        needs: output fields that must be filled (names as in `Capabilities`).
        shading: the shading model a mesh render task must draw (None: any, or not a mesh render).
        oriented: point disks in the points' tangent planes are asked for (`PointsRasterSettings.oriented`).

    Raises:
        ShapeError: faces_per_pixel < 1.
    """

    task: Task
    device: str = "cpu"
    differentiable: bool = False
    faces_per_pixel: int = 1
    soft: bool = False
    needs: frozenset[str] = field(default_factory=frozenset)
    shading: str | None = None
    oriented: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", torch.device(self.device).type)
        object.__setattr__(self, "needs", frozenset(self.needs))
        if self.faces_per_pixel < 1:
            raise ShapeError(f"faces_per_pixel must be >= 1, got {self.faces_per_pixel}")

    @classmethod
    def for_meshes(cls, settings: RasterSettings, device: torch.device | str = "cpu",
                   differentiable: bool = True) -> Request:
        """The request a mesh rasterizer with `settings` makes: K, soft (blur radius > 0 also needs `dists`).

        Example:
            >>> from render3d.raster import RasterSettings
            >>> sorted(Request.for_meshes(RasterSettings(faces_per_pixel=4, blur_radius=1.0)).needs)
            ['bary', 'dists', 'pix_to_face', 'zbuf']
        """
        soft = settings.blur_radius > 0
        needs = {"pix_to_face", "bary", "zbuf"} | ({"dists"} if soft else set())
        return cls(Task.RASTERIZE_MESHES, str(device), differentiable, settings.faces_per_pixel, soft, frozenset(needs))

    @classmethod
    def for_points(cls, settings: PointsRasterSettings, device: torch.device | str = "cpu",
                   differentiable: bool = True) -> Request:
        """The request a point rasterizer with `settings` makes (K = points per pixel, all fields, oriented disks).

        Example:
            >>> from render3d.points.settings import PointsRasterSettings
            >>> Request.for_points(PointsRasterSettings.hole_free()).oriented
            True
        """
        return cls(Task.RASTERIZE_POINTS, str(device), differentiable, settings.points_per_pixel,
                   needs=POINT_FRAGMENT_FIELDS, oriented=settings.oriented)

    @classmethod
    def for_render(cls, task: Task, settings: RenderSettings, needs: frozenset[str] | set[str],
                   device: torch.device | str = "cpu", differentiable: bool = False) -> Request:
        """The request of a render task (`RENDER_MESHES` or `RENDER_POINTS`) drawing `settings` and filling `needs`.

        Example:
            >>> from render3d.render_settings import RenderSettings
            >>> r = Request.for_render(Task.RENDER_MESHES, RenderSettings(shading="phong"), {"rgb", "depth"})
            >>> r.shading, sorted(r.needs)
            ('phong', ['depth', 'rgb'])
        """
        if task not in (Task.RENDER_MESHES, Task.RENDER_POINTS):
            raise ShapeError(f"for_render builds render requests, got {task.value}")
        shading = settings.shading if task is Task.RENDER_MESHES else None
        return cls(task, str(device), differentiable, needs=frozenset(needs), shading=shading)
