"""Per-fragment surface attributes: world positions, normals (flat or smooth) and albedo."""

from __future__ import annotations

import torch

from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.interpolate import interpolate
from render3d.structures import Meshes
from render3d.texture import FilterMode, WrapMode, sample_mesh_textures


def _check(meshes: Meshes, fragments: Fragments) -> None:
    if fragments.pix_to_face.shape[0] != len(meshes):
        raise ShapeError(f"fragments hold {fragments.pix_to_face.shape[0]} images for {len(meshes)} meshes")


def fragment_points(meshes: Meshes, fragments: Fragments) -> torch.Tensor:
    """`[B, H, W, K, 3]` world position of every fragment (0 where empty).

    Example:
        >>> m = Meshes([torch.eye(3)], [torch.tensor([[0, 1, 2]])])
        >>> bary = torch.tensor([0.5, 0.5, 0.0]).view(1, 1, 1, 1, 3)
        >>> frags = Fragments(torch.zeros(1, 1, 1, 1, dtype=torch.long), bary, torch.ones(1, 1, 1, 1))
        >>> fragment_points(m, frags)[0, 0, 0, 0].tolist()
        [0.5, 0.5, 0.0]
    """
    _check(meshes, fragments)
    return interpolate(fragments.pix_to_face, fragments.bary, meshes.faces_verts_packed())


def fragment_normals(meshes: Meshes, fragments: Fragments, flat: bool) -> torch.Tensor:
    """`[B, H, W, K, 3]` unit world normals of every fragment (0 where empty).

    Args:
        meshes: the rasterized meshes.
        fragments: their fragments.
        flat: True: the face normal (faceted look); False: vertex normals interpolated and
            renormalized (smooth look).

    Example:
        >>> m = Meshes([torch.eye(3)], [torch.tensor([[0, 1, 2]])])
        >>> frags = Fragments(torch.zeros(1, 1, 1, 1, dtype=torch.long), torch.full((1, 1, 1, 1, 3), 1 / 3),
        ...                   torch.ones(1, 1, 1, 1))
        >>> [round(x, 4) for x in fragment_normals(m, frags, flat=True)[0, 0, 0, 0].tolist()]
        [0.5774, 0.5774, 0.5774]
    """
    _check(meshes, fragments)
    valid = (fragments.pix_to_face >= 0)[..., None]
    if flat:
        n = meshes.faces_normals_packed()[fragments.pix_to_face.clamp(min=0)]
        return n * valid.to(n.dtype)
    vn = meshes.verts_normals_packed()[meshes.faces_packed()]
    n = interpolate(fragments.pix_to_face, fragments.bary, vn)
    return torch.nn.functional.normalize(n, dim=-1, eps=1e-12)


def fragment_albedo(
    meshes: Meshes,
    fragments: Fragments,
    base_color: torch.Tensor,
    texture_filter: FilterMode = "bilinear",
    texture_wrap: WrapMode = "repeat",
) -> torch.Tensor:
    """`[B, H, W, K, C]` surface color: the texture if the meshes have one, else vertex colors,
    else `base_color` (0 where empty).

    Args:
        meshes: the rasterized meshes.
        fragments: their fragments.
        base_color: `[1 or B, C]` constant color for meshes without texture or vertex colors.
        texture_filter: see `render3d.texture.sample_texture`.
        texture_wrap: see `render3d.texture.sample_texture`.

    Raises:
        ShapeError: batch mismatch or a base color that is not `[1 or B, C]`.

    Example:
        >>> m = Meshes([torch.eye(3)], [torch.tensor([[0, 1, 2]])])
        >>> frags = Fragments(torch.tensor([0, -1]).view(1, 1, 2, 1), torch.full((1, 1, 2, 1, 3), 1 / 3),
        ...                   torch.ones(1, 1, 2, 1))
        >>> fragment_albedo(m, frags, torch.tensor([[0.5, 0.5, 0.5]]))[0, 0, :, 0, 0].tolist()
        [0.5, 0.0]
    """
    _check(meshes, fragments)
    if meshes.has_texture:
        return sample_mesh_textures(meshes, fragments, texture_filter, texture_wrap)
    if meshes.has_vert_colors:
        colors = meshes.vert_colors_packed()[meshes.faces_packed()]
        return interpolate(fragments.pix_to_face, fragments.bary, colors)
    if base_color.dim() != 2 or base_color.shape[0] not in (1, len(meshes)):
        raise ShapeError(f"base_color must be [1 or B={len(meshes)}, C], got {list(base_color.shape)}")
    valid = (fragments.pix_to_face >= 0)[..., None]
    color = base_color.to(fragments.bary).reshape(-1, 1, 1, 1, base_color.shape[-1])
    return color.expand(*fragments.pix_to_face.shape, base_color.shape[-1]) * valid
