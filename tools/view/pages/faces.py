"""Live faces page: seed, yaw and pitch sliders drive a generator; the panel shows the image and its measured pose.

The page depends only on a generator callable, `(seed, yaw_deg, pitch_deg) -> FaceView`, so any
pose-conditioned generator plugs in (the faces job's, or a toy in tests). Generation runs off the
slider callbacks, one request at a time: when sliders move faster than the generator, only the
newest request is rendered.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.view.cameras import RunCamera
from tools.view.pages.base import add_frustums, panel_image
from tools.view.report import Block, Images, Table


@dataclass(frozen=True)
class FaceView:
    """One generated face.

    Attributes:
        image: `[H, W, 3]` uint8.
        yaw: measured yaw in degrees (camera azimuth about +Y toward +X), None if not measured.
        pitch: measured pitch in degrees (elevation), None if not measured.
    """

    image: np.ndarray
    yaw: float | None = None
    pitch: float | None = None


FaceGenerator = Callable[[int, float, float], FaceView]


def orbit_camera(yaw: float, pitch: float, size: tuple[int, int], distance: float = 2.5,
                 fov_deg: float = 25.0) -> RunCamera:
    """The camera at (yaw, pitch) on an orbit around the origin, looking at it (the data engine's head convention)."""
    import torch

    from render3d.cameras import orbit

    R, t = orbit(torch.zeros(3), distance, [yaw], pitch)
    h, w = size
    f = h / (2 * math.tan(math.radians(fov_deg) / 2))
    K = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1.0]])
    return RunCamera(K, R[0].double().numpy(), t[0].double().numpy(), w, h)


def pose_text(yaw: float, pitch: float, view: FaceView) -> str:
    """Requested vs measured pose, one line of Markdown."""
    def deg(v: float) -> str:
        return f"{round(v, 1) + 0.0:+.1f}°"  # + 0.0 turns -0.0 into 0.0

    asked = f"asked yaw {deg(yaw)}, pitch {deg(pitch)}"
    if view.yaw is None or view.pitch is None:
        return f"{asked}; pose not measured"
    err = math.hypot(view.yaw - yaw, view.pitch - pitch)
    return f"{asked} → measured yaw {deg(view.yaw)}, pitch {deg(view.pitch)} (error {err:.1f}°)"


@dataclass
class FacesPage:
    """Interactive pose control over a generator.

    Attributes:
        path: the run or weights this generator came from (shown as the title).
        generator: `(seed, yaw_deg, pitch_deg) -> FaceView`.
        yaw_range: slider limits in degrees.
        pitch_range: slider limits in degrees.
    """

    path: Path
    generator: FaceGenerator
    yaw_range: tuple[float, float] = (-60.0, 60.0)
    pitch_range: tuple[float, float] = (-30.0, 30.0)
    kind: str = "faces"

    @property
    def title(self) -> str:
        return f"faces: {self.path.name}"

    def home(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([1.5, 0.8, 4.0]), np.zeros(3)

    def show(self, server, root: str) -> None:
        gui = server.gui
        seed = gui.add_number("seed", 0, min=0, step=1)
        yaw = gui.add_slider("yaw", self.yaw_range[0], self.yaw_range[1], 1.0, 0.0)
        pitch = gui.add_slider("pitch", self.pitch_range[0], self.pitch_range[1], 1.0, 0.0)
        first = self.generator(0, 0.0, 0.0)
        shown = gui.add_image(panel_image(first.image), label="seed 0")
        pose = gui.add_markdown(pose_text(0.0, 0.0, first))
        size = first.image.shape[:2]
        frustum = add_frustums(server, f"{root}/camera", [orbit_camera(0.0, 0.0, size)], [first.image], 1.0)
        lock = threading.Lock()
        wanted: dict[str, tuple[int, float, float]] = {"req": (0, 0.0, 0.0)}
        done: dict[str, tuple[int, float, float]] = {"req": (0, 0.0, 0.0)}

        def generate(_=None) -> None:
            wanted["req"] = (int(seed.value), float(yaw.value), float(pitch.value))
            if not lock.acquire(blocking=False):
                return  # the running loop picks the newest request up
            try:
                while done["req"] != wanted["req"]:
                    s, y, p = req = wanted["req"]
                    view = self.generator(s, y, p)
                    shown.image = panel_image(view.image)
                    shown.label = f"seed {s}"
                    pose.content = pose_text(y, p, view)
                    cam = orbit_camera(y, p, view.image.shape[:2])
                    wxyz, position = cam.viser_pose()
                    frustum[0].wxyz, frustum[0].position, frustum[0].image = wxyz, position, view.image
                    done["req"] = req
            finally:
                lock.release()

        for widget in (seed, yaw, pitch):
            widget.on_update(generate)

    def report(self) -> list[Block]:
        lo, hi = self.yaw_range
        yaws = [lo, lo / 2, 0.0, hi / 2, hi]
        views = [(y, self.generator(0, y, 0.0)) for y in yaws]
        rows = {f"yaw {y:+.0f}°": pose_text(y, 0.0, v) for y, v in views}
        return [Images("seed 0, pitch 0", [(f"yaw {y:+.0f}°", v.image) for y, v in views]),
                Table("pose", rows)]
