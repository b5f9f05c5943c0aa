"""Pairs of views of one object: what a view-pair discriminator learns multi-view consistency from.

An `ImageDataset` whose `dataset.json` has `"groups"` (the views of one head share a key) becomes a
dataset of pairs: item `i` is item `i` of the base set together with the next view of its group
(cyclically, in file order), both mirrored when item `i` is (labels mirror-corrected as the base set
does it). The partner is a pure function of the index, so exact resume still holds; every view is
the first of one pair and the second of another.
"""

from __future__ import annotations

import torch

from gan2d.data.images import ImageDataset
from gan2d.errors import ConfigError


class ViewPairDataset(torch.utils.data.Dataset):
    """Items `(image_a [C, R, R], label_a [c_dim], image_b, label_b)`: two views of one object.

    Args:
        base: a dataset with `groups`, every group at least two images.

    Raises:
        ConfigError: the base set has no groups or a group of one image.
    """

    def __init__(self, base: ImageDataset) -> None:
        if base.groups is None:
            raise ConfigError("view pairs need a dataset.json with \"groups\" (which images show one object)")
        members: dict[int, list[int]] = {}
        for i, g in enumerate(base.groups):
            members.setdefault(g, []).append(i)
        lonely = [base.names[m[0]] for m in members.values() if len(m) < 2]
        if lonely:
            raise ConfigError(f"view pairs need two or more images per group; {lonely[:3]} are alone in theirs")
        self.base = base
        self.partner = [0] * base.num_images
        for m in members.values():
            for k, i in enumerate(m):
                self.partner[i] = m[(k + 1) % len(m)]

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        n = self.base.num_images
        mirrored = index >= n
        other = self.partner[index % n] + (n if mirrored else 0)
        return (*self.base[index], *self.base[other])
