"""Scenes built in code: `Scene().add_mesh(...).add_light(...).orbit(...)`.

A `Scene` collects the same specs a scene file holds; `spec()` validates them into a frozen
`SceneSpec`, `save()` writes the file form, `Scene.load()` reads one back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from scenes.errors import SceneFileError
from scenes.fileio import format_validation_error, load_scene, save_scene
from scenes.schema import (
    CameraSpec,
    DollyView,
    Keyframe,
    KeyframeView,
    LightSpec,
    LookAtView,
    MaterialSpec,
    ObjectSpec,
    OrbitView,
    RenderFlags,
    RenderSpec,
    SceneSpec,
    TransformSpec,
)
from scenes.schema.lights import AmbientLightSpec, DirectionalLightSpec, PointLightSpec, SHLightSpec

SOURCE = "<script>"


def _validate(cls: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return cls.model_validate(data, context={"base_dir": os.getcwd()})
    except ValidationError as e:
        raise SceneFileError(format_validation_error(e, SOURCE, data)) from None


class Scene:
    """A mutable scene builder; every `add_*`/camera method returns `self` for chaining.

    Example:
        >>> from scenes.assets import TorusParams
        >>> s = Scene("demo").add_asset(TorusParams()).add_light(DirectionalLightSpec()).orbit(frames=8)
        >>> s.spec().num_frames()
        8
    """

    def __init__(self, name: str = "scene") -> None:
        self.name = name
        self.objects: list[ObjectSpec] = []
        self.lights: list[LightSpec] | None = None
        self.cameras: list[CameraSpec] = []
        self.render = RenderSpec()

    # ---- objects -----------------------------------------------------------------------------
    def _add(self, source: dict[str, Any], name: str | None, transform: TransformSpec | None,
             material: MaterialSpec | None, flags: RenderFlags | None) -> Scene:
        kind = next(iter(source))
        data = {"name": name or f"{kind}_{len(self.objects)}", **source}
        for key, value in (("transform", transform), ("material", material), ("flags", flags)):
            if value is not None:
                data[key] = value
        self.objects.append(_validate(ObjectSpec, data))
        return self

    def add_mesh(self, path: str | os.PathLike, name: str | None = None, transform: TransformSpec | None = None,
                 material: MaterialSpec | None = None, flags: RenderFlags | None = None) -> Scene:
        """Add a mesh file (relative paths resolve against the working directory)."""
        return self._add({"mesh": str(path)}, name, transform, material, flags)

    def add_points(self, path: str | os.PathLike, name: str | None = None, radius: float | None = None,
                   transform: TransformSpec | None = None, material: MaterialSpec | None = None,
                   flags: RenderFlags | None = None) -> Scene:
        """Add a point-cloud file, splatted with `radius` (world units) or the file's radii."""
        src: dict[str, Any] = {"points": str(path)}
        if radius is not None:
            src["point_radius"] = radius
        return self._add(src, name, transform, material, flags)

    def add_asset(self, params: BaseModel, name: str | None = None, transform: TransformSpec | None = None,
                  material: MaterialSpec | None = None, flags: RenderFlags | None = None) -> Scene:
        """Add a procedural asset (any `scenes.assets` parameter model)."""
        return self._add({"procedural": params}, name or f"{params.type}_{len(self.objects)}", transform,
                         material, flags)

    # ---- lights ------------------------------------------------------------------------------
    def add_light(self, light: AmbientLightSpec | DirectionalLightSpec | PointLightSpec | SHLightSpec) -> Scene:
        """Add a light; the first call replaces the default rig."""
        self.lights = [*(self.lights or []), light]
        return self

    # ---- cameras -----------------------------------------------------------------------------
    def add_camera(self, camera: CameraSpec) -> Scene:
        """Append a camera (a pose or a path)."""
        self.cameras.append(camera)
        return self

    def look_at(self, eye: Sequence[float], at: Sequence[float] = (0.0, 0.0, 0.0), fov_deg: float = 40.0) -> Scene:
        """Append one look-at camera."""
        return self.add_camera(_validate(CameraSpec, {"fov_deg": fov_deg, "view": LookAtView(
            eye=tuple(eye), at=tuple(at))}))

    def orbit(self, frames: int = 24, distance: float = 3.0, elevation_deg: float = 15.0,
              center: Sequence[float] = (0.0, 0.0, 0.0), fov_deg: float = 40.0) -> Scene:
        """Append a 360° turntable of `frames` views."""
        view = _validate(OrbitView, {"frames": frames, "distance": distance, "elevation_deg": elevation_deg,
                                     "center": tuple(center)})
        return self.add_camera(_validate(CameraSpec, {"fov_deg": fov_deg, "view": view}))

    def dolly(self, start: Sequence[float], end: Sequence[float], frames: int = 24,
              at: Sequence[float] = (0.0, 0.0, 0.0), fov_deg: float = 40.0) -> Scene:
        """Append a linear dolly from `start` to `end` looking at `at`."""
        view = _validate(DollyView, {"start": tuple(start), "end": tuple(end), "at": tuple(at), "frames": frames})
        return self.add_camera(_validate(CameraSpec, {"fov_deg": fov_deg, "view": view}))

    def keyframes(self, eyes: Sequence[Sequence[float]], ats: Sequence[Sequence[float]] | None = None,
                  frames: int = 24, interpolation: str = "catmull_rom", fov_deg: float = 40.0) -> Scene:
        """Append a keyframed look-at path (targets default to the origin)."""
        ats = ats if ats is not None else [(0.0, 0.0, 0.0)] * len(eyes)
        keys = [Keyframe(eye=tuple(e), at=tuple(a)) for e, a in zip(eyes, ats, strict=True)]
        view = _validate(KeyframeView, {"keys": keys, "frames": frames, "interpolation": interpolation})
        return self.add_camera(_validate(CameraSpec, {"fov_deg": fov_deg, "view": view}))

    # ---- settings ----------------------------------------------------------------------------
    def settings(self, render: RenderSpec) -> Scene:
        """Replace the render settings."""
        self.render = render
        return self

    def configure(self, width: int | None = None, height: int | None = None, outputs: Sequence[str] | None = None,
                  background: Sequence[float] | str | None = None, supersample: int | None = None,
                  backend: str | None = None) -> Scene:
        """Change some render settings, keeping the others."""
        upd = {k: v for k, v in (("width", width), ("height", height), ("supersample", supersample),
                                 ("backend", backend)) if v is not None}
        if outputs is not None:
            upd["outputs"] = list(outputs)
        if background is not None:
            upd["background"] = background if isinstance(background, str) else tuple(background)
        self.render = _validate(RenderSpec, {**self.render.model_dump(), **upd})
        return self

    # ---- conversion --------------------------------------------------------------------------
    def spec(self) -> SceneSpec:
        """The validated, frozen scene (a default front camera when none was added).

        Raises:
            SceneFileError: what is wrong, with field paths.
        """
        data: dict[str, Any] = {"name": self.name, "objects": self.objects, "lights": self.lights,
                                "render": self.render}
        if self.cameras:
            data["cameras"] = self.cameras
        return _validate(SceneSpec, data)

    def save(self, path: str | os.PathLike) -> None:
        """Write the scene file (YAML or JSON by suffix)."""
        save_scene(self.spec(), path)

    @classmethod
    def from_spec(cls, spec: SceneSpec) -> Scene:
        """A builder holding `spec`'s content."""
        s = cls(spec.name)
        s.objects, s.lights, s.cameras, s.render = list(spec.objects), spec.lights, list(spec.cameras), spec.render
        return s

    @classmethod
    def load(cls, path: str | os.PathLike) -> Scene:
        """A builder holding the scene read from `path`."""
        return cls.from_spec(load_scene(path))
