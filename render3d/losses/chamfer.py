"""Chamfer distance between point sets, chunked so large sets fit in memory."""

from __future__ import annotations

import torch

from render3d.errors import ShapeError


def _lengths(lengths: torch.Tensor | None, pts: torch.Tensor, name: str) -> torch.Tensor:
    B, N = pts.shape[:2]
    if lengths is None:
        return torch.full((B,), N, dtype=torch.long, device=pts.device)
    lengths = lengths.to(device=pts.device, dtype=torch.long)
    if lengths.shape != (B,) or bool((lengths < 1).any()) or bool((lengths > N).any()):
        raise ShapeError(f"{name} must be [B={B}] with values in 1..{N}, got {lengths.tolist()}")
    return lengths


@torch.no_grad()
def _nearest(src: torch.Tensor, dst: torch.Tensor, dst_lengths: torch.Tensor, chunk: int) -> torch.Tensor:
    """`[B, N]` index of the nearest valid `dst` point of every `src` point."""
    B, M = dst.shape[:2]
    invalid = torch.arange(M, device=dst.device)[None, :] >= dst_lengths[:, None]
    out = []
    for start in range(0, src.shape[1], chunk):
        d = torch.cdist(src[:, start:start + chunk], dst)
        out.append(d.masked_fill_(invalid[:, None, :], float("inf")).argmin(-1))
    return torch.cat(out, 1) if out else torch.zeros(B, 0, dtype=torch.long, device=src.device)


def chamfer_distance(
    x: torch.Tensor,
    y: torch.Tensor,
    x_lengths: torch.Tensor | None = None,
    y_lengths: torch.Tensor | None = None,
    chunk: int = 2048,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """Symmetric chamfer distance with squared Euclidean distances (pytorch3d's default reduction).

    `dist = mean_b [ mean_{i<Nx_b} min_j |x_i - y_j|² + mean_{j<Ny_b} min_i |y_j - x_i|² ]`.
    Nearest neighbors are searched without autograd in chunks of `chunk` rows (peak memory
    `B·chunk·M` floats), then distances to the chosen neighbors are recomputed differentiably,
    so 20k × 20k sets need no full distance matrix, forward or backward.

    Args:
        x: `[B, N, 3]` points (any trailing dim D works).
        y: `[B, M, 3]` points.
        x_lengths: `[B]` valid counts of `x` per batch item (rest is padding); None = all.
        y_lengths: `[B]` valid counts of `y`.
        chunk: rows of `x` (and `y`) per nearest-neighbor block.

    Returns:
        `(dist, (idx_xy, idx_yx))`: scalar distance, `[B, N]` index into `y` of each x point's
        nearest neighbor and `[B, M]` index into `x` of each y point's (padding rows hold
        arbitrary valid indices).

    Raises:
        ShapeError: mismatched batch or point dims, bad lengths.

    Example:
        >>> x = torch.zeros(1, 1, 3); y = torch.tensor([[[0.0, 0, 2]]])
        >>> float(chamfer_distance(x, y)[0])
        8.0
    """
    if x.dim() != 3 or y.dim() != 3 or x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
        raise ShapeError(f"x and y must be [B, N, D] and [B, M, D], got {list(x.shape)} and {list(y.shape)}")
    if x.shape[1] == 0 or y.shape[1] == 0:
        raise ShapeError("chamfer_distance needs non-empty point sets")
    if chunk < 1:
        raise ShapeError(f"chunk must be >= 1, got {chunk}")
    xl, yl = _lengths(x_lengths, x, "x_lengths"), _lengths(y_lengths, y, "y_lengths")
    idx_xy = _nearest(x, y, yl, chunk)
    idx_yx = _nearest(y, x, xl, chunk)
    d_xy = (x - torch.gather(y, 1, idx_xy[..., None].expand_as(x))).pow(2).sum(-1)
    d_yx = (y - torch.gather(x, 1, idx_yx[..., None].expand_as(y))).pow(2).sum(-1)
    x_valid = (torch.arange(x.shape[1], device=x.device)[None] < xl[:, None]).to(x.dtype)
    y_valid = (torch.arange(y.shape[1], device=y.device)[None] < yl[:, None]).to(y.dtype)
    per_item = (d_xy * x_valid).sum(1) / xl.to(x.dtype) + (d_yx * y_valid).sum(1) / yl.to(y.dtype)
    return per_item.mean(), (idx_xy, idx_yx)
