"""Cameras as four numbers — (yaw, pitch, roll) in degrees and a distance — on an orbit around a center.

The data engine's convention exactly (`scenes.samples.pose_cameras`): the eye sits at `center +
distance · (cos p sin y, sin p, cos p cos y)` looking at the center with +Y up, then the image is
rolled clockwise by `roll`. Built from differentiable torch ops so predicted cameras pass gradients,
and invertible (`orbit_params`) so any stored camera looking at a known center becomes four numbers.

`transfer` moves a camera from one object frame into another: given where view A's camera truly is
(labels) and where the network believes it is (its prediction in the object's canonical frame), the
camera of any other view B of the same object in that canonical frame is `E_B · E_A⁻¹ · E'_A`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from tools.errors import ToolError

# Elevations are kept off the poles, where "up" and the viewing direction become parallel.
MAX_PITCH = 85.0


def orbit_extrinsics(params: torch.Tensor, center: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """World→camera `R: [B, 3, 3]`, `t: [B, 3]` of orbit cameras.

    Args:
        params: `[B, 4]` (yaw°, pitch°, roll°, distance).
        center: `[B, 3]` or `[3]` point looked at; None: the origin.

    Returns:
        `R`, `t` in the OpenCV convention (`x_cam = R x + t`).

    Example:
        >>> R, t = orbit_extrinsics(torch.tensor([[0.0, 0.0, 0.0, 3.0]]))
        >>> [abs(v) for v in t[0].tolist()]
        [0.0, 0.0, 3.0]
    """
    if params.dim() != 2 or params.shape[1] != 4:
        raise ToolError(f"camera params must be [B, 4] (yaw, pitch, roll, distance), got {list(params.shape)}")
    yaw, pitch, roll = (torch.deg2rad(params[:, i]) for i in range(3))
    pitch = pitch.clamp(-math.radians(MAX_PITCH), math.radians(MAX_PITCH))
    d = params[:, 3]
    direction = torch.stack([torch.cos(pitch) * torch.sin(yaw), torch.sin(pitch), torch.cos(pitch) * torch.cos(yaw)], 1)
    c = torch.zeros_like(direction) if center is None else center.to(direction).expand_as(direction)
    eye = c + d[:, None] * direction
    z = -direction
    up = torch.tensor([0.0, 1.0, 0.0], dtype=z.dtype, device=z.device).expand_as(z)
    x = F.normalize(torch.linalg.cross(z, up, dim=1), dim=1)
    y = torch.linalg.cross(z, x, dim=1)
    R0 = torch.stack([x, y, z], 1)
    cr, sr = torch.cos(roll), torch.sin(roll)
    zero, one = torch.zeros_like(cr), torch.ones_like(cr)
    rollm = torch.stack([torch.stack([cr, -sr, zero], 1), torch.stack([sr, cr, zero], 1),
                         torch.stack([zero, zero, one], 1)], 1)
    R = rollm @ R0
    return R, -(R @ eye[..., None])[..., 0]


def orbit_params(R: torch.Tensor, t: torch.Tensor, center: torch.Tensor | None = None) -> torch.Tensor:
    """The inverse of `orbit_extrinsics` for cameras that look at `center`: `[B, 4]` (yaw°, pitch°, roll°, distance).

    Example:
        >>> p = torch.tensor([[30.0, 10.0, 5.0, 2.5]])
        >>> [round(v, 3) for v in orbit_params(*orbit_extrinsics(p))[0].tolist()]
        [30.0, 10.0, 5.0, 2.5]
    """
    eye = -(R.transpose(1, 2) @ t[..., None])[..., 0]
    c = torch.zeros_like(eye) if center is None else center.to(eye).expand_as(eye)
    rel = eye - c
    d = rel.norm(dim=1)
    u = rel / d[:, None].clamp(min=1e-12)
    yaw = torch.rad2deg(torch.atan2(u[:, 0], u[:, 2]))
    pitch = torch.rad2deg(torch.asin(u[:, 1].clamp(-1, 1)))
    R0, _ = orbit_extrinsics(torch.stack([yaw, pitch, torch.zeros_like(d), d], 1))
    rollm = R @ R0.transpose(1, 2)
    roll = torch.rad2deg(torch.atan2(rollm[:, 1, 0], rollm[:, 0, 0]))
    return torch.stack([yaw, pitch, roll, d], 1)


def look_at_center(R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """`[3]` the point nearest to every camera's optical axis (least squares): what a rig looks at.

    Raises:
        ToolError: fewer than two cameras, or parallel axes.
    """
    if R.shape[0] < 2:
        raise ToolError("need at least two cameras to find the point they look at")
    eye = -(R.transpose(1, 2) @ t[..., None])[..., 0].double()
    axis = R[:, 2].double()
    proj = torch.eye(3, dtype=torch.float64) - axis[:, :, None] * axis[:, None, :]
    A, b = proj.sum(0), (proj @ eye[..., None]).sum(0)[:, 0]
    if torch.linalg.cond(A) > 1e8:
        raise ToolError("the cameras' optical axes are parallel: no single point they look at")
    return torch.linalg.solve(A, b).float()


def _rigid(R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    E = torch.zeros(R.shape[0], 4, 4, dtype=R.dtype, device=R.device)
    E[:, :3, :3], E[:, :3, 3], E[:, 3, 3] = R, t, 1.0
    return E


def transfer(target: torch.Tensor, source: torch.Tensor, predicted: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Extrinsics of view B in the predicted frame: `E_B · E_A⁻¹ · E'_A`.

    Args:
        target: `[B, 4]` view B's orbit params (labels).
        source: `[B, 4]` view A's orbit params (labels).
        predicted: `[B, 4]` view A's camera as predicted in the object's canonical frame.

    Returns:
        `R: [B, 3, 3]`, `t: [B, 3]` of view B in the canonical frame (differentiable in all three).

    Example:
        >>> p = torch.tensor([[20.0, 5.0, 0.0, 3.0]])
        >>> R, t = transfer(p, p, torch.tensor([[0.0, 0.0, 0.0, 3.0]]))
        >>> [round(v, 4) for v in t[0].tolist()]
        [0.0, 0.0, 3.0]
    """
    EB, EA, EP = (_rigid(*orbit_extrinsics(p)) for p in (target, source, predicted))
    E = EB @ torch.linalg.inv(EA) @ EP
    return E[:, :3, :3], E[:, :3, 3]

