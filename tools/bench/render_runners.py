"""Runners of `neurender bench render`: our backends through the public interface, and the raw peer libraries.

A runner gets a workload, its geometry and cameras, and returns either a closure that renders the image
(and, for forward+backward workloads, back-propagates its mean) or a string saying why it cannot run it.
Ours go through `MeshRasterizer` / `PointsRasterizer` (or a render-only backend's render call) exactly as a
user would; peers are called through their own APIs only, never through our adapters, so the ratios show
both our kernels' speed and our adapters' overhead.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import torch
from rich.console import Console

from render3d.backends import Task, backend_info, backend_names, get_backend, unavailable_reason
from render3d.blend import SoftBlendSettings, hard_rgb_blend, softmax_rgb_blend
from render3d.cameras import Cameras
from render3d.interpolate import interpolate
from render3d.points import PointsRasterizer, PointsRasterSettings, alpha_composite
from render3d.raster import MeshRasterizer, RasterSettings
from render3d.structures import Meshes, Pointclouds
from tools.errors import ToolError

SOFT_BLUR_PX = 1.5
SOFT_K = 16
SOFT_SIGMA_PX = 0.5
POINTS_K = 8

Step = Callable[[], object]


def _leaves(geom: Meshes | Pointclouds, grad: bool) -> tuple[torch.Tensor, torch.Tensor]:
    pos = (geom.verts_packed() if isinstance(geom, Meshes) else geom.points_packed()).detach().clone()
    col = (geom.vert_colors_packed() if isinstance(geom, Meshes) else geom.features_packed()).detach().clone()
    return pos.requires_grad_(grad), col.requires_grad_(grad)


def _step(render: Callable[[], torch.Tensor], backward: bool) -> Step:
    """The timed call: render, and back-propagate the image mean for forward+backward workloads."""
    if not backward:
        return render
    return lambda: render().float().mean().backward()


def ours(name: str) -> Callable:
    """Runner for our differentiable backend `name`: its rasterizer module, then our interpolation/blending."""
    caps = backend_info(name).capabilities

    def prepare(w, geom, cams: Cameras) -> Step | str:
        if w.kind == "mesh" and Task.RASTERIZE_MESHES not in caps.tasks:
            return "no mesh rasterization"
        if w.kind == "points" and Task.RASTERIZE_POINTS not in caps.tasks:
            return "no point rasterization"
        if w.backward and not caps.differentiable:
            return "not differentiable"
        if w.soft and not caps.soft:
            return "no soft rasterization"
        pos, col = _leaves(geom, w.backward)
        if w.kind == "points":
            points = PointsRasterizer(PointsRasterSettings(points_per_pixel=POINTS_K), name)
            sizes = geom.num_points_per_cloud.tolist()

            def render_points() -> torch.Tensor:
                clouds = geom.update_packed(pos).with_features(list(col.split(sizes)))
                return alpha_composite(points(clouds, cams), col)

            return _step(render_points, w.backward)
        settings = RasterSettings(faces_per_pixel=SOFT_K if w.soft else 1, blur_radius=SOFT_BLUR_PX if w.soft else 0.0)
        rasterizer = MeshRasterizer(settings, name)
        blend = SoftBlendSettings(sigma=SOFT_SIGMA_PX, gamma=1e-2, background=(1.0, 1.0, 1.0), znear=0.1, zfar=10.0)
        faces = geom.faces_packed()

        def render_mesh() -> torch.Tensor:
            frags = rasterizer(geom.update_packed(pos), cams)
            colors = interpolate(frags.pix_to_face, frags.bary, col[faces])
            if w.soft:
                return softmax_rgb_blend(colors, frags, blend)
            return hard_rgb_blend(colors, frags, torch.ones(3, device=pos.device))

        return _step(render_mesh, w.backward)

    return prepare


def ours_render(name: str) -> Callable:
    """Runner for our non-differentiable render backend `name` (pyrender, open3d): its own unlit render call."""
    backend = get_backend(name)
    tasks = backend_info(name).capabilities.tasks

    def prepare(w, geom, cams: Cameras) -> Step | str:
        task = Task.RENDER_MESHES if w.kind == "mesh" else Task.RENDER_POINTS
        if task not in tasks:
            return f"no {task.value}"
        if w.backward:
            return "not differentiable"
        if w.soft:
            return "no soft rasterization"
        render = backend.render_meshes if w.kind == "mesh" else backend.render_points
        return lambda: render(geom, cams).rgb

    return prepare


def pytorch3d_raw(device: torch.device) -> Callable:
    """Runner calling pytorch3d's own rasterizers, interpolation and blending directly."""
    from pytorch3d.renderer import (
        AlphaCompositor,
        BlendParams,
        PointsRasterizationSettings,
        RasterizationSettings,
    )
    from pytorch3d.renderer import MeshRasterizer as P3MeshRasterizer
    from pytorch3d.renderer import PointsRasterizer as P3PointsRasterizer
    from pytorch3d.renderer import blending as p3blend
    from pytorch3d.renderer.mesh.utils import interpolate_face_attributes
    from pytorch3d.structures import Meshes as P3Meshes
    from pytorch3d.structures import Pointclouds as P3Points
    from pytorch3d.utils import cameras_from_opencv_projection

    def prepare(w, geom, cams: Cameras) -> Step:
        size = torch.tensor([[cams.height, cams.width]] * len(cams), device=device)
        p3cams = cameras_from_opencv_projection(cams.R, cams.t, cams.K, size)
        pos, col = _leaves(geom, w.backward)
        ndc_px = 2.0 / min(cams.height, cams.width)  # one pixel in pytorch3d's NDC units
        if w.kind == "points":
            fx = float(cams.K[0, 0, 0])
            radius_ndc = float(geom.radius_packed()[0]) * fx / 3.0 * ndc_px  # the workload's camera is 3 units away
            rast = P3PointsRasterizer(cameras=p3cams, raster_settings=PointsRasterizationSettings(
                image_size=(cams.height, cams.width), radius=radius_ndc, points_per_pixel=POINTS_K))
            comp = AlphaCompositor()
            n = geom.num_points_per_cloud.tolist()

            def render_points() -> torch.Tensor:
                pc = P3Points(list(pos.split(n)), features=list(col.split(n)))
                frags = rast(pc)
                r = rast.raster_settings.radius
                dists = frags.dists.permute(0, 3, 1, 2)
                alphas = 1 - dists.clamp(0.0, 0.99) / (r * r)
                return comp(frags.idx.long().permute(0, 3, 1, 2), alphas, pc.features_packed().permute(1, 0))

            return _step(render_points, w.backward)
        raster = RasterizationSettings(
            image_size=(cams.height, cams.width), faces_per_pixel=SOFT_K if w.soft else 1,
            blur_radius=(SOFT_BLUR_PX * ndc_px) ** 2 if w.soft else 0.0)
        rast = P3MeshRasterizer(cameras=p3cams, raster_settings=raster)
        params = BlendParams(sigma=(SOFT_SIGMA_PX * ndc_px) ** 2, gamma=1e-2, background_color=(1.0, 1.0, 1.0))
        faces = geom.faces_list()
        nv = geom.num_verts_per_mesh.tolist()
        packed_faces = geom.faces_packed()

        def render_mesh() -> torch.Tensor:
            frags = rast(P3Meshes(list(pos.split(nv)), faces))
            colors = interpolate_face_attributes(frags.pix_to_face, frags.bary_coords, col[packed_faces])
            if w.soft:
                return p3blend.softmax_rgb_blend(colors, frags, params, znear=0.1, zfar=10.0)
            return p3blend.hard_rgb_blend(colors, frags, params)

        return _step(render_mesh, w.backward)

    return prepare


