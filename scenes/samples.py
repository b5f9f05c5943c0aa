"""Random scene samples for the dataset engine: heads, single shapes, small multi-object scenes.

`make_sample(kind, seed, views, size)` is a pure function of its arguments: it draws every random
choice from `torch.Generator().manual_seed(seed)` and returns the scene (cameras included) and the
parameters that generated it.

View poses (degrees) describe the camera relative to the subject, which faces +Z with +Y up:
`yaw` is the camera's azimuth about +Y (0 = frontal, positive = toward +X, the subject's left),
`pitch` its elevation (positive = above, looking down), `roll` a rotation of the camera about its
viewing axis (positive turns the image content clockwise).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from render3d.cameras import Cameras, look_at, orbit_eyes
from scenes.assets import (
    BoxParams,
    CapsuleParams,
    CheckerParams,
    ConeParams,
    CylinderParams,
    GradientParams,
    HeadParams,
    IcosphereParams,
    NoiseParams,
    PlaneParams,
    SphereParams,
    SuperquadricParams,
    TorusParams,
    build_asset,
)
from scenes.schema import (
    AmbientLightSpec,
    CameraSpec,
    DirectionalLightSpec,
    MaterialSpec,
    MatrixView,
    ObjectSpec,
    RenderFlags,
    RenderSpec,
    SceneSpec,
    TransformSpec,
)

Kind = Literal["heads", "shapes", "scenes"]
KINDS: tuple[str, ...] = ("heads", "shapes", "scenes")
Range = tuple[float, float]


@dataclass(frozen=True)
class PoseRanges:
    """Uniform ranges (degrees) the view poses of a sample are drawn from; see the module docstring
    for the convention. Each range is (low, high) with low <= high."""

    yaw: Range
    pitch: Range
    roll: Range


@dataclass(frozen=True)
class Rig:
    """Where a kind's cameras look from: they aim at `center` from `distance`, with `fov_deg`."""

    center: tuple[float, float, float]
    distance: float
    fov_deg: float


RIGS: dict[str, Rig] = {"heads": Rig((0.0, -0.05, 0.0), 2.9, 25.0), "shapes": Rig((0.0, 0.0, 0.0), 2.6, 30.0),
                        "scenes": Rig((0.0, 0.2, 0.0), 4.0, 40.0)}
# Heads: around the face (±60° covers the ±45° the faces job needs); shapes: all around; scenes:
# from above the floor.
DEFAULT_POSES: dict[str, PoseRanges] = {
    "heads": PoseRanges((-60.0, 60.0), (-20.0, 25.0), (-6.0, 6.0)),
    "shapes": PoseRanges((-180.0, 180.0), (-15.0, 60.0), (0.0, 0.0)),
    "scenes": PoseRanges((-180.0, 180.0), (15.0, 55.0), (0.0, 0.0)),
}
SHAPE_TYPES = ("sphere", "icosphere", "box", "cylinder", "cone", "torus", "capsule", "superquadric")


@dataclass(frozen=True)
class Sample:
    """One generated sample: the scene to render and the parameters to record."""

    spec: SceneSpec
    poses: list[dict[str, float]]
    shape_code: list[float]
    appearance_code: list[float]
    assets: list[dict[str, Any]]


