"""Pose readers: what measures the pose (and identity) of generated images for pose control.

A reader maps gan2d images `[B, 3, H, W]` in [-1, 1] to a `Reading`: `pose` `[B, 2]` (yaw, pitch) in
degrees in the data engine's convention, and optionally `identity` `[B, K]` descriptors. The head
analyzer is the reader of the embedded generator; the landmark reader (`tools.faces.landmarks`) reads
real faces, e.g. from an official FFHQ generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from tools.faces.analyzer import HeadAnalyzer


@dataclass(frozen=True)
class Reading:
    """Measured pose `[B, 2]` degrees, identity descriptors `[B, K]` (None when the reader has none)."""

    pose: torch.Tensor
    identity: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.pose.shape[0]


Reader = Callable[[torch.Tensor], Reading]


def analyzer_reader(analyzer: HeadAnalyzer) -> Reader:
    """A reader backed by the head analyzer (pose and identity in one forward pass)."""

    @torch.no_grad()
    def read(images: torch.Tensor) -> Reading:
        out = analyzer.analyze(images)
        return Reading(out["pose"], out["identity"])

    return read


@torch.no_grad()
def read_batched(reader: Reader, images: torch.Tensor, batch: int = 128) -> Reading:
    """Apply `reader` in chunks of `batch` images."""
    parts = [reader(images[k:k + batch]) for k in range(0, len(images), batch)]
    ident = None if parts[0].identity is None else torch.cat([p.identity for p in parts])
    return Reading(torch.cat([p.pose for p in parts]), ident)


def appearance_proxy(images: torch.Tensor) -> torch.Tensor:
    """`[B, 6]` per-channel mean and std of the central half of the image: a crude identity stand-in.

    Used by camera-layer discovery when the reader gives no identity descriptor (e.g. landmarks on an
    FFHQ generator): swapping view layers should leave skin and hair colors alone.
    """
    s = images.shape[-1]
    c = images[..., s // 4:3 * s // 4, s // 4:3 * s // 4].flatten(2)
    return torch.cat([c.mean(-1), c.std(-1)], dim=1)