def _gl_camera_pose(R: torch.Tensor, t: torch.Tensor) -> np.ndarray:
    """OpenCV world→camera `R: [3, 3]`, `t: [3]` → the 4×4 camera→world pose in OpenGL axes (y up, z back)."""
    pose = np.eye(4)
    Rn, tn = R.detach().cpu().double().numpy(), t.detach().cpu().double().numpy()
    pose[:3, :3], pose[:3, 3] = Rn.T, -Rn.T @ tn
    return pose @ np.diag([1.0, -1.0, -1.0, 1.0])


def pyrender_raw(device: torch.device) -> Callable:
    """Runner calling pyrender's offscreen renderer directly (forward only, flat vertex colors)."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # headless; must be set before OpenGL loads
    import pyrender

    # One renderer for the whole run, resized per workload: deleting a pyrender OffscreenRenderer terminates
    # the process-wide EGL display under every other renderer (ours included).
    renderer = pyrender.OffscreenRenderer(8, 8)

    def prepare(w, geom, cams: Cameras) -> Step | str:
        if w.backward:
            return "not differentiable"
        if w.soft:
            return "no soft rasterization"
        scene = pyrender.Scene(ambient_light=np.ones(3), bg_color=np.ones(4))
        if w.kind == "mesh":
            m = geom[0]
            tm_colors = np.concatenate([m.vert_colors_packed().cpu().numpy(), np.ones((len(m.verts_packed()), 1))], 1)
            prim = pyrender.Primitive(positions=m.verts_packed().cpu().numpy(), indices=m.faces_packed().cpu().numpy(),
                                      color_0=tm_colors, mode=4)
        else:
            prim = pyrender.Primitive(positions=geom.points_list()[0].cpu().numpy(),
                                      color_0=geom.features_list()[0].cpu().numpy(), mode=0)
        scene.add(pyrender.Mesh([prim]))
        K = cams.K[0].cpu().numpy()
        cam_node = scene.add(pyrender.IntrinsicsCamera(K[0, 0], K[1, 1], K[0, 2], K[1, 2], znear=0.1, zfar=100.0))
        renderer.viewport_width, renderer.viewport_height = cams.width, cams.height
        flags = pyrender.RenderFlags.FLAT

        def render() -> torch.Tensor:
            out = []
            for i in range(len(cams)):
                scene.set_pose(cam_node, _gl_camera_pose(cams.R[i], cams.t[i]))
                color, _ = renderer.render(scene, flags=flags)
                out.append(torch.from_numpy(color.copy()))
            return torch.stack(out)

        return render

    return prepare


def _gl_projection(cams: Cameras, znear: float, zfar: float) -> torch.Tensor:
    """`[B, 4, 4]` OpenGL clip projection of perspective pixel cameras (NDC y up, rows bottom-up)."""
    K, W, H = cams.K, float(cams.width), float(cams.height)
    P = torch.zeros(len(cams), 4, 4, dtype=K.dtype, device=K.device)
    P[:, 0, 0], P[:, 0, 1], P[:, 1, 1] = 2 * K[:, 0, 0] / W, 2 * K[:, 0, 1] / W, -2 * K[:, 1, 1] / H
    P[:, 0, 2], P[:, 1, 2] = 2 * K[:, 0, 2] / W - 1, 1 - 2 * K[:, 1, 2] / H
    P[:, 2, 2], P[:, 2, 3] = (zfar + znear) / (zfar - znear), -2 * zfar * znear / (zfar - znear)
    P[:, 3, 2] = 1.0
    return P


def nvdiffrast_raw(device: torch.device) -> Callable:
    """Runner calling nvdiffrast directly: rasterize + interpolate vertex colors (CUDA only)."""
    import nvdiffrast.torch as dr

    ctx = dr.RasterizeCudaContext(device=device)

    def prepare(w, geom, cams: Cameras) -> Step | str:
        if w.kind != "mesh":
            return "no point rendering"
        if w.soft:
            return "no soft rasterization"
        pos, col = _leaves(geom, w.backward)
        tri = geom.faces_list()[0].int().contiguous()
        nv = geom.num_verts_per_mesh[0].item()
        P = _gl_projection(cams, 0.1, 100.0)

        def render() -> torch.Tensor:
            cam_pts = cams.world_to_camera(pos[:nv].expand(len(cams), nv, 3))
            clip = torch.cat([cam_pts, torch.ones_like(cam_pts[..., :1])], -1) @ P.transpose(1, 2)
            rast, _ = dr.rasterize(ctx, clip.contiguous(), tri, resolution=(cams.height, cams.width))
            img, _ = dr.interpolate(col[:nv].contiguous(), rast, tri)
            return img

        return _step(render, w.backward)

    return prepare


PEERS = {"pytorch3d": pytorch3d_raw, "pyrender": pyrender_raw, "nvdiffrast": nvdiffrast_raw}


def runners(device: torch.device, peers: list[str], console: Console) -> dict[str, Callable]:
    """`ours:<backend>` for every available backend that runs on `device`, then `raw:<peer>` for each peer.

    Raises:
        ToolError: an unknown peer name.
    """
    out: dict[str, Callable] = {}
    raster = {Task.RASTERIZE_MESHES, Task.RASTERIZE_POINTS}
    for name in backend_names():
        why = unavailable_reason(name)
        caps = backend_info(name).capabilities
        if why is None and device.type not in caps.devices:
            why = f"runs on {'/'.join(sorted(caps.devices))}"
        if why is not None:
            console.log(f"ours:{name} skipped: {why}")
            continue
        out[f"ours:{name}"] = ours(name) if caps.tasks & raster else ours_render(name)
    for peer in peers:
        if peer not in PEERS:
            raise ToolError(f"unknown peer {peer!r}; known: {', '.join(PEERS)}")
        try:
            out[f"raw:{peer}"] = PEERS[peer](device)
        except Exception as e:  # a peer that cannot start here is reported, not fatal
            console.log(f"raw:{peer} skipped: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    return out
