"""Explicit, JSON-round-trippable configurations of the StyleGAN2 generator and discriminator."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from gan2d.errors import ConfigError

MIN_RESOLUTION = 4
MAX_RESOLUTION = 1024


def _check_resolution(res: int) -> None:
    if not (MIN_RESOLUTION <= res <= MAX_RESOLUTION) or res & (res - 1):
        raise ConfigError(f"img_resolution must be a power of two in [{MIN_RESOLUTION}, {MAX_RESOLUTION}], got {res}")


def channels_at(res: int, channel_base: int, channel_max: int) -> int:
    """Feature channels at resolution `res`: `min(channel_base // res, channel_max)` as in StyleGAN2."""
    return min(channel_base // res, channel_max)


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} fields: {unknown}")
    values = dict(data)
    if "resample_taps" in values:
        values["resample_taps"] = tuple(float(t) for t in values["resample_taps"])
    return cls(**values)


@dataclass(frozen=True)
class GeneratorConfig:
    """StyleGAN2 generator (mapping + skip-architecture synthesis) hyper-parameters.

    Attributes:
        img_resolution: Output size, a power of two in [4, 1024].
        z_dim: Latent z width (0 = no latent input, conditional only).
        c_dim: Class-label width (0 = unconditional).
        w_dim: Intermediate latent w width.
        img_channels: Output image channels.
        mapping_layers: Fully connected layers in the mapping network.
        mapping_lr_multiplier: Learning-rate multiplier of the mapping layers.
        embed_features: Width of the label embedding (None = w_dim).
        layer_features: Width of hidden mapping layers (None = w_dim).
        w_avg_beta: Decay of the tracked w average (None = do not track; truncation then impossible).
        channel_base: Channels at resolution r are min(channel_base // r, channel_max).
        channel_max: Upper bound on channels.
        conv_clamp: Clamp every conv output to +-conv_clamp (StyleGAN2-ADA uses 256); None disables.
        use_noise: Synthesis layers get noise inputs.
        resample_taps: 1D FIR taps used for up/downsampling.
        fused_modconv: Fused (grouped) modulated conv; None = fused in eval, activation-scaling in training.
        view_layers: 0 = the label conditions the one mapping of every style (StyleGAN2-ADA). k > 0 = a view
            label (e.g. a camera pose): every style comes from the label-free mapping of z, and the label moves
            only the first k of them (`ViewConditionedMapping`), so it cannot change the later layers at all.
    """

    img_resolution: int = 256
    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_channels: int = 3
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    embed_features: int | None = None
    layer_features: int | None = None
    w_avg_beta: float | None = 0.995
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: float | None = None
    use_noise: bool = True
    resample_taps: tuple[float, ...] = field(default=(1.0, 3.0, 3.0, 1.0))
    fused_modconv: bool | None = None
    view_layers: int = 0

    def __post_init__(self) -> None:
        _check_resolution(self.img_resolution)
        if self.z_dim < 0 or self.c_dim < 0 or self.z_dim + self.c_dim == 0:
            raise ConfigError(f"need z_dim > 0 or c_dim > 0 (both >= 0), got z_dim={self.z_dim}, c_dim={self.c_dim}")
        if self.view_layers and not (self.z_dim > 0 and self.c_dim > 0 and 0 < self.view_layers <= self.num_ws):
            raise ConfigError(f"view_layers={self.view_layers} needs z_dim > 0, c_dim > 0 and at most num_ws="
                              f"{self.num_ws} layers")
        if self.w_dim <= 0 or self.img_channels <= 0 or self.mapping_layers <= 0:
            raise ConfigError("w_dim, img_channels and mapping_layers must be positive")
        if self.channel_max <= 0 or channels_at(self.img_resolution, self.channel_base, self.channel_max) <= 0:
            raise ConfigError(f"channel_base={self.channel_base} gives no channels at {self.img_resolution}px")

    @property
    def num_ws(self) -> int:
        """Number of per-layer styles: two per block (one for the 4x4 block) plus the last ToRGB."""
        return 2 * (self.img_resolution.bit_length() - 1) - 2

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (`view_layers` only when set: existing runs' and checkpoints' configs stay as they were)."""
        d = {**dataclasses.asdict(self), "resample_taps": list(self.resample_taps)}
        if not self.view_layers:
            del d["view_layers"]
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratorConfig:
        """Inverse of `to_dict`; unknown keys raise `ConfigError`."""
        return _from_dict(cls, data)


@dataclass(frozen=True)
class DiscriminatorConfig:
    """StyleGAN2 residual discriminator hyper-parameters.

    Attributes:
        img_resolution: Input size, a power of two in [4, 1024].
        c_dim: Class-label width (0 = unconditional; >0 adds projection conditioning via a label mapping).
        img_channels: Input image channels.
        channel_base: Channels at resolution r are min(channel_base // r, channel_max).
        channel_max: Upper bound on channels.
        conv_clamp: Clamp conv outputs to +-conv_clamp; None disables.
        cmap_dim: Width of the mapped label (None = channels at 4x4).
        mbstd_group_size: Minibatch-stddev group size (None = whole batch).
        mbstd_num_channels: Minibatch-stddev channels (0 disables the layer).
        mapping_layers: Layers of the label mapping network (conditional only).
        mapping_lr_multiplier: Learning-rate multiplier of the label mapping.
        resample_taps: 1D FIR taps used for downsampling.
    """

    img_resolution: int = 256
    c_dim: int = 0
    img_channels: int = 3
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: float | None = None
    cmap_dim: int | None = None
    mbstd_group_size: int | None = 4
    mbstd_num_channels: int = 1
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    resample_taps: tuple[float, ...] = field(default=(1.0, 3.0, 3.0, 1.0))

    def __post_init__(self) -> None:
        _check_resolution(self.img_resolution)
        if self.c_dim < 0 or self.img_channels <= 0 or self.mbstd_num_channels < 0:
            raise ConfigError("c_dim and mbstd_num_channels must be >= 0 and img_channels > 0")
        if self.channel_max <= 0 or channels_at(self.img_resolution, self.channel_base, self.channel_max) <= 0:
            raise ConfigError(f"channel_base={self.channel_base} gives no channels at {self.img_resolution}px")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {**dataclasses.asdict(self), "resample_taps": list(self.resample_taps)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiscriminatorConfig:
        """Inverse of `to_dict`; unknown keys raise `ConfigError`."""
        return _from_dict(cls, data)