class _Draw:
    """Uniform draws from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.g = torch.Generator().manual_seed(seed)

    def u(self, lo: float = 0.0, hi: float = 1.0) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=self.g, dtype=torch.float64))

    def pick(self, options: tuple) -> Any:
        return options[int(torch.randint(len(options), (), generator=self.g))]

    def color(self, sat: tuple[float, float] = (0.3, 0.8), val: tuple[float, float] = (0.45, 0.95)) -> tuple:
        h, s, v = self.u(), self.u(*sat), self.u(*val)
        k = [(n + h * 6) % 6 for n in (5.0, 3.0, 1.0)]
        return tuple(v - v * s * max(0.0, min(1.0, kk, 4 - kk)) for kk in k)


def _camera(eye: torch.Tensor, at: torch.Tensor, roll_deg: float, fov_deg: float) -> CameraSpec:
    R, t = look_at(eye[None], at[None])
    c, s = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    roll = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    R, t = roll @ R[0], roll @ t[0]
    m = torch.eye(4)
    m[:3, :3], m[:3, 3] = R, t
    return CameraSpec(fov_deg=fov_deg, view=MatrixView(world_to_camera=tuple(tuple(r) for r in m.tolist())))


def _pose_camera(rig: Rig, yaw: float, pitch: float, roll: float) -> CameraSpec:
    eye = orbit_eyes(rig.center, rig.distance, [yaw], pitch)[0]
    return _camera(eye, torch.tensor(rig.center, dtype=torch.float32), roll, rig.fov_deg)


def pose_cameras(kind: Kind, poses: Sequence[Sequence[float]], size: int) -> Cameras:
    """The cameras the data engine places for (yaw, pitch, roll) poses in degrees: the same K, R, t
    a `kind` sample with those poses stores, so other producers of multi-view sets (a GAN steered
    in degrees) label their views exactly like rendered ones.

    Args:
        kind: whose rig (`RIGS`) to use.
        poses: N (yaw, pitch, roll) triples.
        size: square image side in pixels.

    Returns:
        N render3d cameras.

    Example:
        >>> cams = pose_cameras("heads", [(0.0, 0.0, 0.0), (30.0, 10.0, 0.0)], 64)
        >>> len(cams), cams.width
        (2, 64)
    """
    specs = [_pose_camera(RIGS[kind], *map(float, p)) for p in poses]
    built = [c.build(size, size) for c in specs]
    return Cameras(torch.cat([c.K for c in built]), torch.cat([c.R for c in built]), torch.cat([c.t for c in built]),
                   size, size)


def _views(d: _Draw, n: int, rig: Rig, ranges: PoseRanges) -> tuple[list[CameraSpec], list[dict[str, float]]]:
    cams, poses = [], []
    for _ in range(n):
        y, p, r = d.u(*ranges.yaw), d.u(*ranges.pitch), d.u(*ranges.roll)
        cams.append(_pose_camera(rig, y, p, r))
        poses.append({"yaw_deg": y, "pitch_deg": p, "roll_deg": r})
    return cams, poses


def _key_light(d: _Draw) -> list:
    to_light = orbit_eyes((0, 0, 0), 1.0, [d.u(-60, 60)], d.u(10, 50))[0]
    return [AmbientLightSpec(intensity=d.u(0.3, 0.45)),
            DirectionalLightSpec(direction=tuple((-to_light).tolist()), intensity=d.u(0.6, 0.85))]


def _random_shape(d: _Draw, scale: float) -> tuple[Any, list[float]]:
    kind = d.pick(SHAPE_TYPES)
    s = scale
    if kind == "sphere":
        p = SphereParams(radius=d.u(0.3, 0.5) * s)
    elif kind == "icosphere":
        p = IcosphereParams(radius=d.u(0.3, 0.5) * s, subdivisions=int(d.u(1, 3.99)))
    elif kind == "box":
        p = BoxParams(size=tuple(d.u(0.35, 0.8) * s for _ in range(3)))
    elif kind == "cylinder":
        p = CylinderParams(radius=d.u(0.2, 0.4) * s, height=d.u(0.4, 0.9) * s)
    elif kind == "cone":
        p = ConeParams(radius=d.u(0.25, 0.45) * s, height=d.u(0.5, 0.9) * s)
    elif kind == "torus":
        p = TorusParams(major=d.u(0.3, 0.45) * s, minor=d.u(0.08, 0.18) * s)
    elif kind == "capsule":
        p = CapsuleParams(radius=d.u(0.15, 0.3) * s, length=d.u(0.2, 0.5) * s)
    else:
        p = SuperquadricParams(seed=int(d.u(0, 2**31 - 1)), scale=tuple(d.u(0.25, 0.45) * s for _ in range(3)),
                               epsilon1=d.u(0.2, 1.8), epsilon2=d.u(0.2, 1.8))
    fields = [v for k, v in p.model_dump().items() if isinstance(v, int | float) and k not in ("seed",)]
    flat = [float(x) for v in p.model_dump().values() if isinstance(v, tuple | list) for x in v]
    code = [float(SHAPE_TYPES.index(kind)), *map(float, fields), *flat]
    return p, code


def _random_material(d: _Draw) -> MaterialSpec:
    base = d.color()
    texture = d.pick((None, None, "checker", "noise", "gradient"))
    tex = None
    if texture == "checker":
        tex = CheckerParams(squares=int(d.u(2, 10)), color_a=base, color_b=d.color())
    elif texture == "noise":
        tex = NoiseParams(seed=int(d.u(0, 2**31 - 1)), scale=d.u(2, 8), color_a=base, color_b=d.color())
    elif texture == "gradient":
        tex = GradientParams(direction=d.pick(("u", "v", "radial")), color_a=base, color_b=d.color())
    return MaterialSpec(base_color=base, procedural_texture=tex, texture_size=128, specular=d.u(0.0, 0.5),
                        shininess=d.u(8, 128))


def _render(size: int, background: tuple, supersample: int) -> RenderSpec:
    return RenderSpec(width=size, height=size, supersample=supersample, background=background,
                      outputs=("rgb", "depth", "normals", "mask"))


def make_sample(kind: Kind, seed: int, views: int, size: int, supersample: int = 2,
                pose_ranges: PoseRanges | None = None) -> Sample:
    """Draw one random sample.

    Args:
        kind: `heads` (a procedural head, views around the face), `shapes` (one textured or plain
            primitive or superquadric, views all around) or `scenes` (2-4 of them on a floor, views
            from above).
        seed: the only source of randomness.
        views: cameras per sample.
        size: image side in pixels.
        supersample: anti-aliasing factor.
        pose_ranges: where the views are drawn from; None uses `DEFAULT_POSES[kind]`. The ranges change
            the poses only: every other draw (shape, texture, light) stays the same for a seed.

    Example:
        >>> s = make_sample("shapes", seed=1, views=2, size=32)
        >>> len(s.spec.cameras), len(s.poses)
        (2, 2)
    """
    d = _Draw(seed)
    ranges = pose_ranges or DEFAULT_POSES[kind]
    if kind == "heads":
        head = HeadParams(seed=int(d.u(0, 2**31 - 1)), texture_size=256)
        cams, poses = _views(d, views, RIGS["heads"], ranges)
        spec = SceneSpec(name="head", objects=(ObjectSpec(name="head", procedural=head),), lights=_key_light(d),
                         cameras=cams, render=_render(size, (0.92, 0.92, 0.92), supersample))
        r = head.resolved()
        return Sample(spec, poses, head.shape_code(), head.appearance_code(), [r.model_dump(mode="json")])
    if kind == "shapes":
        shape, code = _random_shape(d, 1.0)
        material = _random_material(d)
        rot = (d.u(-180, 180), d.u(-180, 180), d.u(-180, 180))
        obj = ObjectSpec(name="shape", procedural=shape, material=material,
                         transform=TransformSpec(rotation_euler_deg=rot))
        cams, poses = _views(d, views, RIGS["shapes"], ranges)
        spec = SceneSpec(name="shape", objects=(obj,), lights=_key_light(d), cameras=cams,
                         render=_render(size, (1.0, 1.0, 1.0), supersample))
        return Sample(spec, poses, [*code, *rot], list(material.base_color),
                      [{**shape.model_dump(mode="json"), "rotation_euler_deg": list(rot)}])
    n = int(d.u(2, 4.999))
    objects, codes, colors, assets = [], [], [], []
    for i in range(n):
        shape, code = _random_shape(d, 0.6)
        material = _random_material(d)
        angle, radius = 2 * math.pi * (i + d.u(-0.3, 0.3)) / n, d.u(0.35, 0.8)
        rest = -float(build_asset(shape)[0].verts[:, 1].min())  # a turn about +Y keeps it resting on the floor
        pos = (radius * math.sin(angle), rest, radius * math.cos(angle))
        objects.append(ObjectSpec(name=f"object_{i}", procedural=shape, material=material,
                                  transform=TransformSpec(translation=pos, rotation_euler_deg=(0, d.u(-180, 180), 0))))
        codes += code
        colors += list(material.base_color)
        assets.append({**shape.model_dump(mode="json"), "translation": list(pos)})
    floor = ObjectSpec(name="floor", procedural=PlaneParams(size=(4.0, 4.0)), flags=RenderFlags(in_mask=False),
                       material=MaterialSpec(base_color=d.color((0.0, 0.2), (0.5, 0.8)), specular=0.0))
    cams, poses = _views(d, views, RIGS["scenes"], ranges)
    spec = SceneSpec(name="scene", objects=(*objects, floor), lights=_key_light(d), cameras=cams,
                     render=_render(size, (1.0, 1.0, 1.0), supersample))
    return Sample(spec, poses, codes, colors, assets)
