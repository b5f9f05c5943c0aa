"""open3d backend: tensor ⇄ open3d geometry conversion, and its headless offscreen renderer.

open3d is imported inside functions only. Its `OffscreenRenderer` (Filament) works headless here
through Vulkan on Mesa's llvmpipe (Debian `libvulkan1 mesa-vulkan-drivers`); it is slow on a CPU
(~0.1 s per 64×48 frame after a ~4 s first frame on a busy 2-core machine), so `auto` prefers
pyrender. Mask and depth are exact at pixel centers; colors pass through Filament's display
transform (sRGB encoding and tone mapping), so they are not linear like the reference's. Point-cloud and mesh
processing built on the conversions lives in `render3d.geometry`.

Camera conversion: open3d's `setup_camera(intrinsic, extrinsic)` takes the OpenCV pinhole
intrinsics and the world→camera extrinsic in the OpenCV convention, i.e. exactly our K, R, t.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from render3d.backends.capabilities import Capabilities, Task
from render3d.backends.info import BackendInfo, pip_install_hint
from render3d.backends.splat_size import splat_size
from render3d.buffers import render_supersampled
from render3d.cameras import Cameras
from render3d.errors import BackendUnavailable, ShapeError
from render3d.output import RenderOutput
from render3d.render_settings import RenderSettings
from render3d.shading.broadcast import as_batch_param
from render3d.shading.materials import Materials
from render3d.structures import Meshes, Pointclouds

if TYPE_CHECKING:
    from render3d.lights import Light


def o3d() -> Any:
    """The open3d module (imported on first call)."""
    import open3d

    return open3d


def _probe() -> str | None:
    o3d()
    return None


def to_o3d_pointcloud(points: torch.Tensor, colors: torch.Tensor | None = None,
                      normals: torch.Tensor | None = None) -> Any:
    """`points: [N, 3]` (+ optional `colors`, `normals: [N, 3]`) → `open3d.geometry.PointCloud` (float64)."""
    lib = o3d()
    pc = lib.geometry.PointCloud(lib.utility.Vector3dVector(points.detach().cpu().double().numpy()))
    if colors is not None:
        pc.colors = lib.utility.Vector3dVector(colors.detach()[:, :3].clamp(0, 1).cpu().double().numpy())
    if normals is not None:
        pc.normals = lib.utility.Vector3dVector(normals.detach().cpu().double().numpy())
    return pc


def from_o3d_pointcloud(pc: Any) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """`open3d.geometry.PointCloud` → (`points [N, 3]`, `colors [N, 3]` or None, `normals [N, 3]` or None), float32."""
    pts = torch.from_numpy(np.asarray(pc.points)).float()
    colors = torch.from_numpy(np.asarray(pc.colors)).float() if pc.has_colors() else None
    normals = torch.from_numpy(np.asarray(pc.normals)).float() if pc.has_normals() else None
    return pts, colors, normals


def to_o3d_mesh(verts: torch.Tensor, faces: torch.Tensor, vert_colors: torch.Tensor | None = None) -> Any:
    """`verts: [V, 3]`, `faces: [F, 3]` (+ `vert_colors: [V, ≥3]`) → `open3d.geometry.TriangleMesh`."""
    lib = o3d()
    mesh = lib.geometry.TriangleMesh(lib.utility.Vector3dVector(verts.detach().cpu().double().numpy()),
                                     lib.utility.Vector3iVector(faces.detach().cpu().int().numpy()))
    if vert_colors is not None:
        mesh.vertex_colors = lib.utility.Vector3dVector(vert_colors.detach()[:, :3].clamp(0, 1).cpu().double().numpy())
    return mesh


def from_o3d_mesh(mesh: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """`open3d.geometry.TriangleMesh` → (`verts [V, 3]` float32, `faces [F, 3]` long, `vert_colors [V, 3]` or None)."""
    verts = torch.from_numpy(np.asarray(mesh.vertices)).float()
    faces = torch.from_numpy(np.asarray(mesh.triangles)).long()
    colors = torch.from_numpy(np.asarray(mesh.vertex_colors)).float() if mesh.has_vertex_colors() else None
    return verts, faces, colors


def _front_facing(verts: torch.Tensor, faces: torch.Tensor, cameras: Cameras, b: int) -> torch.Tensor:
    """`[F]` bool: faces whose counter-clockwise normal points toward camera b (the reference's culling rule)."""
    cam = verts.detach() @ cameras.R[b].detach().T.to(verts) + cameras.t[b].detach().to(verts)
    fv = cam[faces]
    n = torch.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=1)
    return (n * fv[:, 0]).sum(1) < 0


