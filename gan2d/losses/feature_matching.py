"""Discriminator feature matching (pix2pixHD): L1 between D's intermediate features on real and fake inputs."""

from __future__ import annotations

import torch

from gan2d.errors import ShapeError


def feature_matching_loss(
    fake_features: list[list[torch.Tensor]],
    real_features: list[list[torch.Tensor]],
    include_last: bool = False,
) -> torch.Tensor:
    """Mean over scales of the summed per-layer L1 distances between fake and real features.

    Real features are detached: the loss trains the generator only.

    Args:
        fake_features: per discriminator scale, the list of that scale's layer outputs on fakes
            (as returned by `MultiScalePatchGAN`); the last entry of each list is the logit map.
        real_features: the same structure on real inputs.
        include_last: whether to match the final logit map too (pix2pixHD does not).

    Returns:
        Scalar loss: `(1/S) Σ_s Σ_l mean|fake_sl - real_sl|`.

    Raises:
        ShapeError: if the two structures do not line up.

    Example:
        >>> f = [[torch.ones(1, 2, 4, 4), torch.zeros(1, 1, 4, 4)]]
        >>> r = [[torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 4, 4)]]
        >>> feature_matching_loss(f, r)
        tensor(1.)
    """
    if len(fake_features) != len(real_features) or not fake_features:
        raise ShapeError(f"feature_matching_loss: {len(fake_features)} fake vs {len(real_features)} real scales")
    total = fake_features[0][0].new_zeros(())
    for fake_scale, real_scale in zip(fake_features, real_features, strict=True):
        if len(fake_scale) != len(real_scale):
            raise ShapeError(f"feature_matching_loss: {len(fake_scale)} fake vs {len(real_scale)} real layers")
        layers = range(len(fake_scale)) if include_last else range(len(fake_scale) - 1)
        for i in layers:
            fake, real = fake_scale[i], real_scale[i]
            if fake.shape != real.shape:
                raise ShapeError(f"feature_matching_loss: layer {i} shapes {tuple(fake.shape)} vs {tuple(real.shape)}")
            total = total + (fake - real.detach()).abs().mean()
    return total / len(fake_features)
