"""Discriminator and generator regularizers of StyleGAN2: R1 (lazy) and path-length regularization.

Both need double backward: the penalty is a function of a gradient, and the optimizer then
differentiates through it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gan2d.errors import ConfigError, ShapeError


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """Per-sample squared gradient norm `‖∇ₓ D(x)‖²` at real images (Mescheder et al. 2018).

    Args:
        real_logits: `[B]` or `[B, 1]` logits computed from `real_images` (which must require grad).
        real_images: `[B, C, H, W]` with `requires_grad=True`.

    Returns:
        `[B]` squared norms, differentiable w.r.t. the discriminator parameters.

    Raises:
        ShapeError: if `real_images` does not require grad or the batch sizes differ.

    Example:
        >>> x = torch.randn(2, 3, 4, 4, requires_grad=True)
        >>> r1_penalty((x * 2).sum(dim=(1, 2, 3)), x)  # gradient 2 everywhere: 48 * 4
        tensor([192., 192.])
    """
    if not real_images.requires_grad:
        raise ShapeError("r1_penalty: real_images must have requires_grad=True before the discriminator call")
    if real_logits.shape[0] != real_images.shape[0]:
        raise ShapeError(f"r1_penalty: {real_logits.shape[0]} logits for {real_images.shape[0]} images")
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.square().flatten(1).sum(dim=1)


def r1_loss(real_logits: torch.Tensor, real_images: torch.Tensor, gamma: float, interval: int = 1) -> torch.Tensor:
    """The R1 term as StyleGAN2 applies it lazily: `mean(r1_penalty) · γ/2 · interval`.

    Computing R1 only every `interval` minibatches and scaling by `interval` keeps the expected
    gradient the same as applying it every step at a fraction of the cost.

    Args:
        real_logits: `[B]` or `[B, 1]`.
        real_images: `[B, C, H, W]`, requires grad.
        gamma: R1 weight γ.
        interval: lazy-regularization interval (1 = every step).

    Returns:
        Scalar loss.

    Example:
        >>> x = torch.randn(2, 3, 4, 4, requires_grad=True)
        >>> r1_loss(x.sum(dim=(1, 2, 3)), x, gamma=1.0, interval=4)  # 48 · ½ · 4
        tensor(96.)
    """
    if interval < 1:
        raise ConfigError(f"r1_loss: interval must be >= 1, got {interval}")
    return r1_penalty(real_logits, real_images).mean() * (gamma / 2.0) * interval


def lazy_due(step: int, interval: int) -> bool:
    """Whether a lazily applied regularizer runs at minibatch `step` (0-based): every `interval`-th one."""
    if interval < 1:
        raise ConfigError(f"lazy interval must be >= 1, got {interval}")
    return step % interval == 0


def path_lengths(images: torch.Tensor, ws: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Per-sample Jacobian-vector lengths `‖J_wᵀ y‖₂` with y an image-space random projection.

    StyleGAN2 scales `noise` by 1/sqrt(H·W) so the length does not depend on the resolution;
    pass `torch.randn_like(images) / sqrt(H * W)`.

    Args:
        images: `[B, C, H, W]` generated from `ws` (graph kept).
        ws: `[B, num_ws, w_dim]` (or `[B, w_dim]`) latents that require grad.
        noise: same shape as `images`.

    Returns:
        `[B]` lengths, differentiable w.r.t. the generator parameters.
    """
    if noise.shape != images.shape:
        raise ShapeError(f"path_lengths: noise {tuple(noise.shape)} must match images {tuple(images.shape)}")
    (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    if grad.ndim == 3:
        return grad.square().sum(dim=2).mean(dim=1).sqrt()
    return grad.square().sum(dim=1).sqrt()


class PathLengthRegularizer(nn.Module):
    """Path-length regularization with the running mean `a` kept as a buffer (so it checkpoints with the net).

    `loss = mean((lengths - a)²) · weight · interval`, after which `a ← a + decay · (mean(lengths) - a)`.

    Args:
        weight: regularization weight (StyleGAN2: 2).
        decay: running-mean update rate (StyleGAN2: 0.01).

    Example:
        >>> reg = PathLengthRegularizer()
        >>> ws = torch.randn(2, 4, requires_grad=True)
        >>> img = (ws[:, :, None, None] * torch.ones(1, 1, 2, 2)).sum(1, keepdim=True)
        >>> loss = reg(img, ws, torch.randn_like(img) / 2.0)
    """

    def __init__(self, weight: float = 2.0, decay: float = 0.01) -> None:
        super().__init__()
        if not 0.0 < decay <= 1.0:
            raise ConfigError(f"PathLengthRegularizer: decay must be in (0, 1], got {decay}")
        self.weight = weight
        self.decay = decay
        self.register_buffer("mean", torch.zeros(()))

    def forward(self, images: torch.Tensor, ws: torch.Tensor, noise: torch.Tensor, interval: int = 1) -> torch.Tensor:
        """Return the scalar penalty and update the running mean (in training mode only)."""
        lengths = path_lengths(images, ws, noise)
        target = self.mean.lerp(lengths.detach().mean(), self.decay)
        penalty = (lengths - target).square().mean() * self.weight * interval
        if self.training:
            self.mean.copy_(target.detach())
        return penalty


def path_length_noise(images: torch.Tensor) -> torch.Tensor:
    """Random image-space projection `randn / sqrt(H·W)` for `path_lengths`, shaped like `images`."""
    h, w = images.shape[-2:]
    return torch.randn_like(images) / math.sqrt(h * w)
