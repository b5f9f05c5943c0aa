"""Cameras in the OpenCV convention: x right, y down, z forward; K in pixels; row 0 at the top.

A pixel (col u, row v) covers [u, u+1) × [v, v+1); its center is (u + 0.5, v + 0.5). World space
is right-handed with +Y up. Extrinsics map world → camera: `x_cam = R @ x_world + t`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from render3d.errors import ShapeError


@dataclass(frozen=True)
class Cameras:
    """A batch of B pinhole (or orthographic) cameras sharing one image size.

    Args:
        K: `[B, 3, 3]` intrinsics in pixels (fx, fy, cx, cy; skew allowed).
        R: `[B, 3, 3]` world→camera rotation.
        t: `[B, 3]` world→camera translation.
        width: image width in pixels.
        height: image height in pixels.
        orthographic: if True, pixels are `K @ [x, y, 1]` (no division by z), fx/fy in pixels per
            world unit.

    Example:
        >>> R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
        >>> cams = Cameras(intrinsics_from_fov(60, 64, 64)[None], R, t, 64, 64)
        >>> cams.project(torch.zeros(1, 1, 3))[0, 0].tolist()
        [32.0, 32.0, 3.0]
    """

    K: torch.Tensor
    R: torch.Tensor
    t: torch.Tensor
    width: int
    height: int
    orthographic: bool = False

    def __post_init__(self) -> None:
        B = self.K.shape[0] if self.K.dim() == 3 else -1
        if self.K.shape != (B, 3, 3) or self.R.shape != (B, 3, 3) or self.t.shape != (B, 3):
            raise ShapeError(f"cameras need K [B,3,3], R [B,3,3], t [B,3]; got {list(self.K.shape)}, "
                             f"{list(self.R.shape)}, {list(self.t.shape)}")
        if not (1 <= self.width <= 16384 and 1 <= self.height <= 16384):
            raise ShapeError(f"image size must be within 1..16384, got {self.width}x{self.height}")
        for name in ("K", "R", "t"):
            if not torch.isfinite(getattr(self, name)).all():
                raise ShapeError(f"camera {name} holds non-finite values")

    def __len__(self) -> int:
        return self.K.shape[0]

    @property
    def device(self) -> torch.device:
        return self.K.device

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.height, self.width

    def to(self, device: torch.device | str) -> Cameras:
        return replace(self, K=self.K.to(device), R=self.R.to(device), t=self.t.to(device))

    def __getitem__(self, idx: int | slice | torch.Tensor) -> Cameras:
        if isinstance(idx, int):
            idx = slice(idx, idx + 1)
        return replace(self, K=self.K[idx], R=self.R[idx], t=self.t[idx])

    def extend(self, n: int) -> Cameras:
        """Each camera repeated `n` times in order."""
        return replace(self, K=self.K.repeat_interleave(n, 0), R=self.R.repeat_interleave(n, 0),
                       t=self.t.repeat_interleave(n, 0))

    def centers(self) -> torch.Tensor:
        """`[B, 3]` camera centers in world space (`-Rᵀ t`)."""
        return -(self.R.transpose(1, 2) @ self.t[..., None])[..., 0]

    def world_to_camera(self, points: torch.Tensor) -> torch.Tensor:
        """`points: [B, N, 3]` world → `[B, N, 3]` camera coordinates."""
        self._check_points(points)
        return points @ self.R.transpose(1, 2) + self.t[:, None, :]

    def camera_to_world(self, points: torch.Tensor) -> torch.Tensor:
        """`points: [B, N, 3]` camera → `[B, N, 3]` world coordinates."""
        self._check_points(points)
        return (points - self.t[:, None, :]) @ self.R

    def camera_to_pixels(self, xyz: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
        """`xyz: [B, N, 3]` camera coords → `[B, N, 3]` (u, v, z): pixel position and camera depth."""
        z = xyz[..., 2:3]
        xy1 = torch.cat([xyz[..., :2], torch.ones_like(z)], -1)
        if not self.orthographic:
            safe_z = torch.where(z.abs() < eps, torch.full_like(z, eps), z)
            xy1 = torch.cat([xyz[..., :2] / safe_z, torch.ones_like(z)], -1)
        uv = (xy1 @ self.K.transpose(1, 2))[..., :2]
        return torch.cat([uv, z], -1)

    def project(self, points: torch.Tensor) -> torch.Tensor:
        """`points: [B, N, 3]` world → `[B, N, 3]` (u, v, z) with u, v in pixels, z camera depth."""
        return self.camera_to_pixels(self.world_to_camera(points))

    def unproject(self, uvz: torch.Tensor) -> torch.Tensor:
        """`uvz: [B, N, 3]` pixel position + camera depth → `[B, N, 3]` world points."""
        self._check_points(uvz)
        uv1 = torch.cat([uvz[..., :2], torch.ones_like(uvz[..., :1])], -1)
        xy = (uv1 @ torch.linalg.inv(self.K).transpose(1, 2))[..., :2]
        z = uvz[..., 2:3]
        xyz = torch.cat([xy if self.orthographic else xy * z, z], -1)
        return self.camera_to_world(xyz)

    def pixel_rays(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Rays through every pixel center.

        Returns:
            origins `[B, H, W, 3]` and unit directions `[B, H, W, 3]` in world space.
        """
        H, W = self.height, self.width
        v, u = torch.meshgrid(torch.arange(H, device=self.device) + 0.5,
                              torch.arange(W, device=self.device) + 0.5, indexing="ij")
        uv = torch.stack([u, v], -1).reshape(1, -1, 2).expand(len(self), -1, -1).to(self.K.dtype)
        near = self.unproject(torch.cat([uv, torch.ones_like(uv[..., :1])], -1))
        far = self.unproject(torch.cat([uv, 2 * torch.ones_like(uv[..., :1])], -1))
        d = torch.nn.functional.normalize(far - near, dim=-1)
        origin = near if self.orthographic else self.centers()[:, None].expand_as(near)
        return origin.reshape(-1, H, W, 3), d.reshape(-1, H, W, 3)

    def _check_points(self, points: torch.Tensor) -> None:
        if points.dim() != 3 or points.shape[-1] != 3 or points.shape[0] != len(self):
            raise ShapeError(f"expected points [B={len(self)}, N, 3], got {list(points.shape)}")


