"""StyleGAN2 mapping network: z (and optional label c) → per-layer styles ws, with w_avg and truncation."""

from __future__ import annotations

import torch
from torch import nn

from gan2d.errors import ConfigError, ShapeError
from gan2d.layers.equalized import EqualLinear


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Scale `x` to unit root-mean-square along `dim` (pixel norm of z and of the label embedding)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """MLP from normalized z (concatenated with a normalized label embedding) to w, broadcast to `num_ws` styles.

    Parameter names (`embed`, `fc0`…, `w_avg`) match StyleGAN2-ADA's `MappingNetwork`.

    Args:
        z_dim: Latent width (0 = label only).
        c_dim: Label width (0 = unconditional).
        w_dim: Output width.
        num_ws: Styles to broadcast to; None returns `[B, w_dim]` (the discriminator's label mapping).
        num_layers: Fully connected layers.
        embed_features: Label embedding width (None = w_dim).
        layer_features: Hidden width (None = w_dim).
        lr_multiplier: Learning-rate multiplier of every layer.
        w_avg_beta: Decay of the tracked average w; None = no tracking (and no truncation).

    Example:
        >>> m = MappingNetwork(z_dim=8, c_dim=0, w_dim=8, num_ws=4, num_layers=2)
        >>> m(torch.randn(3, 8), None).shape
        torch.Size([3, 4, 8])
    """

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int | None, num_layers: int = 8,
                 embed_features: int | None = None, layer_features: int | None = None,
                 lr_multiplier: float = 0.01, w_avg_beta: float | None = 0.995) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.num_ws = num_ws
        self.num_layers = num_layers
        self.w_avg_beta = w_avg_beta
        embed_features = (w_dim if embed_features is None else embed_features) if c_dim > 0 else 0
        layer_features = w_dim if layer_features is None else layer_features
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = EqualLinear(c_dim, embed_features)
        for idx in range(num_layers):
            layer = EqualLinear(features[idx], features[idx + 1], activation="lrelu", lr_multiplier=lr_multiplier)
            setattr(self, f"fc{idx}", layer)
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, update_emas: bool = False) -> torch.Tensor:
        """Map latents to styles.

        Args:
            z: `[B, z_dim]` latents (ignored/None when z_dim == 0).
            c: `[B, c_dim]` labels (required when c_dim > 0).
            truncation_psi: Pull w towards `w_avg`: `w_avg + psi * (w - w_avg)`; 1 disables.
            truncation_cutoff: Truncate only the first `cutoff` styles (coarse layers); None = all.
            update_emas: Move `w_avg` towards this batch's mean w (training).

        Returns:
            ws: `[B, num_ws, w_dim]` (or `[B, w_dim]` when `num_ws` is None).

        Raises:
            ShapeError: Missing or mis-shaped z / c.
            ConfigError: Truncation asked of a network that does not track w_avg.
        """
        x = None
        if self.z_dim > 0:
            if z is None or z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ShapeError(f"z must be [B, {self.z_dim}], got {None if z is None else tuple(z.shape)}")
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            if c is None or c.ndim != 2 or c.shape[1] != self.c_dim:
                raise ShapeError(f"c must be [B, {self.c_dim}] for a conditional network, "
                                 f"got {None if c is None else tuple(c.shape)}")
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)

        if update_emas and self.w_avg_beta is not None and self.num_ws is not None:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is None:
            return x
        x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            if not hasattr(self, "w_avg"):
                raise ConfigError("truncation needs a tracked w_avg (w_avg_beta is None)")
            cut = self.num_ws if truncation_cutoff is None else truncation_cutoff
            x = torch.cat([self.w_avg.lerp(x[:, :cut], truncation_psi), x[:, cut:]], dim=1)
        return x
