"""The scene: objects, lights, cameras and render settings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from scenes.schema.cameras import CameraSpec
from scenes.schema.lights import LightSpec
from scenes.schema.objects import ObjectSpec
from scenes.spectypes import Color, Positive, Spec

Output = Literal["rgb", "depth", "normals", "mask", "instance", "albedo"]
OUTPUTS: tuple[str, ...] = ("rgb", "depth", "normals", "mask", "instance", "albedo")
Pixels = Annotated[int, Field(ge=1, le=4096)]


class RenderSpec(Spec):
    """How to render.

    Attributes:
        width, height: image size in pixels.
        supersample: render at this factor and box-filter down (anti-aliasing), 1..4.
        backend: `torch` (the pure-PyTorch reference, always available; `reference` is an alias) or
            any name in `render3d.backends.backend_names()`.
        background: RGB in [0, 1], or `transparent` (RGBA PNGs, black under alpha 0).
        outputs: any of rgb, depth, normals, mask, instance, albedo.
        shading: `unlit`, `lambert` or `phong` for objects that follow the scene.
        fps: frame rate of the turntable GIF.
    """

    width: Pixels = 256
    height: Pixels = 256
    supersample: Annotated[int, Field(ge=1, le=4)] = 1
    backend: Annotated[str, Field(min_length=1)] = "torch"
    background: Color | Literal["transparent"] = (1.0, 1.0, 1.0)
    outputs: Annotated[tuple[Output, ...], Field(min_length=1)] = ("rgb",)
    shading: Literal["unlit", "lambert", "phong"] = "phong"
    fps: Positive = 12.0

    @field_validator("outputs")
    @classmethod
    def _unique(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError(f"outputs listed twice: {list(v)}")
        return v


class SceneSpec(Spec):
    """A complete, validated scene (see `scenes.fileio.load_scene`).

    Attributes:
        version: schema version (1).
        name: used for output file names.
        objects: at least one object; names are unique.
        lights: the light rig; `None` uses `scenes.schema.lights.DEFAULT_LIGHTS`, `[]` renders
            with no light (objects following the scene shading come out black unless unlit).
        cameras: at least one camera; frames of all cameras are rendered in order.
        render: render settings.
    """

    version: Literal[1] = 1
    name: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")] = "scene"
    objects: Annotated[tuple[ObjectSpec, ...], Field(min_length=1)]
    lights: tuple[LightSpec, ...] | None = None
    cameras: Annotated[tuple[CameraSpec, ...], Field(min_length=1)] = (CameraSpec(),)
    render: RenderSpec = RenderSpec()

    @model_validator(mode="after")
    def _unique_names(self) -> SceneSpec:
        names = [o.name for o in self.objects]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"object names must be unique, repeated: {dupes}")
        ids = self.instance_ids()
        if len(set(ids)) != len(ids):
            raise ValueError(f"instance ids must be unique, got {ids}")
        return self

    def instance_ids(self) -> list[int]:
        """The instance label of every object (1-based index unless set)."""
        return [o.instance_id if o.instance_id is not None else i + 1 for i, o in enumerate(self.objects)]

    def num_frames(self) -> int:
        """Total frames over all cameras."""
        return sum(c.view.frames if hasattr(c.view, "frames") else 1 for c in self.cameras)