def intrinsics_from_fov(fov_deg: float, width: int, height: int) -> torch.Tensor:
    """`[3, 3]` K for a pinhole with the given vertical field of view and a centered principal point."""
    if not 0 < fov_deg < 180:
        raise ShapeError(f"fov must be in (0, 180) degrees, got {fov_deg}")
    f = 0.5 * height / math.tan(math.radians(fov_deg) / 2)
    return torch.tensor([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])


def look_at(
    eye: torch.Tensor, at: torch.Tensor, up: Sequence[float] | torch.Tensor = (0.0, 1.0, 0.0)
) -> tuple[torch.Tensor, torch.Tensor]:
    """World→camera extrinsics of cameras at `eye: [B, 3]` looking at `at: [B, 3]`.

    The camera's y axis points along world -up (image rows grow downward), z toward `at`.

    Returns:
        `R: [B, 3, 3]`, `t: [B, 3]`.

    Raises:
        ShapeError: eye equals at, or the view direction is parallel to `up`.
    """
    eye, at = torch.as_tensor(eye, dtype=torch.float32), torch.as_tensor(at, dtype=torch.float32)
    eye, at = torch.broadcast_tensors(eye.reshape(-1, 3), at.reshape(-1, 3).to(eye))
    up_t = torch.as_tensor(up, dtype=eye.dtype, device=eye.device).reshape(-1, 3).expand_as(eye)
    fwd = at - eye
    if (fwd.norm(dim=-1) < 1e-9).any():
        raise ShapeError("look_at: eye and at coincide")
    z = torch.nn.functional.normalize(fwd, dim=-1)
    x = torch.cross(z, up_t, dim=-1)
    if (x.norm(dim=-1) < 1e-6).any():
        raise ShapeError("look_at: view direction is parallel to the up vector")
    x = torch.nn.functional.normalize(x, dim=-1)
    y = torch.cross(z, x, dim=-1)
    R = torch.stack([x, y, z], dim=1)
    t = -(R @ eye[..., None])[..., 0]
    return R, t


def orbit_eyes(
    center: Sequence[float] | torch.Tensor,
    distance: float,
    azimuth_deg: Sequence[float] | torch.Tensor,
    elevation_deg: float | Sequence[float] | torch.Tensor = 0.0,
) -> torch.Tensor:
    """`[N, 3]` camera positions on a sphere around `center`.

    Azimuth 0 puts the camera on the +Z side of the center looking toward -Z; positive azimuth
    turns it counter-clockwise seen from above (toward +X); positive elevation raises it (+Y).
    """
    az = torch.deg2rad(torch.as_tensor(azimuth_deg, dtype=torch.float32).reshape(-1))
    el = torch.deg2rad(torch.as_tensor(elevation_deg, dtype=torch.float32).reshape(-1)).expand_as(az)
    c = torch.as_tensor(center, dtype=torch.float32).reshape(1, 3)
    d = torch.stack([torch.cos(el) * torch.sin(az), torch.sin(el), torch.cos(el) * torch.cos(az)], -1)
    return c + distance * d


def orbit(
    center: Sequence[float] | torch.Tensor,
    distance: float,
    azimuth_deg: Sequence[float] | torch.Tensor,
    elevation_deg: float | Sequence[float] | torch.Tensor = 0.0,
    up: Sequence[float] = (0.0, 1.0, 0.0),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Extrinsics `R: [N, 3, 3]`, `t: [N, 3]` of cameras on an orbit looking at `center`.

    Example:
        >>> R, t = orbit((0, 0, 0), 3.0, [0, 90, 180, 270], 20.0)
        >>> R.shape
        torch.Size([4, 3, 3])
    """
    eyes = orbit_eyes(center, distance, azimuth_deg, elevation_deg)
    at = torch.as_tensor(center, dtype=torch.float32).reshape(1, 3).expand_as(eyes)
    return look_at(eyes, at, up)
