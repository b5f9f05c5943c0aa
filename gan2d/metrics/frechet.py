"""Weight-free quality measures for generated images.

FID needs Inception weights, which this project never downloads. Instead:

- **Random-feature Fréchet distance (RFD)**: the Fréchet distance between Gaussian fits of the
  features of a *fixed, randomly initialized* conv net (`RandomFeatureNet`, weights drawn from a
  seed, so every run and machine uses the same net). Random conv features are sensitive to color,
  shape and texture statistics; the number is comparable only between runs using the same net
  settings and seed, not to published FIDs.
- **Moment distance**: L2 distance between simple image statistics (per-channel mean and std,
  mean gradient magnitude). Crude but transparent.

Both are lower-is-better and 0 for identical sets (up to sampling noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan2d.errors import ConfigError, ShapeError


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """`‖mu1 - mu2‖² + tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^½)`, the distance between two Gaussians (as in FID).

    Example:
        >>> frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))
        2.0
    """
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.shape[0],) * 2:
        raise ShapeError(f"frechet_distance: shapes {mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape} disagree")
    # tr((Σ1 Σ2)^½) = tr((Σ1^½ Σ2 Σ1^½)^½): the symmetric form is stable for singular covariances.
    vals, vecs = np.linalg.eigh(sigma1)
    root1 = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    middle = root1 @ sigma2 @ root1
    trace_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_covmean)


@dataclass(frozen=True)
class RandomFeatureConfig:
    """The fixed feature net: `depth` stride-2 3×3 convs of `width` channels, ReLU, global mean and std pooling.

    Args:
        in_channels: image channels.
        width: channels per layer; features have 2·width·depth entries.
        depth: number of conv layers.
        seed: seed of the random weights.
    """

    in_channels: int = 3
    width: int = 32
    depth: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.in_channels, self.width, self.depth) < 1:
            raise ConfigError(f"RandomFeatureConfig values must be positive: {self}")


class RandomFeatureNet(nn.Module):
    """Fixed random conv features of `[B, C, H, W]` images in [-1, 1] → `[B, 2·width·depth]`.

    Each layer's activations contribute their spatial mean and standard deviation, so the features
    see both color/intensity statistics and texture/shape statistics at several scales.

    Example:
        >>> net = RandomFeatureNet(RandomFeatureConfig(width=8, depth=2))
        >>> net(torch.zeros(4, 3, 16, 16)).shape
        torch.Size([4, 32])
    """

    def __init__(self, config: RandomFeatureConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or RandomFeatureConfig()
        g = torch.Generator().manual_seed(c.seed)
        weights, cin = [], c.in_channels
        for _ in range(c.depth):
            w = torch.randn(c.width, cin, 3, 3, generator=g) * (2.0 / (cin * 9)) ** 0.5  # He init keeps scale
            weights.append(w)
            cin = c.width
        for i, w in enumerate(weights):
            self.register_buffer(f"w{i}", w)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images: `[B, in_channels, H, W]` → `[B, 2·width·depth]` float64 features."""
        if images.ndim != 4 or images.shape[1] != self.config.in_channels:
            raise ShapeError(f"RandomFeatureNet: images must be [B, {self.config.in_channels}, H, W]")
        x, feats = images.float(), []
        for i in range(self.config.depth):
            x = F.relu(F.conv2d(x, getattr(self, f"w{i}"), stride=2, padding=1))
            feats += [x.mean(dim=(2, 3)), x.std(dim=(2, 3), unbiased=False)]
        return torch.cat(feats, dim=1).double()


def gaussian_fit(features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean `[D]` and covariance `[D, D]` of `[N, D]` features (N >= 2)."""
    if features.ndim != 2 or features.shape[0] < 2:
        raise ShapeError(f"gaussian_fit: need [N >= 2, D] features, got {tuple(features.shape)}")
    f = features.double().cpu().numpy()
    return f.mean(axis=0), np.cov(f, rowvar=False)


def random_feature_distance(real: torch.Tensor, fake: torch.Tensor, net: RandomFeatureNet | None = None) -> float:
    """RFD between two image sets `[N, C, H, W]` (N >= 2 each; use hundreds for a stable number)."""
    net = net or RandomFeatureNet(RandomFeatureConfig(in_channels=real.shape[1]))
    net = net.to(real.device)
    return frechet_distance(*gaussian_fit(net(real)), *gaussian_fit(net(fake.to(real.device))))


def image_moments(images: torch.Tensor) -> torch.Tensor:
    """`[3C]`: per-channel mean, per-channel std, per-channel mean |spatial gradient| over the set."""
    if images.ndim != 4:
        raise ShapeError(f"image_moments: images must be [N, C, H, W], got {tuple(images.shape)}")
    x = images.double()
    grad = (x[:, :, 1:, :-1] - x[:, :, :-1, :-1]).abs() + (x[:, :, :-1, 1:] - x[:, :, :-1, :-1]).abs()
    return torch.cat([x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3)), grad.mean(dim=(0, 2, 3))])


def moment_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """L2 distance between `image_moments` of two image sets."""
    return float((image_moments(real) - image_moments(fake)).norm())
