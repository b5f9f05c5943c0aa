"""What `neurender pc2img` reads: point-cloud files or COLMAP sparse models, and the cameras to render.

- Clouds: PLY / PCD / XYZ / NPY through `render3d.io.load_pointcloud`.
- COLMAP sparse models (text or binary `cameras`, `images`, `points3D`, with or without COLMAP 3.12's
  `rigs`/`frames`) through `pycolmap`; a folder holding `sparse/0/` is read there. Its registered images
  give cameras: `K` from the camera model's focal length and principal point (distortion terms are
  dropped; the rasterizer is a pinhole), `R`, `t` from `cam_from_world`. COLMAP's camera frame and pixel
  convention are OpenCV's, like render3d's.
- `cameras.json` as `neurender render` writes it: a list (or `{"views": [...]}`) of per-view `K`, `R`,
  `t`, `width`, `height`.
- An orbit around the cloud's bounding box.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from render3d.cameras import Cameras, intrinsics_from_fov, orbit
from render3d.errors import Render3DError
from render3d.io import POINT_SUFFIXES, load_pointcloud
from tools.errors import ToolError

COLMAP_FILES = ("cameras", "images", "points3D")
ORBIT_FOV = 40.0


@dataclass(frozen=True)
class SceneInput:
    """A loaded cloud (and, for COLMAP models, its cameras).

    Attributes:
        points: `[N, 3]`; colors `[N, 3]` in [0, 1] or None; normals `[N, 3]` or None.
        cameras: one `Cameras` of B=1 per registered image (COLMAP), else None.
        names: image names of those cameras.
    """

    points: torch.Tensor
    colors: torch.Tensor | None
    normals: torch.Tensor | None
    cameras: list[Cameras] | None = None
    names: list[str] | None = None


def _colmap_dir(path: Path) -> Path | None:
    for d in (path, path / "sparse" / "0", path / "sparse"):
        if all((d / f"{n}.txt").is_file() or (d / f"{n}.bin").is_file() for n in COLMAP_FILES):
            return d
    return None


def load_colmap(path: str | os.PathLike) -> SceneInput:
    """Points (with colors) and registered-image cameras of a COLMAP sparse model.

    Raises:
        ToolError: not a model folder, a model pycolmap cannot read, or one without points.
    """
    import pycolmap

    path = Path(path)
    model_dir = _colmap_dir(path)
    if model_dir is None:
        raise ToolError(f"{path}: not a COLMAP sparse model (needs cameras, images and points3D .txt or .bin)")
    try:
        rec = pycolmap.Reconstruction(str(model_dir))
    except (ValueError, RuntimeError, OSError) as e:
        raise ToolError(f"{model_dir}: corrupt COLMAP model ({' '.join(str(e).split())[:200]})") from e
    if rec.num_points3D() == 0:
        raise ToolError(f"{model_dir}: the COLMAP model holds no 3D points")
    pts = np.array([p.xyz for p in rec.points3D.values()], dtype=np.float32)
    cols = np.array([p.color for p in rec.points3D.values()], dtype=np.float32) / 255.0
    cams, names = [], []
    for image_id in sorted(rec.images):
        image = rec.images[image_id]
        if not image.has_pose:
            continue
        cam = rec.cameras[image.camera_id]
        pose = image.cam_from_world()
        K = torch.tensor(np.asarray(cam.calibration_matrix()), dtype=torch.float32)
        R = torch.tensor(np.asarray(pose.rotation.matrix()), dtype=torch.float32)
        t = torch.tensor(np.asarray(pose.translation), dtype=torch.float32)
        cams.append(_cameras(K, R, t, int(cam.width), int(cam.height), f"{model_dir}: image {image.name}"))
        names.append(image.name)
    return SceneInput(torch.from_numpy(pts), torch.from_numpy(cols), None, cams or None, names or None)


def load_input(path: str | os.PathLike) -> SceneInput:
    """A point-cloud file or a COLMAP model folder.

    Raises:
        ToolError: a missing path, an unknown format, an unreadable or empty file.
    """
    path = Path(path)
    if path.is_dir():
        return load_colmap(path)
    if not path.exists():
        raise ToolError(f"{path}: no such file or folder")
    if path.suffix.lower() not in POINT_SUFFIXES:
        raise ToolError(f"{path}: give a point cloud ({', '.join(POINT_SUFFIXES)}) or a COLMAP model folder")
    try:
        # the splat radius comes from the cloud's spacing later; this one is unused
        cloud = load_pointcloud(path, radius=1.0)
    except Render3DError as e:
        raise ToolError(str(e)) from e
    feats, normals = cloud.features_list(), cloud.normals_list()
    colors = None if feats is None else feats[0][:, :3].clamp(0, 1)
    return SceneInput(cloud.points_list()[0], colors, None if normals is None else normals[0])


def _cameras(K: torch.Tensor, R: torch.Tensor, t: torch.Tensor, width: int, height: int, where: str) -> Cameras:
    try:
        return Cameras(K[None], R[None], t[None], width, height)
    except Render3DError as e:
        raise ToolError(f"{where}: {e}") from e


def _matrix(view: dict, key: str, shape: tuple[int, ...], where: str) -> torch.Tensor:
    if key not in view:
        raise ToolError(f"{where}: missing {key!r}")
    try:
        a = torch.tensor(view[key], dtype=torch.float32)
    except (TypeError, ValueError) as e:
        raise ToolError(f"{where}: {key} is not a numeric array ({e})") from e
    if tuple(a.shape) != shape:
        raise ToolError(f"{where}: {key} must be {list(shape)}, got {list(a.shape)}")
    if not torch.isfinite(a).all():
        raise ToolError(f"{where}: {key} holds NaN or inf")
    return a


def load_cameras_json(path: str | os.PathLike) -> list[Cameras]:
    """Cameras of a `cameras.json` written by `neurender render` (or a data-engine sample).

    Raises:
        ToolError: unreadable JSON, or a view with a missing / malformed field.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ToolError(f"{path}: cannot read cameras ({e})") from e
    views = data.get("views") if isinstance(data, dict) else data
    if not isinstance(views, list) or not views:
        raise ToolError(f"{path}: expected a non-empty list of views (K, R, t, width, height)")
    cams = []
    for i, view in enumerate(views):
        where = f"{path}: view {i}"
        if not isinstance(view, dict):
            raise ToolError(f"{where}: not an object")
        K, R, t = _matrix(view, "K", (3, 3), where), _matrix(view, "R", (3, 3), where), _matrix(view, "t", (3,), where)
        size = []
        for key in ("width", "height"):
            v = view.get(key)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 16384:
                raise ToolError(f"{where}: {key} must be an integer in 1..16384, got {v!r}")
            size.append(v)
        if abs(float(torch.linalg.det(R)) - 1) > 1e-3:
            raise ToolError(f"{where}: R is not a rotation (det {float(torch.linalg.det(R)):.4g})")
        cams.append(_cameras(K, R, t, size[0], size[1], where))
    return cams


def orbit_cameras(points: torch.Tensor, views: int, elevation: float, size: int) -> list[Cameras]:
    """`views` cameras evenly spaced in azimuth at `elevation` degrees, framing the cloud's bounding sphere."""
    lo, hi = points.min(0).values, points.max(0).values
    center = (lo + hi) / 2
    radius = max(float((hi - lo).norm()) / 2, 1e-6)
    distance = radius / math.sin(math.radians(ORBIT_FOV / 2)) * 1.05
    R, t = orbit(center, distance, torch.arange(views) * 360.0 / views, elevation)
    K = intrinsics_from_fov(ORBIT_FOV, size, size)
    return [Cameras(K[None], R[i:i + 1], t[i:i + 1], size, size) for i in range(views)]


def resize_camera(cam: Cameras, size: int) -> Cameras:
    """The same camera with its longer side scaled to `size` pixels (K scaled with it)."""
    scale = size / max(cam.width, cam.height)
    w, h = max(1, round(cam.width * scale)), max(1, round(cam.height * scale))
    K = cam.K.clone()
    K[:, 0] *= w / cam.width
    K[:, 1] *= h / cam.height
    return Cameras(K, cam.R, cam.t, w, h)
