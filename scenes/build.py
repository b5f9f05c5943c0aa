"""Scene specs → render3d objects: world-space geometry, materials, lights and cameras.

Building is deterministic: procedural assets depend only on their parameters (seeds included),
files are read as they are, nothing random is drawn here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from render3d.cameras import Cameras
from render3d.io import load_mesh, load_pointcloud
from render3d.lights import AmbientLight, DirectionalLight, Light, Lights, PointLight, SHLight
from render3d.shading import Materials
from render3d.structures import Meshes, Pointclouds
from scenes.assets import build_asset, make_texture
from scenes.budget import check_render_budget
from scenes.errors import SceneFileError
from scenes.schema import DEFAULT_LIGHTS, LightSpec, MaterialSpec, ObjectSpec, SceneSpec
from scenes.schema.lights import AmbientLightSpec, DirectionalLightSpec, PointLightSpec
from scenes.transforms import apply_to_normals, apply_to_points


@dataclass(frozen=True)
class BuiltObject:
    """One renderable object in world space.

    Attributes:
        name: the object's name.
        instance_id: its label in the instance output.
        geometry: a one-mesh `Meshes` or a one-cloud `Pointclouds`, in world coordinates.
        materials: render3d material constants.
        shading: the shading model used for it.
        in_mask: counted in mask / instance outputs.
        cull_backfaces: rasterize front faces only.
    """

    name: str
    instance_id: int
    geometry: Meshes | Pointclouds
    materials: Materials
    shading: Literal["unlit", "lambert", "phong"]
    in_mask: bool
    cull_backfaces: bool


@dataclass(frozen=True)
class BuiltScene:
    """Everything a renderer needs: visible objects, the light rig and one camera per frame."""

    objects: list[BuiltObject]
    lights: Light
    cameras: Cameras


def _texture(material: MaterialSpec) -> torch.Tensor | None:
    if material.procedural_texture is not None:
        return make_texture(material.procedural_texture, material.texture_size)
    if material.texture is not None:
        from render3d.io.images import read_image

        im = read_image(material.texture).convert("RGB")  # refuses decompression bombs before decoding
        arr = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
        return arr.reshape(im.height, im.width, 3).float() / 255.0
    return None


def _transform_mesh(mesh: Meshes, matrix: torch.Tensor) -> Meshes:
    verts = apply_to_points(matrix, mesh.verts_list()[0])
    normals = apply_to_normals(matrix, mesh.verts_normals_packed())
    if mesh.has_texture:
        return Meshes([verts], mesh.faces_list(), vert_normals=[normals], verts_uvs=mesh.verts_uvs_list(),
                      faces_uvs=mesh.faces_uvs_list(), textures=mesh.textures_list())
    return Meshes([verts], mesh.faces_list(), vert_normals=[normals], vert_colors=mesh.vert_colors_list())


def _mesh(obj: ObjectSpec, where: str) -> Meshes:
    texture = _texture(obj.material)
    if obj.procedural is not None:
        data, own_texture = build_asset(obj.procedural)
        texture = texture if texture is not None else own_texture
        if texture is not None and data.uvs is None:
            raise SceneFileError(f"{where}.material: a {obj.procedural.type} has no UVs to map a texture with")
        mesh = data.to_meshes(obj.material.base_color, texture)
    else:
        mesh = load_mesh(obj.mesh)
        if texture is not None:
            if not mesh.has_texture:
                raise SceneFileError(f"{where}.material: {obj.mesh} has no UVs to map a texture with")
            mesh = mesh.with_texture(mesh.verts_uvs_list(), mesh.faces_uvs_list(), [texture])
    return _transform_mesh(mesh, obj.transform.matrix())


def _points(obj: ObjectSpec) -> Pointclouds:
    cloud = load_pointcloud(obj.points, radius=obj.point_radius)
    matrix = obj.transform.matrix()
    pts = apply_to_points(matrix, cloud.points_list()[0])
    scale = float(torch.linalg.det(matrix[:3, :3]).abs() ** (1 / 3))
    feats = cloud.features_list()
    if feats is None:
        feats = [torch.tensor(obj.material.base_color).expand(pts.shape[0], 3).clone()]
    normals = cloud.normals_list()
    normals = None if normals is None else [apply_to_normals(matrix, normals[0])]
    return Pointclouds([pts], features=feats, normals=normals, radius=[cloud.radius_packed() * scale])


def build_materials(material: MaterialSpec) -> Materials:
    """render3d `Materials` of a material spec (metallic-roughness mapped to Phong terms)."""
    a, d, s, shininess = material.phong_terms()
    return Materials(base_color=material.base_color, ambient_color=(a, a, a), diffuse_color=(d, d, d),
                     specular_color=s, shininess=shininess)


def build_light(spec: LightSpec) -> Light:
    """The render3d light of one light spec (colors scaled by intensity)."""
    if isinstance(spec, AmbientLightSpec):
        return AmbientLight(tuple(c * spec.intensity for c in spec.color))
    if isinstance(spec, DirectionalLightSpec):
        return DirectionalLight(spec.direction, tuple(c * spec.intensity for c in spec.color))
    if isinstance(spec, PointLightSpec):
        return PointLight(spec.position, tuple(c * spec.intensity for c in spec.color))
    return SHLight(torch.tensor(spec.coefficients, dtype=torch.float32)[None])


def build_cameras(spec: SceneSpec) -> Cameras:
    """One camera per frame, over all the scene's cameras in order."""
    w, h = spec.render.width, spec.render.height
    cams = [c.build(w, h) for c in spec.cameras]
    return Cameras(torch.cat([c.K for c in cams]), torch.cat([c.R for c in cams]), torch.cat([c.t for c in cams]),
                   w, h)


def build_scene(spec: SceneSpec) -> BuiltScene:
    """Build every visible object, the lights and the cameras of a scene.

    Raises:
        SceneFileError: a render that would not fit in memory (checked first, see `scenes.budget`),
            or a texture on geometry without UVs.
        MeshIOError, InvalidMeshError: an unreadable or broken asset file.
    """
    check_render_budget(spec, f"scene {spec.name!r}")
    ids = spec.instance_ids()
    objects = []
    for i, (obj, iid) in enumerate(zip(spec.objects, ids, strict=True)):
        if not obj.flags.visible:
            continue
        geometry = _points(obj) if obj.points is not None else _mesh(obj, f"objects[{i}]")
        shading = spec.render.shading if obj.flags.shading == "scene" else obj.flags.shading
        objects.append(BuiltObject(obj.name, iid, geometry, build_materials(obj.material), shading,
                                   obj.flags.in_mask, obj.flags.cull_backfaces))
    light_specs = DEFAULT_LIGHTS if spec.lights is None else spec.lights
    lights = Lights(*[build_light(s) for s in light_specs]) if light_specs else AmbientLight(0.0)
    return BuiltScene(objects, lights, build_cameras(spec))
