"""A scene built in Python: `neurender render scenes/examples/scripted_scene.py --out runs/scripted`.

Three procedural heads with pinned proportions in a row, seen by a keyframed camera.
"""

from scenes.assets import HeadParams, PlaneParams
from scenes.scene import Scene
from scenes.schema import AmbientLightSpec, DirectionalLightSpec, MaterialSpec, RenderFlags, TransformSpec

scene = Scene("scripted_heads")
for i, (nose, jaw) in enumerate([(0.1, 0.2), (0.5, 0.5), (0.9, 0.8)]):
    place = TransformSpec(translation=((i - 1) * 0.9, 0.0, 0.0), rotation_euler_deg=(0, 15 * (1 - i), 0))
    scene.add_asset(HeadParams(seed=20 + i, nose_length=nose, jaw=jaw), name=f"head_{i}", transform=place)
scene.add_asset(PlaneParams(size=(4.0, 3.0)), name="floor", transform=TransformSpec(translation=(0, -0.85, 0)),
                material=MaterialSpec(base_color=(0.55, 0.55, 0.6), specular=0.0), flags=RenderFlags(in_mask=False))
scene.add_light(AmbientLightSpec(intensity=0.35)).add_light(DirectionalLightSpec(direction=(-0.3, -0.6, -1.0)))
scene.keyframes([(0.0, 0.3, 4.0), (2.5, 0.8, 3.0), (-2.5, 0.5, 3.0)], ats=[(0, -0.1, 0)] * 3, frames=12, fov_deg=35)
scene.configure(width=320, height=200, supersample=2, outputs=["rgb", "depth", "mask", "instance"])
