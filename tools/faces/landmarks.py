"""Landmark pose reader for real faces: mediapipe's face mesh (468 points) + PnP on a generic 3D face.

Optional, and not installable into this project's environment: mediapipe 0.10.21 pins numpy<2 (it does
run with numpy 2.4 when installed with `--no-deps`) and needs protobuf<5, while the environment holds
protobuf 7 for ray; with protobuf 7 its face mesh fails on construction (`FieldDescriptor.label` is gone).
In an environment of its own (numpy 2 is fine) it works: `pip install --no-deps mediapipe==0.10.21`,
then `pip install absl-py flatbuffers 'protobuf>=4.25.3,<5' matplotlib` (its solutions package imports
matplotlib). Without a working mediapipe, `landmark_reader()` raises `LandmarksUnavailable` saying so;
nothing else in the faces job needs it.

Six landmarks (nose tip, chin, outer eye corners, mouth corners) are matched to a generic face model
given in the data engine's world frame (+X the subject's left, +Y up, the face toward +Z); OpenCV's
`solvePnP` gives the world→camera rotation and translation, and the camera center's azimuth and
elevation are the yaw and pitch in the data engine's convention.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from tools.errors import ToolError
from tools.faces.readers import Reader, Reading

INSTALL_HINT = ("in an environment with protobuf<5: pip install --no-deps mediapipe==0.10.21 && pip install absl-py "
                "flatbuffers 'protobuf>=4.25.3,<5' matplotlib")
# mediapipe face-mesh indices: nose tip, chin, right eye outer corner, left eye outer corner, right and left
# mouth corners (the subject's sides), and the same points of a generic face (units ~ 0.1 mm).
LANDMARKS = (1, 152, 33, 263, 61, 291)
MODEL_POINTS = np.array([[0.0, 0.0, 0.0], [0.0, -330.0, -65.0], [-225.0, 170.0, -135.0], [225.0, 170.0, -135.0],
                         [-150.0, -150.0, -125.0], [150.0, -150.0, -125.0]])
HEAD_CENTER = np.array([0.0, 0.0, -300.0])  # about where the skull's center sits behind the nose tip


class LandmarksUnavailable(ToolError):
    """The landmark backend (mediapipe) is not installed or cannot load."""


def _face_mesh():
    try:
        from mediapipe.python.solutions import face_mesh

        return face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False)
    except Exception as e:  # not installed, its native library failing to load, or protobuf >= 5
        raise LandmarksUnavailable(f"the landmark pose estimator needs a working mediapipe 0.10.21 "
                                   f"({type(e).__name__}: {e}); {INSTALL_HINT}") from None


def pose_from_points(points: np.ndarray, width: int, height: int) -> tuple[float, float]:
    """(yaw, pitch) degrees from the six landmarks `[6, 2]` in pixels (pinhole, focal = image width).

    Example:
        >>> K = np.array([[64.0, 0, 32], [0, 64.0, 32], [0, 0, 1]])
        >>> cam = MODEL_POINTS * [1, -1, -1] + [0, 0, 3000.0]  # a frontal camera on +Z: y down, z into the face
        >>> pts = cam @ K.T
        >>> [abs(round(v, 1)) for v in pose_from_points(pts[:, :2] / pts[:, 2:], 64, 64)]
        [0.0, 0.0]
    """
    import cv2

    K = np.array([[width, 0.0, width / 2], [0.0, width, height / 2], [0.0, 0.0, 1.0]])
    # World (+Y up, face toward +Z) → OpenCV camera frame of a frontal camera (y down, z forward into the face).
    flip = np.diag([1.0, -1.0, -1.0])
    # Start from a frontal pose at a plausible distance: from no guess the iterative solver can settle on
    # the mirrored solution (the camera behind the head).
    distance = width * np.ptp(MODEL_POINTS[:, 0]) / max(np.ptp(points[:, 0]), 1.0)  # similar triangles, f = width
    rvec, tvec = np.zeros((3, 1)), np.array([[0.0], [0.0], [distance]])
    ok, rvec, tvec = cv2.solvePnP((MODEL_POINTS @ flip.T).astype(np.float64), points.astype(np.float64), K, None,
                                  rvec, tvec, useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        raise ToolError("PnP failed on the face landmarks")
    R = cv2.Rodrigues(rvec)[0] @ flip
    center = -R.T @ tvec[:, 0] - HEAD_CENTER
    yaw = math.degrees(math.atan2(center[0], center[2]))
    pitch = math.degrees(math.atan2(center[1], math.hypot(center[0], center[2])))
    return yaw, pitch


def landmark_reader() -> Reader:
    """A reader measuring pose from face-mesh landmarks (no identity descriptor).

    Images without a detectable face read as NaN.

    Raises:
        LandmarksUnavailable: mediapipe is not installed.
    """
    mesh = _face_mesh()

    def read(images: torch.Tensor) -> Reading:
        rgb = ((images.detach().cpu().float().permute(0, 2, 3, 1) + 1) * 127.5).clamp(0, 255).to(torch.uint8).numpy()
        poses = []
        for img in rgb:
            h, w = img.shape[:2]
            found = mesh.process(np.ascontiguousarray(img)).multi_face_landmarks
            if not found:
                poses.append((math.nan, math.nan))
                continue
            lm = found[0].landmark
            pts = np.array([[lm[i].x * w, lm[i].y * h] for i in LANDMARKS])
            poses.append(pose_from_points(pts, w, h))
        return Reading(torch.tensor(poses, dtype=torch.float32))

    return read
