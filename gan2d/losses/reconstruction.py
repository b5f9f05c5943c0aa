"""Reconstruction losses: L1, L2, SSIM with a Gaussian window, KL for a VAE encoder, cycle consistency."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan2d.errors import ConfigError, ShapeError


def _same_shape(name: str, a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ShapeError(f"{name}: shapes {tuple(a.shape)} and {tuple(b.shape)} differ")


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error.

    Example:
        >>> l1_loss(torch.zeros(2), torch.tensor([1.0, -3.0]))
        tensor(2.)
    """
    _same_shape("l1_loss", pred, target)
    return (pred - target).abs().mean()


def l2_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error.

    Example:
        >>> l2_loss(torch.zeros(2), torch.tensor([1.0, -3.0]))
        tensor(5.)
    """
    _same_shape("l2_loss", pred, target)
    return (pred - target).square().mean()


def gaussian_window(size: int, sigma: float, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Normalized 1D Gaussian `[size]` centred on the middle tap (size must be odd)."""
    if size < 1 or size % 2 == 0 or sigma <= 0:
        raise ConfigError(f"gaussian_window: need odd size >= 1 and sigma > 0, got {size}, {sigma}")
    x = torch.arange(size, dtype=dtype) - (size - 1) / 2.0
    g = torch.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


def ssim_map(
    a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0, window_size: int = 11, sigma: float = 1.5
) -> torch.Tensor:
    """Per-pixel SSIM (Wang et al. 2004) with a separable Gaussian window, 'valid' borders.

    Constants K1 = 0.01, K2 = 0.03 scaled by `data_range` (2 for [-1, 1] images, 1 for [0, 1]).

    Args:
        a: `[B, C, H, W]`.
        b: `[B, C, H, W]`.
        data_range: max - min of the pixel range.
        window_size: odd Gaussian window size; H and W must be at least this.
        sigma: Gaussian standard deviation in pixels.

    Returns:
        `[B, C, H - window_size + 1, W - window_size + 1]` SSIM values in [-1, 1].
    """
    _same_shape("ssim", a, b)
    if a.ndim != 4:
        raise ShapeError(f"ssim: images must be [B, C, H, W], got {tuple(a.shape)}")
    if min(a.shape[-2:]) < window_size:
        raise ShapeError(f"ssim: images {tuple(a.shape[-2:])} are smaller than the {window_size}-pixel window")
    c = a.shape[1]
    g = gaussian_window(window_size, sigma, a.dtype).to(a.device)
    gx = g.view(1, 1, 1, -1).expand(c, 1, 1, window_size)
    gy = g.view(1, 1, -1, 1).expand(c, 1, window_size, 1)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(x, gx, groups=c), gy, groups=c)

    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def ssim(
    a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0, window_size: int = 11, sigma: float = 1.5
) -> torch.Tensor:
    """Mean SSIM per image: `[B]`. Identical images give exactly 1. See `ssim_map` for arguments.

    Example:
        >>> x = torch.rand(1, 3, 16, 16) * 2 - 1
        >>> ssim(x, x)
        tensor([1.])
    """
    return ssim_map(a, b, data_range, window_size, sigma).flatten(1).mean(dim=1)


def ssim_loss(a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0, window_size: int = 11) -> torch.Tensor:
    """`1 - mean SSIM`, a scalar loss that is 0 for identical images."""
    return 1.0 - ssim(a, b, data_range, window_size).mean()


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) ‖ N(0, I)) summed over latent dims, averaged over the batch.

    Args:
        mu: `[B, D]`.
        logvar: `[B, D]` log-variances.

    Returns:
        Scalar `mean_b ½ Σ_d (mu² + exp(logvar) - 1 - logvar)`.

    Example:
        >>> kl_divergence(torch.zeros(2, 4), torch.zeros(2, 4))
        tensor(0.)
    """
    _same_shape("kl_divergence", mu, logvar)
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).flatten(1).sum(dim=1).mean()


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Sample `mu + exp(½ logvar) · ε`, ε ~ N(0, I), differentiably (the VAE trick)."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def cycle_consistency_loss(original: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """CycleGAN's cycle term: L1 between x and F(G(x)).

    Example:
        >>> cycle_consistency_loss(torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2))
        tensor(1.)
    """
    return l1_loss(reconstructed, original)


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image `[B]` in dB (for reporting, not training)."""
    _same_shape("psnr", a, b)
    mse = (a - b).square().flatten(1).mean(dim=1).clamp_min(1e-12)
    return 10.0 * torch.log10(torch.tensor(data_range**2, dtype=a.dtype, device=a.device) / mse)
