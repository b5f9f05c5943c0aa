"""The scene schema: pydantic models that validate scene files into frozen specs."""

from scenes.schema.cameras import CameraSpec, DollyView, Keyframe, KeyframeView, LookAtView, MatrixView, OrbitView
from scenes.schema.lights import (
    DEFAULT_LIGHTS,
    AmbientLightSpec,
    DirectionalLightSpec,
    LightSpec,
    PointLightSpec,
    SHLightSpec,
)
from scenes.schema.objects import MaterialSpec, ObjectSpec, RenderFlags, TransformSpec
from scenes.schema.scene import OUTPUTS, RenderSpec, SceneSpec
from scenes.spectypes import AssetPath, Color, Spec, Vec3

__all__ = [
    "DEFAULT_LIGHTS", "OUTPUTS", "AmbientLightSpec", "AssetPath", "CameraSpec", "Color", "DirectionalLightSpec",
    "DollyView", "Keyframe", "KeyframeView", "LightSpec", "LookAtView", "MaterialSpec", "MatrixView", "ObjectSpec",
    "OrbitView", "PointLightSpec", "RenderFlags", "RenderSpec", "SHLightSpec", "SceneSpec", "Spec",
    "TransformSpec", "Vec3",
]
