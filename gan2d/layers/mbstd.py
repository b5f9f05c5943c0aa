"""Minibatch standard deviation: lets the discriminator see sample diversity (Karras et al. 2018)."""

from __future__ import annotations

import torch
from torch import nn

from gan2d.errors import ShapeError


def minibatch_stddev(x: torch.Tensor, group_size: int | None = 4, num_channels: int = 1) -> torch.Tensor:
    """Append the average per-group standard deviation of the features as extra channels.

    The batch is split into groups of `min(group_size, B)` samples taken with stride `B // G` (sample `i`
    belongs to group `i % (B // G)`), channels into `num_channels` chunks; each group gets one scalar per
    chunk, broadcast over its samples and pixels.

    Args:
        x: `[B, C, H, W]` features; `B` must be divisible by the group size, `C` by `num_channels`.
        group_size: Samples per group; None uses the whole batch.
        num_channels: Number of statistics channels appended.

    Returns:
        y: `[B, C + num_channels, H, W]`.

    Raises:
        ShapeError: If the batch or channel count does not divide.

    Example:
        >>> minibatch_stddev(torch.randn(8, 6, 4, 4)).shape
        torch.Size([8, 7, 4, 4])
    """
    N, C, H, W = x.shape
    G = min(group_size, N) if group_size is not None else N
    if N % G != 0 or C % num_channels != 0:
        raise ShapeError(f"minibatch_stddev: batch {N} must divide by group size {G} and channels {C} by "
                         f"num_channels {num_channels}")
    F = num_channels
    y = x.reshape(G, -1, F, C // F, H, W)
    y = y - y.mean(dim=0)
    y = (y.square().mean(dim=0) + 1e-8).sqrt()
    y = y.mean(dim=[2, 3, 4]).reshape(-1, F, 1, 1).repeat(G, 1, H, W)
    return torch.cat([x, y], dim=1)


class MinibatchStd(nn.Module):
    """Module form of `minibatch_stddev`.

    Args:
        group_size: Samples per group; None = whole batch.
        num_channels: Statistics channels appended.
    """

    def __init__(self, group_size: int | None = 4, num_channels: int = 1) -> None:
        super().__init__()
        self.group_size = group_size
        self.num_channels = num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x: [B, C, H, W]` → `[B, C + num_channels, H, W]`."""
        return minibatch_stddev(x, self.group_size, self.num_channels)
