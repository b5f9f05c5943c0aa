"""The head analyzer: one small gan2d encoder that reads a head image's pose, face score and identity.

Three heads share one `gan2d.nets.regressor.MultiHeadEncoder` trunk (one forward pass serves all):

- `pose`: yaw and pitch in degrees, in the data engine's convention (yaw = camera azimuth about +Y
  toward +X with the subject facing +Z, pitch = elevation). Its held-out error on ground-truth renders
  is the noise floor of every pose number the faces job reports.
- `face`: a logit, > 0 when the image shows a head (trained against data-engine shapes and scenes,
  photos without people and plain backgrounds); `--from-photo` refuses images without a face.
- `identity`: the head's shape and appearance codes (`HeadParams.shape_code()` +
  `appearance_code()`), standardized over the training set. The identity descriptor is their
  projection onto the `identity_projection` directions: a linear discriminant analysis of the codes
  predicted for several views of each training head (the directions along which different heads
  differ most relative to how one head's views differ), so that a descriptor reads the same head the
  same from any side and ignores the codes the encoder cannot read at this resolution.

With `flip_test` on (the shipped analyzer), every reading averages the image and its mirror image, as
face verification does: the mirror shows the same head at the negated yaw (the procedural head is
left-right symmetric), so the view-dependent error of the codes that is odd in yaw cancels and a view
and its mirror read the same identity and mirrored poses exactly. Training runs without it.

Images are gan2d images `[B, 3, H, W]` in [-1, 1]; other sizes are resampled to the encoder's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gan2d.checkpoint import load_checkpoint, save_checkpoint
from gan2d.errors import CheckpointError, ConfigError, ShapeError
from gan2d.nets.regressor import MultiHeadEncoder, MultiHeadEncoderConfig

KIND = "faces.head_analyzer"
CODE_DIM = 24  # 14 shape + 10 appearance values (scenes.assets.head_params)


def analyzer_config(resolution: int = 64, base_channels: int = 16, max_channels: int = 128) -> MultiHeadEncoderConfig:
    """The encoder of a head analyzer: heads `pose` (2), `face` (1), `identity` (CODE_DIM)."""
    return MultiHeadEncoderConfig(heads=(("pose", 2), ("face", 1), ("identity", CODE_DIM)), resolution=resolution,
                                  base_channels=base_channels, max_channels=max_channels, norm="batch")


class HeadAnalyzer(nn.Module):
    """Pose (degrees), face logit and identity descriptor of head images.

    Args:
        encoder: the multi-head encoder (heads `pose`, `face`, `identity`).
        pose_scale: degrees of (yaw, pitch) per unit of the `pose` head (targets are degrees / scale).
        code_mean, code_std: `[CODE_DIM]` standardization of the identity codes.
        identity_projection: `[CODE_DIM, K]` descriptor directions (default: all codes, K = CODE_DIM).
        flip_test: average every reading over the image and its mirror (yaw negated on the mirror).

    Example:
        >>> a = HeadAnalyzer(MultiHeadEncoder(analyzer_config(resolution=16))).eval()
        >>> a.pose(torch.zeros(2, 3, 16, 16)).shape
        torch.Size([2, 2])
    """

    def __init__(self, encoder: MultiHeadEncoder, pose_scale: tuple[float, float] = (60.0, 30.0),
                 code_mean: torch.Tensor | None = None, code_std: torch.Tensor | None = None,
                 identity_projection: torch.Tensor | None = None, flip_test: bool = False) -> None:
        super().__init__()
        heads = dict(encoder.config.heads)
        if heads != {"pose": 2, "face": 1, "identity": CODE_DIM}:
            raise ConfigError(f"a head analyzer needs heads pose:2, face:1, identity:{CODE_DIM}, got {heads}")
        self.encoder = encoder
        self.pose_scale = (float(pose_scale[0]), float(pose_scale[1]))
        self.register_buffer("code_mean", torch.zeros(CODE_DIM) if code_mean is None else code_mean.float())
        self.register_buffer("code_std", torch.ones(CODE_DIM) if code_std is None else code_std.float())
        proj = torch.eye(CODE_DIM) if identity_projection is None else identity_projection.float()
        if proj.ndim != 2 or proj.shape[0] != CODE_DIM:
            raise ConfigError(f"identity_projection must be [{CODE_DIM}, K], got {tuple(proj.shape)}")
        self.register_buffer("identity_projection", proj)
        self.flip_test = bool(flip_test)

    @property
    def resolution(self) -> int:
        """Input side the encoder runs at."""
        return self.encoder.config.resolution

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """`[B, 3, H, W]` in [-1, 1] → `[B, 3, R, R]` at the encoder's resolution (area-resampled)."""
        if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
            raise ShapeError(f"head analyzer needs square RGB images [B, 3, S, S], got {tuple(images.shape)}")
        r = self.resolution
        images = images.to(self.code_mean.dtype)
        if images.shape[-1] > r:
            return F.interpolate(images, size=(r, r), mode="area")
        if images.shape[-1] < r:
            return F.interpolate(images, size=(r, r), mode="bilinear", align_corners=False)
        return images

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw heads on prepared images: {"pose": [B, 2] scaled, "face": [B, 1], "identity": [B, CODE_DIM]}
        (with `flip_test`, the mean of the image's and its mirror's heads, the mirror's yaw negated)."""
        x = self.prepare(images)
        if not self.flip_test:
            return self.encoder(x)
        both = self.encoder(torch.cat([x, x.flip(-1)]))
        b = len(x)
        mirror = torch.tensor([-1.0, 1.0], device=x.device, dtype=x.dtype)
        return {"pose": 0.5 * (both["pose"][:b] + both["pose"][b:] * mirror),
                "face": 0.5 * (both["face"][:b] + both["face"][b:]),
                "identity": 0.5 * (both["identity"][:b] + both["identity"][b:])}

    def analyze(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"pose": `[B, 2]` (yaw, pitch) degrees, "face": `[B]` probability, "identity": `[B, K]` descriptors,
        "codes": `[B, CODE_DIM]` standardized codes}."""
        out = self(images)
        scale = torch.tensor(self.pose_scale, device=images.device)
        return {"pose": out["pose"] * scale, "face": torch.sigmoid(out["face"][:, 0]),
                "identity": out["identity"] @ self.identity_projection, "codes": out["identity"]}

    def pose(self, images: torch.Tensor) -> torch.Tensor:
        """`[B, 2]` estimated (yaw, pitch) in degrees."""
        return self.analyze(images)["pose"]

    def identity(self, images: torch.Tensor) -> torch.Tensor:
        """`[B, K]` identity descriptors (projected standardized shape + appearance codes)."""
        return self(images)["identity"] @ self.identity_projection

    def codes(self, images: torch.Tensor) -> torch.Tensor:
        """`[B, CODE_DIM]` estimated head codes in their own units (shape fields, then colors)."""
        return self(images)["identity"] * self.code_std + self.code_mean

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """`[B, feature_dim]` shared trunk features (the embedding of the analyzer Fréchet distance)."""
        return self.encoder.features(self.prepare(images))

    def to_config(self) -> dict[str, Any]:
        """JSON config that rebuilds this analyzer (weights aside)."""
        return {"encoder": self.encoder.config.to_dict(), "pose_scale": list(self.pose_scale),
                "identity_dim": int(self.identity_projection.shape[1]), "flip_test": self.flip_test}


def save_analyzer(path: str | os.PathLike, analyzer: HeadAnalyzer, extra: dict[str, Any] | None = None) -> Path:
    """Write the analyzer as a gan2d checkpoint (safetensors + JSON header), atomically."""
    return save_checkpoint(path, KIND, analyzer.to_config(), analyzer.state_dict(), extra)


def load_analyzer(path: str | os.PathLike) -> tuple[HeadAnalyzer, dict[str, Any]]:
    """Load an analyzer (eval mode) and its checkpoint extras (training data, scores).

    Raises:
        CheckpointError: missing or corrupt file, another kind of checkpoint, or weights that do not fit.
    """
    kind, config, state, extra = load_checkpoint(path)
    if kind != KIND:
        raise CheckpointError(f"{path} holds a {kind!r} checkpoint, not a head analyzer")
    try:
        encoder = MultiHeadEncoder(MultiHeadEncoderConfig.from_dict(config["encoder"]))
        k = int(config.get("identity_dim", CODE_DIM))
        analyzer = HeadAnalyzer(encoder, tuple(config["pose_scale"]), identity_projection=torch.zeros(CODE_DIM, k),
                                flip_test=bool(config.get("flip_test", False)))
        analyzer.load_state_dict(state, strict=True)
    except (KeyError, TypeError, ConfigError, RuntimeError) as e:
        raise CheckpointError(f"{path}: head analyzer weights do not fit their config ({e})") from e
    return analyzer.eval(), extra
