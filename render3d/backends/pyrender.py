"""pyrender backend: fast non-differentiable offscreen rendering (CPU: Mesa EGL or OSMesa).

OpenGL platform: PyOpenGL fixes its platform when first imported, from `PYOPENGL_PLATFORM`.
Importing this module changes nothing. On first use, `gl_platform()` keeps the caller's
`PYOPENGL_PLATFORM` if set (or whatever PyOpenGL already loaded); otherwise it tries `egl`, then
`osmesa`, each in a short subprocess (a broken GL stack can crash a process), and sets
`PYOPENGL_PLATFORM` in this process to the first that renders, before pyrender is imported.

Conventions converted here: our OpenCV extrinsics become pyrender's camera pose (camera → world,
OpenGL axes: y up, looking down -z) as `pose = [Rᵀ | -Rᵀt] · diag(1, -1, -1, 1)`; our K becomes an
`IntrinsicsCamera` (whose projection maps u = fx·x/z + cx with row 0 at the top, as ours). Depth
comes back as camera z with 0 for background; the near/far planes hug the geometry so the 24-bit
depth buffer keeps its precision. Every pixel is sampled once, at its center (pyrender's 4×
multisampling is switched off), like the reference rasterizer: exact depth and mask;
`RenderSettings.supersample` antialiases by rendering larger and box-filtering, as everywhere.

Colors (generic `RenderSettings` and `Materials`): albedo is the texture, else the vertex colors,
else `materials.base_color`, as in the reference. "unlit" draws the albedo exactly (pyrender's
FLAT mode). Lit renders use pyrender's PBR metallic-roughness model with metallic 0: "lambert"
is roughness 1 (matte), "phong" maps the Blinn-Phong exponent n to roughness `(2 / (n + 2))^¼`
(the usual Beckmann/GGX correspondence α² = 2 / (n + 2)); the other `Materials` reflectances have
no PBR equivalent and are not used. pyrender's display gamma (1/2.2) is undone so colors are
linear like the reference renderer's. Point clouds are drawn unlit as squares of side
`2 · radius · fx / z` pixels (the projected splat diameter at the cloud's median depth, at least 1).

Lights (render3d.lights): `AmbientLight` → scene ambient; `DirectionalLight` → directional light;
`PointLight` only with inverse-square attenuation `(0, 0, a2)`; our light colors fold π in (a white
surface facing the light shows its color), so intensities are scaled by π / 0.96 (pyrender's
`c_diff = albedo · 0.96`, divided by π). `SHLight` has no pyrender equivalent.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from render3d.backends.capabilities import SHADING_MODELS, Capabilities, Task
from render3d.backends.info import BackendInfo, pip_install_hint
from render3d.backends.splat_size import splat_size
from render3d.buffers import render_supersampled
from render3d.cameras import Cameras
from render3d.errors import BackendUnavailable, ShapeError
from render3d.lights import AmbientLight, DirectionalLight, Lights, PointLight
from render3d.output import RenderOutput
from render3d.render_settings import RenderSettings
from render3d.shading.broadcast import as_batch_param
from render3d.shading.materials import Materials
from render3d.structures import Meshes, Pointclouds

if TYPE_CHECKING:
    from render3d.lights import Light

_PLATFORMS = ("egl", "osmesa")
_SMOKE = ("import pyrender, numpy as np\n"
          "s = pyrender.Scene(); s.add(pyrender.Mesh.from_points(np.zeros((1, 3), np.float32)))\n"
          "s.add(pyrender.IntrinsicsCamera(4, 4, 4, 4), pose=np.eye(4))\n"
          "c, d = pyrender.OffscreenRenderer(8, 8).render(s)\n")
LIGHT_SCALE = math.pi / 0.96  # our light colors → pyrender intensities (see module doc)


@functools.cache
def gl_platform() -> str:
    """The PyOpenGL platform pyrender uses in this process (chosen once, see the module doc).

    Raises:
        BackendUnavailable: neither EGL nor OSMesa can render here.
    """
    if os.environ.get("PYOPENGL_PLATFORM"):
        return os.environ["PYOPENGL_PLATFORM"]
    if "OpenGL" in sys.modules:
        return "preloaded"
    errors = []
    for platform in _PLATFORMS:
        env = {**os.environ, "PYOPENGL_PLATFORM": platform}
        try:
            run = subprocess.run([sys.executable, "-c", _SMOKE], env=env, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            errors.append(f"{platform}: timed out")
            continue
        if run.returncode == 0:
            os.environ["PYOPENGL_PLATFORM"] = platform
            return platform
        errors.append(f"{platform}: {(run.stderr.strip().splitlines() or ['exit ' + str(run.returncode)])[-1]}")
    raise BackendUnavailable("no offscreen OpenGL platform works (" + "; ".join(errors) + "); install Debian "
                             "libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6")


def _preload_triton() -> None:
    """Load triton's LLVM before Mesa's.

    torch imports triton lazily (through torch._dynamo, e.g. when the first optimizer is built); once
    Mesa's libLLVM (llvmpipe, loaded with the GL context) is in the process, loading triton's own
    LLVM segfaults the process. Loading triton first (~0.4 s, only where it is installed) avoids it.
    """
    if importlib.util.find_spec("triton") is not None:
        import triton  # noqa: F401


def _pyrender() -> Any:
    gl_platform()
    _preload_triton()
    import pyrender

    return pyrender


def _probe() -> str | None:
    _pyrender()
    return None


def camera_pose(R: torch.Tensor, t: torch.Tensor) -> np.ndarray:
    """World→camera OpenCV extrinsics `R: [3, 3]`, `t: [3]` → pyrender's 4×4 camera→world pose (OpenGL axes)."""
    pose = np.eye(4)
    Rn, tn = R.detach().cpu().double().numpy(), t.detach().cpu().double().numpy()
    pose[:3, :3] = Rn.T
    pose[:3, 3] = -Rn.T @ tn
    return pose @ np.diag([1.0, -1.0, -1.0, 1.0])


