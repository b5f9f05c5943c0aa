"""View-conditioned mapping: a label (a camera pose) moves only the first k styles of the label-free w.

GANverse3D found that the early synthesis layers carry the camera. Here every style comes from the
label-free mapping of z (`shared`, a plain `MappingNetwork`), and the first `view_layers` styles get
a learned offset that is a function of the label and of that style's own w:

    ws[:, i] = w_i + view(c, w_i)[i]   for i < view_layers;   ws[:, i] = w_i otherwise.

So the later (identity and texture) styles cannot depend on the label at all, by construction, and a
change of requested view changes only what the early layers draw. Truncation acts on the label-free
w, before the offset, so a truncated sample still gets the requested view.
"""

from __future__ import annotations

import torch
from torch import nn

from gan2d.errors import ShapeError
from gan2d.layers.equalized import EqualLinear
from gan2d.nets.stylegan2.mapping import MappingNetwork, normalize_2nd_moment

# The view head learns at the full rate: at the mapping's 0.01 a short run would barely move it
# (Adam moves an equalized weight by ~lr·lr_multiplier of its scale per step).
VIEW_LR_MULTIPLIER = 1.0


class ViewConditionedMapping(nn.Module):
    """z → label-free ws (`shared`), then a label-dependent offset on the first `view_layers` styles.

    Args:
        z_dim: Latent width (> 0).
        c_dim: View-label width (> 0), e.g. 2 for (yaw, pitch) scaled to about [-1, 1].
        w_dim: Style width.
        num_ws: Styles to broadcast to.
        view_layers: Leading styles the label may move (1..num_ws).
        num_layers: Fully connected layers of the shared mapping.
        layer_features: Hidden width of the shared mapping (None = w_dim).
        lr_multiplier: Learning-rate multiplier of the shared mapping.
        w_avg_beta: Decay of the tracked (label-free) average w; None = no tracking.

    Example:
        >>> m = ViewConditionedMapping(z_dim=8, c_dim=2, w_dim=8, num_ws=6, view_layers=2, num_layers=2)
        >>> z = torch.randn(3, 8)
        >>> a, b = m(z, torch.zeros(3, 2)), m(z, torch.ones(3, 2))
        >>> a.shape, bool((a[:, 2:] == b[:, 2:]).all())
        (torch.Size([3, 6, 8]), True)
    """

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int, view_layers: int, num_layers: int = 8,
                 layer_features: int | None = None, lr_multiplier: float = 0.01,
                 w_avg_beta: float | None = 0.995) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.num_ws = num_ws
        self.view_layers = view_layers
        self.w_avg_beta = w_avg_beta
        self.shared = MappingNetwork(z_dim, 0, w_dim, num_ws, num_layers, layer_features=layer_features,
                                     lr_multiplier=lr_multiplier, w_avg_beta=w_avg_beta)
        self.embed = EqualLinear(c_dim, w_dim, lr_multiplier=VIEW_LR_MULTIPLIER)
        self.view0 = EqualLinear(2 * w_dim, w_dim, activation="lrelu", lr_multiplier=VIEW_LR_MULTIPLIER)
        self.view1 = EqualLinear(w_dim, view_layers * w_dim, lr_multiplier=VIEW_LR_MULTIPLIER)

    @property
    def w_avg(self) -> torch.Tensor:
        """`[w_dim]` tracked average of the label-free w (what truncation pulls towards)."""
        return self.shared.w_avg

    def view(self, ws: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Apply the view label to label-free styles.

        Args:
            ws: `[B, num_ws, w_dim]` label-free styles (from `shared`, possibly truncated, mixed or edited).
            c: `[B, c_dim]` view labels.

        Returns:
            `[B, num_ws, w_dim]`: the first `view_layers` styles moved, the rest the same tensors' values.

        Raises:
            ShapeError: Mis-shaped ws or c.
        """
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ShapeError(f"ws must be [B, {self.num_ws}, {self.w_dim}], got {tuple(ws.shape)}")
        if c is None or c.ndim != 2 or c.shape != (ws.shape[0], self.c_dim):
            raise ShapeError(f"c must be [{ws.shape[0]}, {self.c_dim}] for a view-conditioned mapping, "
                             f"got {None if c is None else tuple(c.shape)}")
        b, k = ws.shape[0], self.view_layers
        head = ws[:, :k]
        y = normalize_2nd_moment(self.embed(c.to(head.dtype)))
        h = self.view0(torch.cat([head, y[:, None].expand_as(head)], dim=2).reshape(b * k, 2 * self.w_dim))
        # Layer i takes block i of the head's output, computed from its own style (mixed or edited styles differ).
        offsets = self.view1(h).view(b, k, k, self.w_dim).diagonal(dim1=1, dim2=2).permute(0, 2, 1)
        return torch.cat([head + offsets, ws[:, k:]], dim=1)

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, update_emas: bool = False) -> torch.Tensor:
        """Map latents and view labels to styles (same call as `MappingNetwork.forward`).

        Args:
            z: `[B, z_dim]` latents.
            c: `[B, c_dim]` view labels.
            truncation_psi: Pull the label-free w towards `w_avg`; 1 disables.
            truncation_cutoff: Truncate only the first `cutoff` styles; None = all.
            update_emas: Move `w_avg` towards this batch's mean label-free w (training).

        Returns:
            ws: `[B, num_ws, w_dim]`.

        Raises:
            ShapeError: Missing or mis-shaped z / c.
            ConfigError: Truncation asked of a network that does not track w_avg.
        """
        ws = self.shared(z, None, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff,
                         update_emas=update_emas)
        return self.view(ws, c)