class Open3DBackend:
    """`Task.RENDER_MESHES` / `Task.RENDER_POINTS` through open3d's Filament offscreen renderer (unlit).

    One renderer is kept and replaced when the image size changes (two live Filament renderers
    abort the process at exit); Filament is not thread-safe, so calls are serialized.
    """

    def __init__(self) -> None:
        self._renderer: Any = None
        self._size: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def _render(self, geometries: list[tuple[Any, str]], cameras: Cameras, b: int,
                background: tuple[float, float, float], point_size: float) -> tuple[np.ndarray, np.ndarray]:
        lib = o3d()
        rendering = lib.visualization.rendering
        size = (cameras.width, cameras.height)
        if size != self._size:
            self._renderer = None  # release the old renderer before Filament builds the next
            self._renderer, self._size = rendering.OffscreenRenderer(*size), size
        r = self._renderer
        r.scene.set_background([*background, 1.0])
        for i, (geom, shader) in enumerate(geometries):
            mat = rendering.MaterialRecord()
            mat.shader = shader
            mat.point_size = point_size
            r.scene.add_geometry(f"g{i}", geom, mat)
        K = cameras.K[b].detach().cpu().double().numpy()
        if abs(K[0, 1]) > 1e-9 or cameras.orthographic:
            raise ShapeError("the open3d backend supports perspective cameras without skew only")
        intr = lib.camera.PinholeCameraIntrinsic(cameras.width, cameras.height, K[0, 0], K[1, 1], K[0, 2], K[1, 2])
        extr = np.eye(4)
        extr[:3, :3] = cameras.R[b].detach().cpu().double().numpy()
        extr[:3, 3] = cameras.t[b].detach().cpu().double().numpy()
        r.setup_camera(intr, extr)
        color = np.asarray(r.render_to_image())
        depth = np.asarray(r.render_to_depth_image(z_in_view_space=True))
        # Filament aborts the process at exit if a material is destroyed while geometry still uses it
        r.scene.clear_geometry()
        return color, depth

    def _output(self, colors: list[np.ndarray], depths: list[np.ndarray], background: tuple[float, float, float],
                device: torch.device) -> RenderOutput:
        depth = torch.from_numpy(np.stack(depths)).float()
        depth = torch.where(torch.isfinite(depth), depth, torch.zeros_like(depth))
        mask = (depth > 0).float()
        rgb = torch.from_numpy(np.stack(colors)).float()[..., :3] / 255.0
        rgb = torch.where(mask[..., None] > 0, rgb, torch.tensor(background))
        return RenderOutput(rgb=rgb.to(device), alpha=mask.to(device), depth=depth.to(device))

    def render_meshes(self, meshes: Meshes, cameras: Cameras, lights: Light | None = None,
                      materials: Materials | None = None, settings: RenderSettings | None = None) -> RenderOutput:
        """Unlit render of B meshes (vertex colors, else `materials.base_color`) with B cameras.

        `lights` are not used (unlit only).

        Returns:
            RenderOutput `rgb [B, H, W, 3]`, `alpha [B, H, W]`, `depth [B, H, W]` (camera z, 0 background).

        Raises:
            ShapeError: batch mismatch or an unsupported camera.
            BackendUnavailable: lit shading asked for.
        """
        settings = RenderSettings() if settings is None else settings
        materials = Materials() if materials is None else materials
        if len(meshes) != len(cameras):
            raise ShapeError(f"{len(meshes)} meshes but {len(cameras)} cameras; use .extend() to match them")
        if settings.shading != "unlit":
            raise BackendUnavailable(f"open3d renders unlit only, not {settings.shading!r}")
        base = as_batch_param(materials.base_color, 3, "base_color")
        return render_supersampled(lambda cams: self._meshes(meshes, cams, base, settings), cameras,
                                   settings.supersample)

    def _meshes(self, meshes: Meshes, cameras: Cameras, base: torch.Tensor, settings: RenderSettings) -> RenderOutput:
        vc = meshes.vert_colors_list()
        colors, depths = [], []
        with self._lock:
            for b, (v, f) in enumerate(zip(meshes.verts_list(), meshes.faces_list(), strict=True)):
                c = vc[b] if vc is not None else base[min(b, base.shape[0] - 1)].expand(v.shape[0], 3)
                if settings.cull_backfaces:
                    f = f[_front_facing(v, f, cameras, b)]
                mesh = to_o3d_mesh(v, f, c)
                color, depth = self._render([(mesh, "defaultUnlit")], cameras, b, settings.background, 1.0)
                colors.append(color)
                depths.append(depth)
        return self._output(colors, depths, settings.background, meshes.device)

    def render_points(self, clouds: Pointclouds, cameras: Cameras,
                      settings: RenderSettings | None = None) -> RenderOutput:
        """Unlit render of B point clouds as squares (see the module doc) colored by their first 3 features."""
        settings = RenderSettings() if settings is None else settings
        if len(clouds) != len(cameras):
            raise ShapeError(f"{len(clouds)} point clouds but {len(cameras)} cameras")
        return render_supersampled(lambda cams: self._points(clouds, cams, settings), cameras, settings.supersample)

    def _points(self, clouds: Pointclouds, cameras: Cameras, settings: RenderSettings) -> RenderOutput:
        feats = clouds.features_list()
        radii = torch.split(clouds.radius_packed(), clouds.num_points_per_cloud.tolist())
        colors, depths = [], []
        with self._lock:
            for b, p in enumerate(clouds.points_list()):
                pc = to_o3d_pointcloud(p, None if feats is None else feats[b])
                c, d = self._render([(pc, "defaultUnlit")], cameras, b, settings.background,
                                    splat_size(p, radii[b], cameras, b))
                colors.append(c)
                depths.append(d)
        return self._output(colors, depths, settings.background, clouds.device)


INFO = BackendInfo(
    name="open3d",
    capabilities=Capabilities(
        tasks=frozenset({Task.RENDER_MESHES, Task.RENDER_POINTS}), differentiable=False, devices=frozenset({"cpu"}),
        outputs=frozenset({"rgb", "alpha", "depth"}), shadings=frozenset({"unlit"}),
    ),
    description="open3d: point-cloud/mesh processing (render3d.geometry) and Filament offscreen rendering (Vulkan)",
    install=pip_install_hint("open3d") + " && apt-get install libusb-1.0-0 libvulkan1 mesa-vulkan-drivers",
    probe=_probe,
    factory=Open3DBackend,
)
