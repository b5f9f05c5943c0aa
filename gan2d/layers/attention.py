"""SAGAN self-attention (Zhang et al. 2019): every position attends to every other, gated by a learned γ.

γ starts at 0, so an inserted block is the identity at initialization and the network learns how
much non-local context to mix in.
"""

from __future__ import annotations

import torch
from torch import nn

from gan2d.errors import ConfigError, ShapeError


def spatial_self_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Dot-product attention over spatial positions.

    Args:
        query: `[B, Ck, H, W]`.
        key: `[B, Ck, H, W]`.
        value: `[B, Cv, H, W]`.

    Returns:
        `[B, Cv, H, W]`: for each position, the softmax(q·k)-weighted sum of values over all positions.

    Example:
        >>> q = torch.randn(1, 2, 4, 4)
        >>> out = spatial_self_attention(q, q, torch.randn(1, 8, 4, 4))
    """
    if query.shape != key.shape or query.shape[0] != value.shape[0] or query.shape[2:] != value.shape[2:]:
        raise ShapeError(
            f"spatial_self_attention: query {tuple(query.shape)}, key {tuple(key.shape)} and value "
            f"{tuple(value.shape)} disagree"
        )
    b, _, h, w = query.shape
    q = query.flatten(2).transpose(1, 2)  # [B, N, Ck]
    k = key.flatten(2)  # [B, Ck, N]
    attn = torch.softmax(torch.bmm(q, k), dim=-1)  # [B, N, N], rows sum to 1
    v = value.flatten(2)  # [B, Cv, N]
    out = torch.bmm(v, attn.transpose(1, 2))  # [B, Cv, N]
    return out.view(b, value.shape[1], h, w)


class SelfAttention(nn.Module):
    """The SAGAN block: `x + γ · W_o(attention(W_q x, W_k x, W_v x))`.

    Args:
        channels: input/output channels C.
        reduction: query/key channels are C // reduction (at least 1); values use C // 2 like SAGAN.

    Example:
        >>> block = SelfAttention(16)
        >>> y = block(torch.randn(2, 16, 8, 8))
    """

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        if channels <= 0 or reduction <= 0:
            raise ConfigError(f"SelfAttention needs positive channels/reduction, got {channels}/{reduction}")
        qk = max(1, channels // reduction)
        v = max(1, channels // 2)
        self.query = nn.Conv2d(channels, qk, 1, bias=False)
        self.key = nn.Conv2d(channels, qk, 1, bias=False)
        self.value = nn.Conv2d(channels, v, 1, bias=False)
        self.out = nn.Conv2d(v, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: `[B, C, H, W]` → `[B, C, H, W]`."""
        if x.ndim != 4:
            raise ShapeError(f"SelfAttention: x must be [B, C, H, W], got {tuple(x.shape)}")
        attended = spatial_self_attention(self.query(x), self.key(x), self.value(x))
        return x + self.gamma * self.out(attended)
