"""Scene cameras: intrinsics (field of view or K) and a view that is a single pose or a path."""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field, model_validator

from render3d.cameras import Cameras, intrinsics_from_fov, look_at
from scenes.paths import Interpolation, dolly_path, keyframe_path, orbit_path
from scenes.spectypes import Positive, Spec, Vec3

Frames = Annotated[int, Field(ge=1, le=10000)]
Matrix3 = tuple[Vec3, Vec3, Vec3]
Matrix4 = tuple[tuple[float, float, float, float], ...]


class LookAtView(Spec):
    """One camera at `eye` looking at `at`."""

    type: Literal["look_at"] = "look_at"
    eye: Vec3 = (0.0, 0.0, 3.0)
    at: Vec3 = (0.0, 0.0, 0.0)
    up: Vec3 = (0.0, 1.0, 0.0)

    def extrinsics(self) -> tuple[torch.Tensor, torch.Tensor]:
        return look_at(torch.tensor([self.eye]), torch.tensor([self.at]), self.up)


class MatrixView(Spec):
    """One camera given by its 4×4 world→camera matrix (OpenCV: x right, y down, z forward)."""

    type: Literal["matrix"] = "matrix"
    world_to_camera: Annotated[Matrix4, Field(min_length=4, max_length=4)]

    @model_validator(mode="after")
    def _rigid(self) -> MatrixView:
        m = torch.tensor(self.world_to_camera, dtype=torch.float64)
        if m.shape != (4, 4):
            raise ValueError(f"world_to_camera must be 4x4, got {list(m.shape)}")
        r = m[:3, :3]
        if not torch.allclose(r @ r.T, torch.eye(3, dtype=torch.float64), atol=1e-4) or float(torch.det(r)) < 0:
            raise ValueError("world_to_camera's upper-left 3x3 must be a rotation")
        return self

    def extrinsics(self) -> tuple[torch.Tensor, torch.Tensor]:
        m = torch.tensor(self.world_to_camera, dtype=torch.float32)
        return m[None, :3, :3], m[None, :3, 3]


class OrbitView(Spec):
    """Turntable: `frames` cameras around `center` (see `scenes.paths.orbit_path`)."""

    type: Literal["orbit"] = "orbit"
    center: Vec3 = (0.0, 0.0, 0.0)
    distance: Positive = 3.0
    elevation_deg: Annotated[float, Field(gt=-90.0, lt=90.0)] = 15.0
    start_azimuth_deg: float = 0.0
    sweep_deg: float = 360.0
    frames: Frames = 24
    up: Vec3 = (0.0, 1.0, 0.0)

    def extrinsics(self) -> tuple[torch.Tensor, torch.Tensor]:
        return orbit_path(self.center, self.distance, self.frames, self.elevation_deg, self.start_azimuth_deg,
                          self.sweep_deg, self.up)


class DollyView(Spec):
    """Eye sliding from `start` to `end` while looking at `at`."""

    type: Literal["dolly"] = "dolly"
    start: Vec3
    end: Vec3
    at: Vec3 = (0.0, 0.0, 0.0)
    frames: Frames = 24
    up: Vec3 = (0.0, 1.0, 0.0)

    def extrinsics(self) -> tuple[torch.Tensor, torch.Tensor]:
        return dolly_path(self.start, self.end, self.at, self.frames, self.up)


class Keyframe(Spec):
    """One key of a keyframed path; `time` defaults to the key's index."""

    eye: Vec3
    at: Vec3 = (0.0, 0.0, 0.0)
    time: float | None = None


class KeyframeView(Spec):
    """Eye and target interpolated through keys (`linear` or `catmull_rom`)."""

    type: Literal["keyframes"] = "keyframes"
    keys: Annotated[tuple[Keyframe, ...], Field(min_length=1)]
    frames: Frames = 24
    interpolation: Interpolation = "catmull_rom"
    up: Vec3 = (0.0, 1.0, 0.0)

    @model_validator(mode="after")
    def _times(self) -> KeyframeView:
        given = [k.time is not None for k in self.keys]
        if any(given) and not all(given):
            raise ValueError("give a time for every key or for none")
        return self

    def extrinsics(self) -> tuple[torch.Tensor, torch.Tensor]:
        times = [k.time for k in self.keys] if self.keys[0].time is not None else None
        return keyframe_path([k.eye for k in self.keys], [k.at for k in self.keys], self.frames, times,
                             self.interpolation, self.up)


ViewSpec = Annotated[LookAtView | MatrixView | OrbitView | DollyView | KeyframeView, Field(discriminator="type")]


class CameraSpec(Spec):
    """Pinhole intrinsics plus a view (a pose or a path).

    Attributes:
        fov_deg: vertical field of view, principal point at the image center.
        K: 3×3 intrinsics in pixels for the render size (overrides `fov_deg`).
        view: `look_at`, `matrix`, `orbit`, `dolly` or `keyframes`.
    """

    fov_deg: Annotated[float, Field(gt=0.0, lt=180.0)] = 40.0
    K: Matrix3 | None = None
    view: ViewSpec = LookAtView()

    @model_validator(mode="after")
    def _intrinsics(self) -> CameraSpec:
        if self.K is not None:
            k = self.K
            if k[0][0] <= 0 or k[1][1] <= 0 or tuple(k[2]) != (0.0, 0.0, 1.0):
                raise ValueError(f"K must have positive focal lengths and last row (0, 0, 1), got {k}")
        return self

    def build(self, width: int, height: int) -> Cameras:
        """The `Cameras` batch (one per frame) for an image of `width` × `height` pixels."""
        R, t = self.view.extrinsics()
        K = torch.tensor(self.K, dtype=torch.float32) if self.K is not None else intrinsics_from_fov(
            self.fov_deg, width, height)
        return Cameras(K[None].expand(R.shape[0], 3, 3).contiguous(), R, t, width, height)
