"""Render a scene: every object in its own pass, then depth-ordered compositing.

Each visible object is rendered alone at the supersampled resolution (premultiplied color over
black, coverage, depth, normals, optionally albedo); per sub-pixel the layers are sorted by depth
and composited front to back, which gives correct occlusion between meshes and point clouds and
lets every object keep its own material and shading. The composite is then box-filtered down:
color and coverage are averaged, depth and normals averaged over covered sub-pixels, instance ids
take the majority label. Everything is deterministic: the same scene renders bit-identically.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import torch
from torch.nn import functional as F

from render3d.backends import (
    REFERENCE,
    MeshRenderBackend,
    PointRenderBackend,
    Request,
    Task,
    backend_info,
    get_backend,
)
from render3d.buffers import supersampled_cameras
from render3d.cameras import Cameras
from render3d.lights import Light
from render3d.render_settings import RenderSettings
from render3d.structures import Meshes, Pointclouds
from scenes.build import BuiltObject, BuiltScene, build_scene
from scenes.errors import SceneFileError
from scenes.fileio import load_scene
from scenes.outputs import write_run
from scenes.result import SceneRender
from scenes.scene import Scene
from scenes.schema import SceneSpec

#: Names of the reference backend in scene files (`reference` is the schema's documented alias).
REFERENCE_ALIASES = (REFERENCE, "reference")


class _Layer(NamedTuple):
    premult: torch.Tensor  # [n, h, w, 3]
    alpha: torch.Tensor  # [n, h, w]
    depth: torch.Tensor  # [n, h, w], 0 where empty
    normals: torch.Tensor  # [n, h, w, 3]
    albedo: torch.Tensor | None  # [n, h, w, 3] premultiplied


class _Passes:
    """Renders one object per call through the chosen backend's render task.

    Every backend renders through the same `render_meshes` / `render_points` signature; what the
    scene asks of it (outputs, each object's shading) is checked against its declared capabilities
    up front, so an impossible request names the scene field instead of failing mid-render.
    """

    def __init__(self, backend_name: str, lights: Light, outputs: tuple[str, ...]) -> None:
        self.name = REFERENCE if backend_name in REFERENCE_ALIASES else backend_name
        self.lights, self.want_albedo = lights, "albedo" in outputs
        self.needs = frozenset({"rgb", "alpha", "depth"} | ({"normals"} if "normals" in outputs else set()))
        caps = backend_info(self.name).capabilities
        if not caps.tasks & {Task.RENDER_MESHES, Task.RENDER_POINTS}:
            raise SceneFileError(f"render.backend: {self.name!r} cannot render meshes or point clouds")
        lacking = self.needs - caps.outputs
        if lacking:
            raise SceneFileError(f"render.outputs: backend {self.name!r} does not produce {', '.join(sorted(lacking))} "
                                 f"(it fills {', '.join(sorted(caps.outputs))}); use backend {REFERENCE}")
        self._backends: dict[tuple[Task, str], MeshRenderBackend | PointRenderBackend] = {}

    def _backend(self, task: Task, obj: BuiltObject, settings: RenderSettings,
                 device: torch.device) -> MeshRenderBackend | PointRenderBackend:
        key = (task, settings.shading)
        if key not in self._backends:
            backend = get_backend(self.name)
            missing = backend_info(self.name).capabilities.missing(
                Request.for_render(task, settings, self.needs, device))
            if missing is not None:
                raise SceneFileError(f"object {obj.name!r}: backend {self.name!r} {missing}")
            self._backends[key] = backend
        return self._backends[key]

    def render(self, obj: BuiltObject, cameras: Cameras) -> _Layer:
        n = len(cameras)
        settings = RenderSettings(shading=obj.shading, background=(0.0, 0.0, 0.0), cull_backfaces=obj.cull_backfaces)
        albedo = None
        if isinstance(obj.geometry, Meshes):
            meshes = obj.geometry.extend(n)
            mesh_backend = self._backend(Task.RENDER_MESHES, obj, settings, cameras.device)
            out = mesh_backend.render_meshes(meshes, cameras, self.lights, obj.materials, settings)
            if self.want_albedo:
                unlit = replace(settings, shading="unlit")
                albedo = out.rgb if obj.shading == "unlit" else self._backend(
                    Task.RENDER_MESHES, obj, unlit, cameras.device).render_meshes(
                        meshes, cameras, None, obj.materials, unlit).rgb
        else:
            points_backend = self._backend(Task.RENDER_POINTS, obj, settings, cameras.device)
            out = points_backend.render_points(_repeat_cloud(obj.geometry, n), cameras, settings)
            albedo = out.rgb if self.want_albedo else None
        normals = out.normals if out.normals is not None else torch.zeros_like(out.rgb)
        depth = out.depth if out.depth is not None else torch.zeros_like(out.alpha)
        return _Layer(out.rgb[..., :3], out.alpha, depth, normals, albedo)


def _repeat_cloud(cloud: Pointclouds, n: int) -> Pointclouds:
    p, f, nm = cloud.points_list(), cloud.features_list(), cloud.normals_list()
    r = cloud.radius_packed()
    return Pointclouds(p * n, features=None if f is None else f * n, normals=None if nm is None else nm * n,
                       radius=[r] * n)


def _composite(layers: list[_Layer], ids: list[int], in_mask: list[bool]) -> dict[str, torch.Tensor]:
    """Front-to-back compositing of per-object layers at one resolution."""
    alpha = torch.stack([lay.alpha for lay in layers])  # [L, n, h, w]
    depth = torch.stack([lay.depth for lay in layers])
    covered = (alpha > 0) & (depth > 0)
    key = torch.where(covered, depth, torch.full_like(depth, float("inf")))
    order = torch.sort(key, dim=0, stable=True).indices

    def sort(x: torch.Tensor) -> torch.Tensor:
        idx = order.reshape(*order.shape, *([1] * (x.dim() - order.dim()))).expand_as(x)
        return torch.gather(x, 0, idx)

    a = sort(alpha * covered)
    trans = torch.cumprod(torch.cat([torch.ones_like(a[:1]), 1 - a[:-1]]), 0)
    w = trans * a  # visible share of each sorted layer
    out = {"premult": (sort(torch.stack([lay.premult for lay in layers])) * trans[..., None]).sum(0),
           "alpha": 1 - torch.prod(1 - a, 0)}
    if layers[0].albedo is not None:
        out["albedo"] = (sort(torch.stack([lay.albedo for lay in layers])) * trans[..., None]).sum(0)
    front_hit = sort(covered.float())[0] > 0
    out["depth"] = torch.where(front_hit, sort(depth)[0], torch.zeros_like(depth[0]))
    out["normals"] = sort(torch.stack([lay.normals for lay in layers]))[0] * front_hit[..., None]
    out["front"] = torch.where(front_hit, order[0], -1)
    mask_flags = torch.tensor(in_mask, dtype=alpha.dtype)[order]
    out["mask"] = (w * mask_flags).sum(0)
    labels = torch.tensor(ids, dtype=torch.long)[order] * mask_flags.long()
    out["instance"] = torch.where(front_hit, labels[0], torch.zeros_like(labels[0]))
    return out


def _pool(x: torch.Tensor, s: int) -> torch.Tensor:
    """Box filter `[n, h, w, C]` by s."""
    return F.avg_pool2d(x.permute(0, 3, 1, 2), s).permute(0, 2, 3, 1)


def _downsample(buf: dict[str, torch.Tensor], s: int) -> dict[str, torch.Tensor]:
    if s == 1:
        return buf
    out = {k: _pool(buf[k], s) for k in ("premult", "albedo") if k in buf}
    out["alpha"] = _pool(buf["alpha"][..., None], s)[..., 0]
    out["mask"] = _pool(buf["mask"][..., None], s)[..., 0]
    # Depth and normals come from the sub-pixels of the object covering most of the block, so
    # pixels on the border between two objects do not average their depths.
    layers = torch.unique(buf["front"])
    layers = layers[layers >= 0]
    if len(layers):
        votes = _pool((buf["front"][..., None] == layers).float(), s)
        major = layers[votes.argmax(-1)]
        hit = (buf["front"] == F.interpolate(major[:, None].float(), scale_factor=s, mode="nearest")[:, 0].long())
        hit = (hit & (buf["front"] >= 0)).float()[..., None]
    else:
        hit = torch.zeros_like(buf["depth"])[..., None]
    cover = _pool(hit, s)
    out["depth"] = torch.where(cover > 0, _pool(buf["depth"][..., None] * hit, s) / cover.clamp(min=1e-12), 0.0)[..., 0]
    out["normals"] = F.normalize(_pool(buf["normals"] * hit, s), dim=-1, eps=1e-12)
    labels = torch.unique(buf["instance"])
    votes = _pool((buf["instance"][..., None] == labels).float(), s)  # [n, h, w, labels]
    out["instance"] = labels[votes.argmax(-1)]  # first maximum: ties go to the smaller label
    return out


def render_built(built: BuiltScene, spec: SceneSpec, frames_per_batch: int = 8) -> SceneRender:
    """Render an already built scene (see `render`)."""
    r = spec.render
    want_albedo = "albedo" in r.outputs
    passes = _Passes(r.backend, built.lights, tuple(r.outputs))
    ids = [o.instance_id for o in built.objects]
    in_mask = [o.in_mask for o in built.objects]
    s = r.supersample
    chunks: list[dict[str, torch.Tensor]] = []
    n_frames = len(built.cameras)
    for start in range(0, n_frames, frames_per_batch):
        cams = built.cameras[start:start + frames_per_batch]
        hi = supersampled_cameras(cams, s) if s > 1 else cams
        if built.objects:
            with torch.no_grad():
                layers = [passes.render(o, hi) for o in built.objects]
            chunks.append(_downsample(_composite(layers, ids, in_mask), s))
        else:
            z = torch.zeros(len(cams), r.height, r.width)
            chunks.append({"premult": torch.zeros(*z.shape, 3), "alpha": z, "depth": z, "mask": z,
                           "normals": torch.zeros(*z.shape, 3), "instance": z.long(),
                           **({"albedo": torch.zeros(*z.shape, 3)} if want_albedo else {})})
    buf = {k: torch.cat([c[k] for c in chunks]) for k in chunks[0]}
    transparent = r.background == "transparent"

    def finish(premult: torch.Tensor) -> torch.Tensor:
        if transparent:
            return torch.where(buf["alpha"][..., None] > 0, premult / buf["alpha"][..., None].clamp(min=1e-12), 0.0)
        bg = torch.tensor(r.background, dtype=premult.dtype)
        return premult + (1 - buf["alpha"][..., None]) * bg

    return SceneRender(
        rgb=finish(buf["premult"]).clamp(0, 1), alpha=buf["alpha"].clamp(0, 1), depth=buf["depth"],
        normals=buf["normals"], mask=buf["mask"].clamp(0, 1), instance=buf["instance"],
        albedo=finish(buf["albedo"]).clamp(0, 1) if want_albedo else None, cameras=built.cameras,
        transparent=transparent)


def render(scene: Scene | SceneSpec, out_dir: str | os.PathLike | None = None) -> SceneRender:
    """Render every frame of a scene and return the buffers; with `out_dir`, hand them to the
    writer `scenes.outputs.write_run` as well.

    Args:
        scene: a `Scene` builder or a validated `SceneSpec`.
        out_dir: where to write images, depth, masks, sheet, GIF and the resolved scene file.

    Returns:
        `SceneRender` tensors.

    Raises:
        SceneFileError: invalid scene; BackendUnavailable: the named backend cannot run here.

    Example:
        >>> from scenes.assets import SphereParams
        >>> out = render(Scene().add_asset(SphereParams()).configure(width=32, height=32))
        >>> out.rgb.shape
        torch.Size([1, 32, 32, 3])
    """
    spec = scene.spec() if isinstance(scene, Scene) else scene
    result = render_built(build_scene(spec), spec)
    if out_dir is not None:
        write_run(result, spec, out_dir)
    return result


def render_scene_file(path: str | os.PathLike, out_dir: str | os.PathLike, *, width: int | None = None,
                      height: int | None = None, backend: str | None = None,
                      supersample: int | None = None) -> Path:
    """`neurender render scene.yaml --out DIR`: load, optionally override render settings, render, write.

    Args:
        path: a `.yaml`/`.yml`/`.json` scene file.
        out_dir: the run directory to write.
        width, height, backend, supersample: overrides of the file's render settings.

    Returns:
        The run directory.

    Raises:
        SceneFileError: a broken scene file or override (exit code 2 in the CLI).
    """
    spec = load_scene(path)
    overrides = {k: v for k, v in (("width", width), ("height", height), ("backend", backend),
                                   ("supersample", supersample)) if v is not None}
    if overrides:
        scene = Scene.from_spec(spec).configure(**overrides)
        sx, sy = scene.render.width / spec.render.width, scene.render.height / spec.render.height
        # A K given in pixels belongs to the file's image size: scale it with the override.
        scale = torch.tensor([[sx, sx, sx], [sy, sy, sy], [1.0, 1.0, 1.0]], dtype=torch.float64)
        scene.cameras = [c if c.K is None else c.model_copy(update={"K": tuple(
            tuple(row) for row in (torch.tensor(c.K, dtype=torch.float64) * scale).tolist())}) for c in scene.cameras]
        spec = scene.spec()
    render(spec, out_dir)
    return Path(out_dir)


__all__ = ["SceneRender", "render", "render_built", "render_scene_file"]
