"""Rigid transforms of the scene schema: Euler degrees, quaternions, look-at, scale.

Euler angles are extrinsic X, then Y, then Z rotations about the world axes, in degrees:
`R = Rz @ Ry @ Rx`. Quaternions are `(w, x, y, z)` and are normalized before use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from scenes.errors import SceneFileError


def euler_to_matrix(degrees: Sequence[float]) -> torch.Tensor:
    """`[3, 3]` rotation `Rz @ Ry @ Rx` for extrinsic XYZ Euler angles in degrees.

    Example:
        >>> (euler_to_matrix((0, 90, 0)) @ torch.tensor([0.0, 0, 1])).round(decimals=4).tolist()  # +Z turns to +X
        [1.0, 0.0, 0.0]
    """
    ax, ay, az = (math.radians(float(a)) for a in degrees)
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    rx = torch.tensor([[1.0, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = torch.tensor([[cy, 0, sy], [0, 1.0, 0], [-sy, 0, cy]])
    rz = torch.tensor([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1.0]])
    return rz @ ry @ rx


def quaternion_to_matrix(q: Sequence[float]) -> torch.Tensor:
    """`[3, 3]` rotation of the quaternion `(w, x, y, z)` (normalized first).

    Raises:
        SceneFileError: the quaternion has zero length.
    """
    qt = torch.tensor([float(v) for v in q], dtype=torch.float64)
    n = float(qt.norm())
    if n < 1e-12:
        raise SceneFileError(f"quaternion {list(q)} has zero length")
    w, x, y, z = (qt / n).tolist()
    return torch.tensor([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ], dtype=torch.float32)


def look_at_rotation(position: Sequence[float], target: Sequence[float],
                     up: Sequence[float] = (0.0, 1.0, 0.0)) -> torch.Tensor:
    """`[3, 3]` object→world rotation turning the object's +Z axis toward `target`, +Y toward `up`.

    Raises:
        SceneFileError: target equals position or the direction is parallel to `up`.
    """
    p, t, u = (torch.tensor([float(v) for v in a]) for a in (position, target, up))
    z = t - p
    if float(z.norm()) < 1e-9:
        raise SceneFileError(f"look_at target {list(target)} equals the object position")
    z = z / z.norm()
    x = torch.linalg.cross(u, z)
    if float(x.norm()) < 1e-6:
        raise SceneFileError(f"look_at direction {z.tolist()} is parallel to up {list(up)}")
    x = x / x.norm()
    y = torch.linalg.cross(z, x)
    return torch.stack([x, y, z], dim=1)


def compose(rotation: torch.Tensor, translation: Sequence[float], scale: Sequence[float]) -> torch.Tensor:
    """`[4, 4]` object→world matrix `T @ R @ S`."""
    m = torch.eye(4)
    m[:3, :3] = rotation @ torch.diag(torch.tensor([float(s) for s in scale]))
    m[:3, 3] = torch.tensor([float(v) for v in translation])
    return m


def apply_to_points(matrix: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """`points: [N, 3]` mapped by the affine `matrix: [4, 4]`."""
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def apply_to_normals(matrix: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
    """`normals: [N, 3]` mapped by the inverse transpose of the linear part, renormalized."""
    n = normals @ torch.linalg.inv(matrix[:3, :3])
    return torch.nn.functional.normalize(n, dim=-1, eps=1e-12)
