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
depth buffer keeps its precision. Colors: `unlit=True` draws base color × vertex color × texture
exactly; lit renders use pyrender's PBR (metallic-roughness) shading, and `linear_output=True`
undoes its display gamma (1/2.2) so colors are linear like the reference renderer's.

Lights (render3d.lights): `AmbientLight` → scene ambient; `DirectionalLight` → directional light;
`PointLight` only with inverse-square attenuation `(0, 0, a2)`; our light colors fold π in (a white
surface facing the light shows its color), so intensities are scaled by π / 0.96 (pyrender's
`c_diff = albedo · 0.96`, divided by π). `SHLight` has no pyrender equivalent.
"""

from __future__ import annotations

import functools
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from render3d.backends.capabilities import Capabilities, Task
from render3d.backends.registry import BackendInfo, pip_install_hint
from render3d.cameras import Cameras
from render3d.errors import BackendUnavailable, ShapeError
from render3d.output import RenderOutput
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


def _pyrender() -> Any:
    gl_platform()
    import pyrender

    return pyrender


def _probe() -> str | None:
    _pyrender()
    return None


@dataclass(frozen=True)
class PyrenderSettings:
    """How pyrender draws.

    Args:
        background: RGB behind the geometry, in [0, 1].
        unlit: draw base color × vertex color × texture, without lighting (pyrender's FLAT mode).
        metallic: PBR metalness in [0, 1] (lit renders).
        roughness: PBR roughness in [0, 1] (lit renders).
        base_color: RGBA multiplier of the vertex colors / texture (white when the mesh has neither).
        cull_backfaces: skip faces seen from behind (else both sides are drawn).
        linear_output: undo pyrender's 1/2.2 display gamma on lit renders.
        msaa: pyrender's 4× multisampling: antialiased colors and a soft `alpha` (coverage), but its
            depth buffer resolves to the first sample, 3/8 px off the pixel center. False (default)
            samples once at each pixel center, like the reference rasterizer: exact depth and mask.
        point_size: point-cloud splat size in pixels (pyrender draws fixed-size square points).
        znear: nearest camera depth drawn.

    Raises:
        ShapeError: values out of range.
    """

    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    unlit: bool = False
    metallic: float = 0.0
    roughness: float = 1.0
    base_color: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    cull_backfaces: bool = False
    linear_output: bool = True
    point_size: float = 2.0
    znear: float = 1e-3
    msaa: bool = False

    def __post_init__(self) -> None:
        if not (0 <= self.metallic <= 1 and 0 <= self.roughness <= 1):
            raise ShapeError(f"metallic and roughness must be in [0, 1], got {self.metallic}, {self.roughness}")
        if self.point_size <= 0 or self.znear <= 0:
            raise ShapeError(f"point_size and znear must be > 0, got {self.point_size}, {self.znear}")


def camera_pose(R: torch.Tensor, t: torch.Tensor) -> np.ndarray:
    """World→camera OpenCV extrinsics `R: [3, 3]`, `t: [3]` → pyrender's 4×4 camera→world pose (OpenGL axes)."""
    pose = np.eye(4)
    Rn, tn = R.detach().cpu().double().numpy(), t.detach().cpu().double().numpy()
    pose[:3, :3] = Rn.T
    pose[:3, 3] = -Rn.T @ tn
    return pose @ np.diag([1.0, -1.0, -1.0, 1.0])


def _light_nodes(lights: Light | None, b: int, pyrender: Any) -> tuple[np.ndarray, list[tuple[Any, np.ndarray]]]:
    """Scene ambient RGB and (pyrender light, pose) pairs for image `b`."""
    from render3d.lights import AmbientLight, DirectionalLight, Lights, PointLight

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


class PyrenderBackend:
    """`Task.RENDER_MESHES` / `Task.RENDER_POINTS` with one reused `OffscreenRenderer`."""

    def __init__(self) -> None:
        self._pyrender = _pyrender()
        self._renderers: dict[bool, Any] = {}

    def _render_one(self, scene: Any, cameras: Cameras, b: int, depth_range: tuple[float, float],
                    settings: PyrenderSettings) -> tuple[np.ndarray, np.ndarray]:
        pr = self._pyrender
        K = cameras.K[b].detach().cpu().double()
        if abs(float(K[0, 1])) > 1e-9 or cameras.orthographic:
            raise ShapeError("the pyrender backend supports perspective cameras without skew only")
        cam = pr.IntrinsicsCamera(float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]),
                                  znear=depth_range[0], zfar=depth_range[1])
        scene.add(cam, pose=camera_pose(cameras.R[b], cameras.t[b]))
        if settings.msaa not in self._renderers:
            self._renderers[settings.msaa] = pr.OffscreenRenderer(cameras.width, cameras.height)
        r = self._renderers[settings.msaa]
        r.viewport_width, r.viewport_height, r.point_size = cameras.width, cameras.height, settings.point_size
        flags = pr.RenderFlags.RGBA
        if settings.unlit:
            flags |= pr.RenderFlags.FLAT
        if not settings.cull_backfaces:
            flags |= pr.RenderFlags.SKIP_CULL_FACES
        # pyrender hard-codes 4 samples when it (re)allocates its framebuffer inside render(); swap
        # the allocator of its module only for the duration of our call to choose the sample count.
        gl_module = sys.modules["pyrender.renderer"]
        allocate = gl_module.glRenderbufferStorageMultisample
        samples = 4 if settings.msaa else 0
        gl_module.glRenderbufferStorageMultisample = lambda target, _n, fmt, w, h: allocate(target, samples, fmt, w, h)
        try:
            color, depth = r.render(scene, flags=flags)
        finally:
            gl_module.glRenderbufferStorageMultisample = allocate
        return color, depth

    def _finish(self, colors: list[np.ndarray], depths: list[np.ndarray], settings: PyrenderSettings,
                device: torch.device) -> RenderOutput:
        rgba = torch.from_numpy(np.stack(colors)).float() / 255.0
        depth = torch.from_numpy(np.stack(depths)).float()
        mask = rgba[..., 3] if settings.msaa else (depth > 0).float()
        rgb = rgba[..., :3]
        if settings.linear_output and not settings.unlit:
            rgb = rgb.pow(2.2)
        bg = torch.tensor(settings.background, dtype=rgb.dtype)
        # pyrender already composites over the clear color; only restore exact background values
        rgb = torch.where(mask[..., None] > 0, rgb, bg)
        return RenderOutput(rgb=rgb.to(device), alpha=mask.to(device), depth=depth.to(device))

    def _depth_range(self, points: torch.Tensor, R: torch.Tensor, t: torch.Tensor, znear: float) -> tuple[float, float]:
        # A triangle's depth is a convex combination of its corners': no surface is nearer than the
        # nearest vertex, so the near plane can move up to it (for depth-buffer precision) clipping nothing.
        z = (points.detach() @ R.detach()[2] + t.detach()[2]).double()
        return max(znear, 0.5 * float(z.min())), max(float(z.max()) * 1.05, znear * 4.0) + 1e-3

    def render_meshes(self, meshes: Meshes, cameras: Cameras, lights: Light | None = None,
                      settings: PyrenderSettings | None = None) -> RenderOutput:
        """Render B meshes with B cameras.

        Per-vertex colors (first 3 channels) or a UV texture color the surface, multiplied by
        `settings.base_color`; vertex normals come from the mesh.

        Args:
            meshes: B meshes.
            cameras: B perspective cameras.
            lights: render3d lights (see the module doc for what converts); ignored when unlit.
            settings: drawing options.

        Returns:
            RenderOutput with `rgb [B, H, W, 3]`, `alpha [B, H, W]` (hard mask), `depth [B, H, W]`
            (camera z, 0 background), on the meshes' device.

        Raises:
            ShapeError: batch mismatch, unsupported camera or light.
        """
        settings = settings or PyrenderSettings()
        pr = self._pyrender
        if len(meshes) != len(cameras):
            raise ShapeError(f"{len(meshes)} meshes but {len(cameras)} cameras; use .extend() to match them")
        colors, depths = [], []
        vc, uvs, fuv, tex = (meshes.vert_colors_list(), meshes.verts_uvs_list(), meshes.faces_uvs_list(),
                             meshes.textures_list())
        normals = torch.split(meshes.verts_normals_packed().detach(), meshes.num_verts_per_mesh.tolist())
        for b, (v, f) in enumerate(zip(meshes.verts_list(), meshes.faces_list(), strict=True)):
            v, f, n = v.detach(), f.detach(), normals[b]
            prim_kw: dict[str, Any] = {}
            material_kw: dict[str, Any] = {}
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
            material = pr.MetallicRoughnessMaterial(
                baseColorFactor=list(settings.base_color), metallicFactor=settings.metallic,
                roughnessFactor=settings.roughness, doubleSided=not settings.cull_backfaces, **material_kw)
            prim = pr.Primitive(positions=v.cpu().numpy(), normals=n.cpu().numpy(), indices=f.cpu().numpy(),
                                material=material, mode=pr.constants.GLTF.TRIANGLES, **prim_kw)
            ambient, light_nodes = _light_nodes(None if settings.unlit else lights, b, pr)
            scene = pr.Scene(bg_color=[*settings.background, 0.0], ambient_light=ambient)
            scene.add(pr.Mesh([prim]))
            for light, pose in light_nodes:
                scene.add(light, pose=pose)
            rng = self._depth_range(v, cameras.R[b], cameras.t[b], settings.znear)
            color, depth = self._render_one(scene, cameras, b, rng, settings)
            colors.append(color)
            depths.append(depth)
        return self._finish(colors, depths, settings, meshes.device)

    def render_points(self, clouds: Pointclouds, cameras: Cameras,
                      settings: PyrenderSettings | None = None) -> RenderOutput:
        """Render B point clouds as `settings.point_size`-pixel squares colored by their features.

        Points are drawn unlit with their first 3 feature channels as color (white without features).

        Returns:
            RenderOutput `rgb`, `alpha`, `depth` as in `render_meshes`.
        """
        settings = settings or PyrenderSettings()
        pr = self._pyrender
        if len(clouds) != len(cameras):
            raise ShapeError(f"{len(clouds)} point clouds but {len(cameras)} cameras")
        feats = clouds.features_list()
        colors, depths = [], []
        for b, p in enumerate(clouds.points_list()):
            p = p.detach()
            c = None if feats is None else feats[b].detach()[:, :3].clamp(0, 1).cpu().numpy()
            scene = pr.Scene(bg_color=[*settings.background, 0.0], ambient_light=np.ones(3))
            scene.add(pr.Mesh.from_points(p.cpu().numpy(), colors=c))
            rng = self._depth_range(p, cameras.R[b], cameras.t[b], settings.znear)
            color, depth = self._render_one(scene, cameras, b, rng, PyrenderSettings(
                background=settings.background, unlit=True, point_size=settings.point_size, znear=settings.znear))
            colors.append(color)
            depths.append(depth)
        return self._finish(colors, depths, PyrenderSettings(unlit=True, background=settings.background),
                            clouds.device)


INFO = BackendInfo(
    name="pyrender",
    capabilities=Capabilities(
        tasks=frozenset({Task.RENDER_MESHES, Task.RENDER_POINTS}), differentiable=False, devices=frozenset({"cpu"}),
        outputs=frozenset({"rgb", "alpha", "depth"}),
    ),
    description="pyrender offscreen OpenGL (Mesa EGL / OSMesa): PBR meshes, point clouds, lights",
    install=pip_install_hint("pyrender") + " && apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6",
    probe=_probe,
    factory=PyrenderBackend,
)