def _light_nodes(lights: Light | None, b: int, pyrender: Any) -> tuple[np.ndarray, list[tuple[Any, np.ndarray]]]:
    """Scene ambient RGB and (pyrender light, pose) pairs for image `b`."""
    members = list(lights.members) if isinstance(lights, Lights) else ([] if lights is None else [lights])
    ambient, nodes = np.zeros(3), []

    def pick(x: torch.Tensor) -> np.ndarray:
        return x[min(b, x.shape[0] - 1)].detach().cpu().double().numpy()

    for light in members:
        if isinstance(light, AmbientLight):
            ambient += pick(light.color)
        elif isinstance(light, DirectionalLight):
            z = -pick(light.direction)  # pyrender lights shine along their node's -z
            x = np.cross([0.0, 1.0, 0.0] if abs(z[1]) < 0.9 else [1.0, 0.0, 0.0], z)
            x /= np.linalg.norm(x)
            pose = np.eye(4)
            pose[:3, :3] = np.stack([x, np.cross(z, x), z], 1)
            nodes.append((pyrender.DirectionalLight(color=pick(light.color), intensity=LIGHT_SCALE), pose))
        elif isinstance(light, PointLight):
            a = light.attenuation.detach().cpu().double().numpy()
            if a[0] != 0 or a[1] != 0:
                raise ShapeError(f"pyrender point lights fall off as 1/d²: need attenuation (0, 0, a2), "
                                 f"got {a.tolist()}")
            pose = np.eye(4)
            pose[:3, 3] = pick(light.position)
            nodes.append((pyrender.PointLight(color=pick(light.color), intensity=LIGHT_SCALE / a[2]), pose))
        else:
            raise ShapeError(f"pyrender has no equivalent of {type(light).__name__}")
    return ambient, nodes


def roughness(shading: str, shininess: float) -> float:
    """PBR roughness standing in for `shading` with Blinn-Phong exponent `shininess` (see the module doc).

    Example:
        >>> roughness("lambert", 32.0), round(roughness("phong", 30.0), 3)
        (1.0, 0.5)
    """
    return 1.0 if shading != "phong" else (2.0 / (shininess + 2.0)) ** 0.25


def _pick(param: torch.Tensor, b: int) -> torch.Tensor:
    return param[min(b, param.shape[0] - 1)].detach().cpu().double()


