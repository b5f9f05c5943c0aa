"""Adversarial losses in their discriminator (D) and generator (G) forms.

All take raw discriminator logits of any shape and return a scalar mean. Conventions:

- non-saturating logistic (Goodfellow 2014, StyleGAN2): D: softplus(f) + softplus(-r); G: softplus(-f)
- least squares (Mao 2017): D: ½(r-1)² + ½f²; G: ½(f-1)²
- hinge (Lim & Ye 2017, SAGAN, SPADE): D: relu(1-r) + relu(1+f); G: -f
- Wasserstein (Arjovsky 2017) with gradient penalty (Gulrajani 2017): D: f - r + λ(‖∇D(x̂)‖-1)²; G: -f
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from gan2d.errors import ShapeError


def logistic_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating logistic D loss `mean(softplus(fake)) + mean(softplus(-real))`.

    Example:
        >>> logistic_d_loss(torch.zeros(4, 1), torch.zeros(4, 1))  # 2·log 2
        tensor(1.3863)
    """
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def logistic_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating logistic G loss `mean(softplus(-fake))` = -log σ(fake).

    Example:
        >>> logistic_g_loss(torch.zeros(3))
        tensor(0.6931)
    """
    return F.softplus(-fake_logits).mean()


def lsgan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Least-squares D loss `½·mean((real-1)²) + ½·mean(fake²)`.

    Example:
        >>> lsgan_d_loss(torch.ones(2), torch.zeros(2))
        tensor(0.)
    """
    return 0.5 * (real_logits - 1.0).square().mean() + 0.5 * fake_logits.square().mean()


def lsgan_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Least-squares G loss `½·mean((fake-1)²)`.

    Example:
        >>> lsgan_g_loss(torch.zeros(2))
        tensor(0.5000)
    """
    return 0.5 * (fake_logits - 1.0).square().mean()


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge D loss `mean(relu(1-real)) + mean(relu(1+fake))`.

    Example:
        >>> hinge_d_loss(torch.zeros(2), torch.zeros(2))
        tensor(2.)
    """
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge G loss `-mean(fake)`.

    Example:
        >>> hinge_g_loss(torch.tensor([1.0, 3.0]))
        tensor(-2.)
    """
    return -fake_logits.mean()


def wgan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Wasserstein critic loss `mean(fake) - mean(real)` (add `gradient_penalty`).

    Example:
        >>> wgan_d_loss(torch.tensor([2.0]), torch.tensor([0.5]))
        tensor(-1.5000)
    """
    return fake_logits.mean() - real_logits.mean()


def wgan_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Wasserstein G loss `-mean(fake)`.

    Example:
        >>> wgan_g_loss(torch.tensor([0.5]))
        tensor(-0.5000)
    """
    return -fake_logits.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    alpha: torch.Tensor | None = None,
    target: float = 1.0,
) -> torch.Tensor:
    """WGAN-GP penalty `mean((‖∇ₓ critic(x̂)‖₂ - target)²)` at random interpolates x̂ = α·real + (1-α)·fake.

    The graph is kept (`create_graph=True`) so the penalty can be back-propagated into the critic.

    Args:
        critic: maps `[B, ...]` inputs to logits `[B]` or `[B, 1]`.
        real: `[B, ...]` real samples.
        fake: `[B, ...]` generated samples (detached by the caller or not; only x̂ is differentiated).
        alpha: `[B]` interpolation weights; drawn uniformly in [0, 1) when None.
        target: the desired gradient norm (1 for WGAN-GP).

    Returns:
        Scalar penalty (multiply by λ, typically 10).

    Raises:
        ShapeError: if real and fake differ in shape or alpha is not `[B]`.

    Example:
        >>> lin = torch.nn.Linear(3, 1)
        >>> gp = gradient_penalty(lin, torch.randn(4, 3), torch.randn(4, 3))
    """
    if real.shape != fake.shape:
        raise ShapeError(f"gradient_penalty: real {tuple(real.shape)} and fake {tuple(fake.shape)} differ")
    b = real.shape[0]
    if alpha is None:
        alpha = torch.rand(b, device=real.device, dtype=real.dtype)
    if alpha.shape != (b,):
        raise ShapeError(f"gradient_penalty: alpha must be [{b}], got {tuple(alpha.shape)}")
    alpha = alpha.view(b, *([1] * (real.ndim - 1)))
    mixed = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    logits = critic(mixed)
    (grad,) = torch.autograd.grad(logits.sum(), mixed, create_graph=True)
    norms = grad.flatten(1).norm(dim=1)
    return (norms - target).square().mean()
