"""Soft silhouette IoU loss between rendered coverage and a target mask."""

from __future__ import annotations

import torch

from render3d.errors import ShapeError


def silhouette_iou_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """`1 - IoU` with the soft intersection `Σ p·t` and union `Σ (p + t - p·t)`, averaged over the batch.

    Args:
        pred: `[B, H, W]` predicted coverage in [0, 1] (e.g. `RenderOutput.alpha`).
        target: `[B, H, W]` target mask in [0, 1].
        eps: added to intersection and union so two empty masks give IoU 1 (loss 0), not 0/0.

    Returns:
        Scalar loss in [0, 1]; 0 when pred equals a binary target.

    Raises:
        ShapeError: the shapes differ or are not `[B, H, W]`.

    Example:
        >>> m = torch.zeros(1, 4, 4); m[:, :2] = 1
        >>> round(float(silhouette_iou_loss(m, 1 - m)), 4), round(float(silhouette_iou_loss(m, m)), 4)
        (1.0, 0.0)
    """
    if pred.dim() != 3 or pred.shape != target.shape:
        raise ShapeError(f"pred and target must both be [B, H, W], got {list(pred.shape)} and {list(target.shape)}")
    target = target.to(pred.dtype)
    inter = (pred * target).sum((1, 2))
    union = (pred + target - pred * target).sum((1, 2))
    return (1.0 - (inter + eps) / (union + eps)).mean()
