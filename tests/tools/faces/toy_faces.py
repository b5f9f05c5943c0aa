"""A synthetic "face generator" whose pose is an exact function of w, and a reader that decodes it.

Styles `ws [B, 6, 8]`: the camera layers 0-2 hold the view, layers 3-5 the identity. With
`v = mean(ws[:, :3])`, the generator "renders" yaw = 40·tanh(v·u_yaw / 1.5) and
pitch = 20·tanh(v·u_pitch / 1.5) into two pixels of an 8×8 image and an identity descriptor (a
function of the identity layers, plus `leak`·v·u_yaw when asked, to test identity decorrelation) into
three more; `toy_reader` reads them back exactly.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tools.faces.readers import Reading

W_DIM, NUM_WS, CAMERA_LAYERS = 8, 6, (0, 1, 2)
YAW_MAX, PITCH_MAX, SOFT = 40.0, 20.0, 1.5


def _unit(i: int) -> torch.Tensor:
    return torch.eye(W_DIM)[i]


U_YAW, U_PITCH = _unit(0), _unit(1)
U_ID = torch.stack([_unit(2), _unit(3), _unit(4)])


def toy_yaw(v_dot_u: torch.Tensor | float) -> torch.Tensor:
    """The toy's yaw for a camera coordinate v·u_yaw."""
    return YAW_MAX * torch.tanh(torch.as_tensor(v_dot_u, dtype=torch.float64) / SOFT)


class _Mapping(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        q, _ = torch.linalg.qr(torch.randn(W_DIM, W_DIM, generator=g))
        self.register_buffer("A", q)
        self.register_buffer("w_avg", torch.zeros(W_DIM))

    def forward(self, z: torch.Tensor, c: object = None, truncation_psi: float = 1.0) -> torch.Tensor:
        w = z @ self.A
        w = self.w_avg + truncation_psi * (w - self.w_avg)
        return w[:, None].repeat(1, NUM_WS, 1)


class _Synthesis(nn.Module):
    def __init__(self, leak: float) -> None:
        super().__init__()
        self.leak = leak

    def forward(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        v = ws[:, list(CAMERA_LAYERS)].mean(1)
        ident = ws[:, 3:].mean(1) @ U_ID.T + self.leak * (v @ U_YAW)[:, None]
        img = torch.zeros(ws.shape[0], 3, 8, 8)
        img[:, 0, 0, 0] = toy_yaw(v @ U_YAW).float() / YAW_MAX
        img[:, 0, 0, 1] = PITCH_MAX * torch.tanh(v @ U_PITCH / SOFT) / PITCH_MAX
        img[:, 0, 0, 2:5] = torch.tanh(ident / 4)
        return img


class ToyFaceGenerator(nn.Module):
    """Generator interface of pose control (`mapping`, `synthesis`, sizes) with a planted camera."""

    def __init__(self, leak: float = 0.0) -> None:
        super().__init__()
        self.z_dim = self.w_dim = W_DIM
        self.num_ws = NUM_WS
        self.img_resolution = 8
        self.mapping = _Mapping()
        self.synthesis = _Synthesis(leak)


def toy_reader(images: torch.Tensor) -> Reading:
    """Decode the toy's pose (degrees) and identity descriptor from its images."""
    pose = torch.stack([images[:, 0, 0, 0] * YAW_MAX, images[:, 0, 0, 1] * PITCH_MAX], 1)
    return Reading(pose, 4 * torch.atanh(images[:, 0, 0, 2:5].clamp(-0.999999, 0.999999)))


def atanh_yaw(deg: float) -> float:
    """The camera coordinate that gives `deg` of yaw."""
    return SOFT * math.atanh(deg / YAW_MAX)
