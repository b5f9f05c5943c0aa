"""The template the network deforms: a unit icosphere, its topology, mirror partners and texture coordinates.

Texture lookups go through the sphere: every surface point keeps the unit direction of the template
vertex it came from, and the texture map is equirectangular in that direction (longitude
`atan2(x, z)` across the width, 0 facing +Z at the centre column; latitude `asin(y)` down the
height, +Y at the top row). So a pixel's texture coordinate is its interpolated template direction,
with no seam to cut: the texture is a function on the sphere, whatever the mesh's shape.

The icosphere is mirror-symmetric across x = 0, so every vertex has a partner; a symmetric prediction
averages each vertex's offset with its partner's reflected offset, and the texture with its
left-right flip (longitude φ ↦ −φ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from render3d.geometry.icosphere import icosphere
from render3d.structures import Meshes
from render3d.topology import MeshTopology
from tools.errors import ToolError


@dataclass(frozen=True)
class SphereTemplate:
    """A unit icosphere of `level` and what the decoder and losses need of it.

    Attributes:
        level: subdivision level (V = 10·4^level + 2).
        verts: `[V, 3]` unit directions.
        faces: `[F, 3]` long, counter-clockwise from outside.
        topology: its `MeshTopology` (edges, neighbours, face pairs).
        mirror: `[V]` long, the vertex at (−x, y, z) of each vertex.
        edge_length: mean edge length of the unit sphere (scale of the regularizers).

    Example:
        >>> t = SphereTemplate.build(2)
        >>> t.verts.shape, bool((t.verts[t.mirror][:, 0] + t.verts[:, 0]).abs().max() < 1e-5)
        (torch.Size([162, 3]), True)
    """

    level: int
    verts: torch.Tensor
    faces: torch.Tensor
    topology: MeshTopology
    mirror: torch.Tensor
    edge_length: float

    @classmethod
    def build(cls, level: int) -> SphereTemplate:
        """The template of icosphere `level` (0..4)."""
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 4:
            raise ToolError(f"template level must be an int within 0..4, got {level!r}")
        verts, faces = icosphere(level)
        topology = MeshTopology.from_meshes(Meshes([verts], [faces]))
        flipped = verts * torch.tensor([-1.0, 1.0, 1.0])
        mirror = torch.cdist(flipped, verts).argmin(1)
        e = topology.edges
        edge = float((verts[e[:, 0]] - verts[e[:, 1]]).norm(dim=1).mean())
        return cls(level, verts, faces, topology, mirror, edge)

    @property
    def num_verts(self) -> int:
        return self.verts.shape[0]

    def symmetrize_offsets(self, offsets: torch.Tensor) -> torch.Tensor:
        """`[B, V, 3]` offsets averaged with their mirror partners' reflections (exactly x-symmetric)."""
        flip = offsets.new_tensor([-1.0, 1.0, 1.0])
        return 0.5 * (offsets + offsets[:, self.mirror] * flip)


def symmetrize_texture(texture: torch.Tensor) -> torch.Tensor:
    """`[B, C, th, tw]` equirectangular map averaged with its longitude mirror (φ ↦ −φ)."""
    return 0.5 * (texture + texture.flip(-1))


def direction_to_uv(dirs: torch.Tensor) -> torch.Tensor:
    """`[..., 3]` directions (any length) → `[..., 2]` grid_sample coordinates in [-1, 1] (x = longitude / π,
    y = −latitude / (π/2): +Y at the top row)."""
    d = F.normalize(dirs, dim=-1, eps=1e-8)
    lon = torch.atan2(d[..., 0], d[..., 2])
    lat = torch.asin(d[..., 1].clamp(-1 + 1e-6, 1 - 1e-6))
    return torch.stack([lon / math.pi, -lat / (math.pi / 2)], -1)


def sample_texture(texture: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """Look up a texture map at sphere directions.

    Args:
        texture: `[B, C, th, tw]` equirectangular maps.
        dirs: `[B, N, 3]` directions.

    Returns:
        `[B, N, C]` bilinear samples.
    """
    uv = direction_to_uv(dirs)
    # Pad one column on each side with the opposite edge so longitude ±π interpolates across the wrap.
    tw = texture.shape[-1]
    wrapped = torch.cat([texture[..., -1:], texture, texture[..., :1]], -1)
    uv = torch.stack([uv[..., 0] * tw / (tw + 2), uv[..., 1]], -1)
    out = F.grid_sample(wrapped, uv[:, :, None], mode="bilinear", padding_mode="border", align_corners=False)
    return out[..., 0].transpose(1, 2)
