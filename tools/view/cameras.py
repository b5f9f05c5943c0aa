"""Run cameras (`cameras.json` / `camera.json`, OpenCV world→camera) as viser poses, and depth → points.

The project's cameras map world points into the camera frame, `x_cam = R @ x_world + t`, with x right,
y down and z forward. viser places a frustum (and its own viewport camera) by the camera→world pose
in the same OpenCV axes, so a frustum's orientation is the rotation `R.T` and its position the
camera center `-R.T @ t`; no axis flip is involved. The world's up axis is +Y (set on the scene).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.errors import ToolError


@dataclass(frozen=True)
class RunCamera:
    """One pinhole camera of a run.

    Attributes:
        K: `[3, 3]` intrinsics in pixels.
        R: `[3, 3]` world→camera rotation (OpenCV).
        t: `[3]` world→camera translation.
        width: image width in pixels.
        height: image height in pixels.
    """

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int

    @property
    def center(self) -> np.ndarray:
        """`[3]` camera position in the world: `-R.T @ t`."""
        return -self.R.T @ self.t

    @property
    def forward(self) -> np.ndarray:
        """`[3]` unit viewing direction in the world (the camera's +z axis)."""
        return self.R[2] / np.linalg.norm(self.R[2])

    @property
    def fov_y(self) -> float:
        """Vertical field of view in radians, from `fy` and the image height."""
        return 2.0 * math.atan(self.height / (2.0 * float(self.K[1, 1])))

    @property
    def aspect(self) -> float:
        """Width over height."""
        return self.width / self.height

    def viser_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """`(wxyz [4], position [3])`: the camera→world pose viser takes for frustums and viewports."""
        import viser.transforms as vtf

        return vtf.SO3.from_matrix(self.R.T).wxyz, self.center


def _camera(entry: dict, where: str) -> RunCamera:
    try:
        K = np.asarray(entry["K"], np.float64)
        R = np.asarray(entry["R"], np.float64)
        t = np.asarray(entry["t"], np.float64).reshape(-1)
        width, height = int(entry["width"]), int(entry["height"])
    except (KeyError, TypeError, ValueError) as e:
        raise ToolError(f"{where}: not a camera (needs K, R, t, width, height): {e}") from None
    if K.shape != (3, 3) or R.shape != (3, 3) or t.shape != (3,) or width < 1 or height < 1:
        raise ToolError(f"{where}: camera with K {K.shape}, R {R.shape}, t {t.shape}, size {width}x{height}")
    if not (np.isfinite(K).all() and np.isfinite(R).all() and np.isfinite(t).all()) or K[1, 1] <= 0:
        raise ToolError(f"{where}: camera with non-finite values or fy <= 0")
    if abs(np.linalg.det(R) - 1.0) > 1e-3:
        raise ToolError(f"{where}: R is not a rotation (det {np.linalg.det(R):.4f})")
    return RunCamera(K, R, t, width, height)


def load_cameras(path: Path) -> list[RunCamera]:
    """Read a run's cameras: a list (render), `{"views": [...]}` (datagen) or one camera (reconstruct).

    Raises:
        ToolError: missing or unreadable file, or an entry that is not a camera.
    """
    if not path.is_file():
        raise ToolError(f"{path}: missing camera file")
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ToolError(f"{path}: unreadable camera file ({e})") from None
    if isinstance(data, dict) and "views" in data:
        data = data["views"]
    entries = data if isinstance(data, list) else [data]
    if not entries:
        raise ToolError(f"{path}: no cameras")
    return [_camera(e, f"{path}[{i}]") for i, e in enumerate(entries)]


def unproject_depth(depth: np.ndarray, camera: RunCamera, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """World points of the pixels with depth > 0.

    Args:
        depth: `[H, W]` camera z (0 = background), in the camera's resolution.
        camera: the camera that saw it.
        stride: keep every stride-th pixel in each direction.

    Returns:
        `(points [N, 3], pixels [N, 2])` with pixels as (row, col) indices into the image.
    """
    rows, cols = np.nonzero(depth[::stride, ::stride] > 0)
    rows, cols = rows * stride, cols * stride
    z = depth[rows, cols].astype(np.float64)
    # Pixel centers sit at integer + 0.5 (the project's convention).
    x = (cols + 0.5 - camera.K[0, 2]) / camera.K[0, 0] * z
    y = (rows + 0.5 - camera.K[1, 2]) / camera.K[1, 1] * z
    cam = np.stack([x, y, z], 1)
    world = (cam - camera.t) @ camera.R  # R.T @ (x_cam - t), row-wise
    return world.astype(np.float32), np.stack([rows, cols], 1)
