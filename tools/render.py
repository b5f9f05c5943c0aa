"""Orbit renders of a mesh or point-cloud file (rgb, depth, normals, masks, cameras): the library behind
`neurender render` (its command line is `tools.render_cli`)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from render3d.backends import Request, Task, backend_info, backend_names, select_backend
from render3d.cameras import Cameras, intrinsics_from_fov, orbit
from render3d.errors import InvalidMeshError
from render3d.io import (
    MESH_SUFFIXES,
    POINT_SUFFIXES,
    atomic_write,
    colorize_depth,
    contact_sheet,
    load_mesh,
    load_pointcloud,
    save_npy,
    save_png,
)
from render3d.lights import AmbientLight, DirectionalLight, Lights
from render3d.output import RenderOutput
from render3d.points.shading import with_default_colors
from render3d.render_settings import SHADINGS, RenderSettings
from render3d.shading import Materials
from render3d.structures import Meshes, Pointclouds
from tools.errors import ToolError

OUTPUTS = ("rgb", "depth", "normal", "mask")
#: The `RenderOutput` buffer each output file comes from.
BUFFERS = {"rgb": "rgb", "depth": "depth", "normal": "normals", "mask": "alpha"}


@dataclass(frozen=True)
class OrbitRenderJob:
    """Settings of an orbit render; written beside the outputs as `config.json`.

    Attributes:
        size: square image side in pixels.
        views: number of azimuths, evenly spaced from 0° (camera on +Z looking toward -Z).
        elevation: camera elevation in degrees.
        distance: camera distance from the bounding-box center; None fits the bounding sphere in view.
        fov: vertical field of view in degrees.
        backend: any registered backend name (see `neurender backends`) or "auto" (the fastest
            that produces the outputs).
        outputs: subset of rgb, depth, normal, mask.
        supersample: antialiasing factor for meshes.
        shading: how meshes are lit ("phong", "lambert", or "unlit" vertex colors).
        batch: views rendered per batch (bounds memory).
    """

    size: int = 256
    views: int = 8
    elevation: float = 20.0
    distance: float | None = None
    fov: float = 40.0
    backend: str = "torch"
    outputs: tuple[str, ...] = OUTPUTS
    supersample: int = 2
    batch: int = 4
    shading: str = "phong"

    def __post_init__(self) -> None:
        if not 8 <= self.size <= 4096:
            raise ToolError(f"--size must be within 8..4096 pixels, got {self.size}")
        if not 1 <= self.views <= 720:
            raise ToolError(f"--views must be within 1..720, got {self.views}")
        if not -89.0 <= self.elevation <= 89.0:
            raise ToolError(f"--elevation must be within -89..89 degrees, got {self.elevation}")
        if self.distance is not None and not (math.isfinite(self.distance) and self.distance > 0):
            raise ToolError(f"--distance must be a positive number, got {self.distance}")
        if not 1.0 <= self.fov <= 170.0:
            raise ToolError(f"--fov must be within 1..170 degrees, got {self.fov}")
        if self.backend != "auto" and self.backend not in backend_names():
            raise ToolError(f"unknown backend {self.backend!r}; registered: auto, {', '.join(backend_names())}")
        bad = [o for o in self.outputs if o not in OUTPUTS]
        if self.shading not in SHADINGS:
            raise ToolError(f"shading must be one of {', '.join(SHADINGS)}, got {self.shading!r}")
        if bad or not self.outputs:
            raise ToolError(f"--outputs must be a non-empty subset of {','.join(OUTPUTS)}; bad: {','.join(bad)}")


def orbit_cameras(bbox: torch.Tensor, job: OrbitRenderJob) -> Cameras:
    """Cameras on an orbit around the center of `bbox: [2, 3]` (min, max), framing its bounding sphere."""
    center = bbox.mean(0)
    radius = float((bbox[1] - bbox[0]).norm()) / 2
    distance = job.distance or 1.1 * max(radius, 1e-6) / math.sin(math.radians(job.fov) / 2)
    azimuths = torch.arange(job.views) * (360.0 / job.views)
    R, t = orbit(center, distance, azimuths, job.elevation)
    K = intrinsics_from_fov(job.fov, job.size, job.size)
    return Cameras(K.expand(job.views, 3, 3), R, t, job.size, job.size)


# Key light over the viewer's left shoulder in world space (scene-fixed), plus fill ambient.
LIGHTS = Lights(AmbientLight((0.35, 0.35, 0.35)), DirectionalLight((-0.4, -0.8, -0.45), (0.75, 0.75, 0.75)))
MATERIALS = Materials(specular_color=(0.25, 0.25, 0.25), shininess=32.0)
WHITE = (1.0, 1.0, 1.0)


def render_request(asset: Meshes | Pointclouds, job: OrbitRenderJob) -> tuple[RenderSettings, Request]:
    """What the job asks of a backend: meshes Phong-lit and supersampled, point clouds with their colors.

    Example:
        >>> request = render_request(Pointclouds(torch.zeros(1, 4, 3)), OrbitRenderJob(outputs=("rgb", "depth")))[1]
        >>> request.task.value, sorted(request.needs)
        ('render_points', ['alpha', 'depth', 'rgb'])
    """
    if isinstance(asset, Meshes):
        task, settings = Task.RENDER_MESHES, RenderSettings(job.shading, WHITE, supersample=job.supersample)
    else:
        task, settings = Task.RENDER_POINTS, RenderSettings("unlit", WHITE)
    needs = {"rgb", "alpha"} | {BUFFERS[o] for o in job.outputs}
    if isinstance(asset, Pointclouds) and asset.normals_packed() is None:
        needs.discard("normals")  # a cloud without normals has no normal images to write
    return settings, Request.for_render(task, settings, needs, "cpu")


def producible_outputs(backend: str, outputs: tuple[str, ...]) -> tuple[str, ...]:
    """The subset of `outputs` that `backend` fills ("auto" may pick any backend, so all of them).

    Example:
        >>> producible_outputs("torch", OUTPUTS)
        ('rgb', 'depth', 'normal', 'mask')
    """
    if backend == "auto":
        return outputs
    filled = backend_info(backend).capabilities.outputs
    return tuple(o for o in outputs if BUFFERS[o] in filled)


def render_orbit(asset: Meshes | Pointclouds, job: OrbitRenderJob) -> tuple[RenderOutput, Cameras]:
    """Render one mesh or point cloud from the job's orbit through the job's backend's render task.

    Returns:
        a `RenderOutput` with rgb `[N, S, S, 3]`, alpha `[N, S, S]`, depth `[N, S, S]`, normals (meshes, and
        clouds that carry normals, when the backend fills them), and the `Cameras` used.

    Raises:
        BackendUnavailable: the backend is missing or cannot serve the request (e.g. an output it does not fill).
    """
    bbox = asset.bounding_boxes()[0]
    if isinstance(asset, Pointclouds):
        asset = with_default_colors(asset)  # white points would vanish on the white background
        bbox = bbox + asset.radius_packed().max() * torch.tensor([[-1.0], [1.0]])  # frame disks; 1 point has no box
    cameras = orbit_cameras(bbox, job)
    settings, request = render_request(asset, job)
    backend = select_backend(request, job.backend).backend
    parts: list[RenderOutput] = []
    with torch.no_grad():
        for s in tqdm(range(0, job.views, job.batch), desc="render", unit="batch", leave=False):
            cams = cameras[s:s + job.batch]
            if request.task is Task.RENDER_MESHES:
                parts.append(backend.render_meshes(asset.extend(len(cams)), cams, LIGHTS, MATERIALS, settings))
            else:
                parts.append(backend.render_points(asset.extend(len(cams)), cams, settings))

    def cat(name: str) -> torch.Tensor | None:
        vals = [getattr(p, name) for p in parts]
        return None if vals[0] is None else torch.cat(vals, 0)

    out = RenderOutput(rgb=cat("rgb"), alpha=cat("alpha"), depth=cat("depth"), normals=cat("normals"))
    return out, cameras


def cameras_json(cameras: Cameras) -> list[dict]:
    """Per view: `K` 3×3, `R` 3×3, `t` 3 (world→camera, OpenCV), `width`, `height`."""
    return [dict(K=cameras.K[i].tolist(), R=cameras.R[i].tolist(), t=cameras.t[i].tolist(),
                 width=cameras.width, height=cameras.height) for i in range(len(cameras))]


def load_asset(path: Path) -> Meshes | Pointclouds:
    """A mesh file becomes `Meshes`, a point-cloud file `Pointclouds` (PLY without faces is a cloud)."""
    suffix = path.suffix.lower()
    if suffix == ".ply":
        try:
            return load_mesh(path)
        except InvalidMeshError:  # a PLY that holds only vertices is a point cloud
            return load_pointcloud(path, estimate_normals=True)
    if suffix in MESH_SUFFIXES:
        return load_mesh(path)
    if suffix in POINT_SUFFIXES:
        return load_pointcloud(path, estimate_normals=True)
    raise ToolError(f"{path}: unknown asset type {suffix!r}; meshes: {', '.join(MESH_SUFFIXES)}; "
                    f"point clouds: {', '.join(POINT_SUFFIXES)}")


def write_orbit_outputs(out_dir: Path, result: RenderOutput, cameras: Cameras, job: OrbitRenderJob) -> list[Path]:
    """Write per-view files, `cameras.json`, `config.json` and `sheet.png`; returns written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows: dict[str, list[torch.Tensor]] = {}  # one contact-sheet row per output, one column per view
    for i in range(len(cameras)):
        mask = result.alpha[i]
        if "rgb" in job.outputs:
            written.append(save_png(out_dir / f"rgb_{i:03d}.png", result.rgb[i]))
            rows.setdefault("rgb", []).append(result.rgb[i])
        if "mask" in job.outputs:
            written.append(save_png(out_dir / f"mask_{i:03d}.png", mask))
        if "depth" in job.outputs:
            written.append(save_npy(out_dir / f"depth_{i:03d}.npy", result.depth[i].float()))
            depth_png = colorize_depth(result.depth[i], mask)
            written.append(save_png(out_dir / f"depth_{i:03d}.png", depth_png))
            rows.setdefault("depth", []).append(depth_png)
        if "normal" in job.outputs and result.normals is not None:
            normal_png = (result.normals[i] * 0.5 + 0.5) * (mask[..., None] > 0.5)
            written.append(save_png(out_dir / f"normal_{i:03d}.png", normal_png))
            rows.setdefault("normal", []).append(normal_png)
    if not rows:
        rows["mask"] = [m[..., None] for m in result.alpha]
    tiles = [t for row in rows.values() for t in row]
    written.append(save_png(out_dir / "sheet.png", contact_sheet(tiles, cols=len(cameras))))
    _write_json(out_dir / "cameras.json", cameras_json(cameras))
    _write_json(out_dir / "config.json", asdict(job))
    return [*written, out_dir / "cameras.json", out_dir / "config.json"]


def _write_json(path: Path, data) -> None:
    atomic_write(path, lambda p: p.write_text(json.dumps(data, indent=2)))


def render_asset(asset_path: Path, out_dir: Path, job: OrbitRenderJob) -> list[Path]:
    """Load, render and write an orbit of an asset file. All rendering happens before the first write."""
    asset = load_asset(asset_path)
    result, cameras = render_orbit(asset, job)
    return write_orbit_outputs(out_dir, result, cameras, job)