class PyrenderBackend:
    """`Task.RENDER_MESHES` / `Task.RENDER_POINTS` with one reused `OffscreenRenderer`."""

    def __init__(self) -> None:
        self._pyrender = _pyrender()
        self._renderer: Any = None

    def _render_one(self, scene: Any, cameras: Cameras, b: int, depth_range: tuple[float, float], unlit: bool,
                    cull_backfaces: bool, point_size: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        pr = self._pyrender
        K = cameras.K[b].detach().cpu().double()
        if abs(float(K[0, 1])) > 1e-9 or cameras.orthographic:
            raise ShapeError("the pyrender backend supports perspective cameras without skew only")
        cam = pr.IntrinsicsCamera(float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]),
                                  znear=depth_range[0], zfar=depth_range[1])
        scene.add(cam, pose=camera_pose(cameras.R[b], cameras.t[b]))
        if self._renderer is None:
            self._renderer = pr.OffscreenRenderer(cameras.width, cameras.height)
        r = self._renderer
        r.viewport_width, r.viewport_height, r.point_size = cameras.width, cameras.height, point_size
        flags = pr.RenderFlags.RGBA
        if unlit:
            flags |= pr.RenderFlags.FLAT
        if not cull_backfaces:
            flags |= pr.RenderFlags.SKIP_CULL_FACES
        # pyrender hard-codes 4 samples when it (re)allocates its framebuffer inside render(); swap
        # the allocator of its module only for the duration of our call to sample pixel centers once.
        gl_module = sys.modules["pyrender.renderer"]
        allocate = gl_module.glRenderbufferStorageMultisample
        gl_module.glRenderbufferStorageMultisample = lambda target, _n, fmt, w, h: allocate(target, 0, fmt, w, h)
        try:
            color, depth = r.render(scene, flags=flags)
        finally:
            gl_module.glRenderbufferStorageMultisample = allocate
        return color, depth

    def _finish(self, colors: list[np.ndarray], depths: list[np.ndarray], unlit: bool,
                background: tuple[float, float, float], device: torch.device) -> RenderOutput:
        rgba = torch.from_numpy(np.stack(colors)).float() / 255.0
        depth = torch.from_numpy(np.stack(depths)).float()
        mask = (depth > 0).float()
        rgb = rgba[..., :3] if unlit else rgba[..., :3].pow(2.2)
        # pyrender already composites over the clear color; only restore exact background values
        rgb = torch.where(mask[..., None] > 0, rgb, torch.tensor(background, dtype=rgb.dtype))
        return RenderOutput(rgb=rgb.to(device), alpha=mask.to(device), depth=depth.to(device))

    def _depth_range(self, points: torch.Tensor, R: torch.Tensor, t: torch.Tensor, znear: float) -> tuple[float, float]:
        # A triangle's depth is a convex combination of its corners': no surface is nearer than the
        # nearest vertex, so the near plane can move up to it (for depth-buffer precision) clipping nothing.
        z = (points.detach() @ R.detach()[2] + t.detach()[2]).double()
        return max(znear, 0.5 * float(z.min())), max(float(z.max()) * 1.05, znear * 4.0) + 1e-3

    def render_meshes(self, meshes: Meshes, cameras: Cameras, lights: Light | None = None,
                      materials: Materials | None = None, settings: RenderSettings | None = None) -> RenderOutput:
        """Render B meshes with B cameras (see the module doc for how shading and materials map).

        Args:
            meshes: B meshes; vertex normals come from the mesh.
            cameras: B perspective cameras without skew.
            lights: render3d lights (see the module doc for what converts); ignored when unlit.
            materials: base color (meshes without texture or vertex colors) and shininess.
            settings: shading, background, culling, znear, supersampling.

        Returns:
            RenderOutput with `rgb [B, H, W, 3]`, `alpha [B, H, W]` (coverage), `depth [B, H, W]`
            (camera z, 0 background), on the meshes' device.

        Raises:
            ShapeError: batch mismatch, lit shading without lights, unsupported camera or light.
        """
        settings = RenderSettings() if settings is None else settings
        materials = Materials() if materials is None else materials
        if len(meshes) != len(cameras):
            raise ShapeError(f"{len(meshes)} meshes but {len(cameras)} cameras; use .extend() to match them")
        unlit = settings.shading == "unlit"
        if not unlit and lights is None:
            raise ShapeError(f"{settings.shading!r} shading needs lights")
        base = as_batch_param(materials.base_color, 3, "base_color")
        shininess = torch.as_tensor(materials.shininess, dtype=torch.float64).reshape(-1)
        return render_supersampled(
            lambda cams: self._meshes(meshes, cams, None if unlit else lights, base, shininess, settings),
            cameras, settings.supersample)

    def _meshes(self, meshes: Meshes, cameras: Cameras, lights: Light | None, base: torch.Tensor,
                shininess: torch.Tensor, settings: RenderSettings) -> RenderOutput:
        pr, unlit = self._pyrender, settings.shading == "unlit"
        colors, depths = [], []
        vc, uvs, fuv, tex = (meshes.vert_colors_list(), meshes.verts_uvs_list(), meshes.faces_uvs_list(),
                             meshes.textures_list())
        normals = torch.split(meshes.verts_normals_packed().detach(), meshes.num_verts_per_mesh.tolist())
        for b, (v, f) in enumerate(zip(meshes.verts_list(), meshes.faces_list(), strict=True)):
            v, f, n = v.detach(), f.detach(), normals[b]
            prim_kw: dict[str, Any] = {}
            material_kw: dict[str, Any] = {}
            factor = [1.0, 1.0, 1.0, 1.0]
            if tex is not None:
                # Unweld by face corner so each corner carries its own UV.
                corners = f.reshape(-1)
                v, n = v[corners], n[corners]
                prim_kw["texcoord_0"] = uvs[b].detach()[fuv[b].reshape(-1)].cpu().numpy()
                f = torch.arange(corners.numel()).reshape(-1, 3)
                img = (tex[b].detach().clamp(0, 1) * 255).round().byte().cpu().numpy()
                channels = {1: "R", 2: "RG", 3: "RGB", 4: "RGBA"}[img.shape[-1]]
                material_kw["baseColorTexture"] = pr.Texture(source=img, source_channels=channels)
            elif vc is not None:
                c = vc[b].detach()[:, :3].clamp(0, 1).cpu().numpy()
                prim_kw["color_0"] = np.concatenate([c, np.ones_like(c[:, :1])], 1)
            else:
                factor = [*_pick(base, b).clamp(0, 1).tolist(), 1.0]
            material = pr.MetallicRoughnessMaterial(
                baseColorFactor=factor, metallicFactor=0.0,
                roughnessFactor=roughness(settings.shading, float(_pick(shininess[:, None], b))),
                doubleSided=not settings.cull_backfaces, **material_kw)
            prim = pr.Primitive(positions=v.cpu().numpy(), normals=n.cpu().numpy(), indices=f.cpu().numpy(),
                                material=material, mode=pr.constants.GLTF.TRIANGLES, **prim_kw)
            ambient, light_nodes = _light_nodes(lights, b, pr)
            scene = pr.Scene(bg_color=[*settings.background, 0.0], ambient_light=ambient)
            scene.add(pr.Mesh([prim]))
            for light, pose in light_nodes:
                scene.add(light, pose=pose)
            rng = self._depth_range(v, cameras.R[b], cameras.t[b], settings.znear)
            color, depth = self._render_one(scene, cameras, b, rng, unlit, settings.cull_backfaces)
            colors.append(color)
            depths.append(depth)
        return self._finish(colors, depths, unlit, settings.background, meshes.device)

    def render_points(self, clouds: Pointclouds, cameras: Cameras,
                      settings: RenderSettings | None = None) -> RenderOutput:
        """Render B point clouds as squares (see the module doc) colored by their first 3 features, unlit.

        Points without features are white, as in the reference.

        Returns:
            RenderOutput `rgb`, `alpha`, `depth` as in `render_meshes`.

        Raises:
            ShapeError: batch mismatch or an unsupported camera.
        """
        settings = RenderSettings() if settings is None else settings
        if len(clouds) != len(cameras):
            raise ShapeError(f"{len(clouds)} point clouds but {len(cameras)} cameras")
        return render_supersampled(lambda cams: self._points(clouds, cams, settings), cameras, settings.supersample)

    def _points(self, clouds: Pointclouds, cameras: Cameras, settings: RenderSettings) -> RenderOutput:
        pr = self._pyrender
        feats = clouds.features_list()
        radii = torch.split(clouds.radius_packed(), clouds.num_points_per_cloud.tolist())
        colors, depths = [], []
        for b, p in enumerate(clouds.points_list()):
            p = p.detach()
            c = None if feats is None else feats[b].detach()[:, :3].clamp(0, 1).cpu().numpy()
            scene = pr.Scene(bg_color=[*settings.background, 0.0], ambient_light=np.ones(3))
            scene.add(pr.Mesh.from_points(p.cpu().numpy(), colors=c))
            rng = self._depth_range(p, cameras.R[b], cameras.t[b], settings.znear)
            size = splat_size(p, radii[b], cameras, b)
            color, depth = self._render_one(scene, cameras, b, rng, True, settings.cull_backfaces, size)
            colors.append(color)
            depths.append(depth)
        return self._finish(colors, depths, True, settings.background, clouds.device)


INFO = BackendInfo(
    name="pyrender",
    capabilities=Capabilities(
        tasks=frozenset({Task.RENDER_MESHES, Task.RENDER_POINTS}), differentiable=False, devices=frozenset({"cpu"}),
        outputs=frozenset({"rgb", "alpha", "depth"}), shadings=SHADING_MODELS,
    ),
    description="pyrender offscreen OpenGL (Mesa EGL / OSMesa): PBR meshes, point clouds, lights",
    install=pip_install_hint("pyrender") + " && apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6",
    probe=_probe,
    factory=PyrenderBackend,
)
