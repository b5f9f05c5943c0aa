"""Multi-view training sets held in memory: views, masks, per-view orbit cameras and backgrounds.

Any `neurender-multiview/1` folder serves (`neurender datagen --kind shapes|heads`, `neurender datagen
--from-gan`). Each stored camera becomes four orbit numbers (yaw°, pitch°, roll°, distance) about the
point the set's cameras look at (`camera.look_at_center`), which becomes the canonical frame's origin.

Canonical sets (heads, GAN faces) have a frame the object faces in (+Z), so the network is taught
the labelled camera of its input view. Shape sets are rotated at random, so no image can tell their
azimuth: there the input camera's target is "in front" (yaw = pitch = roll = 0) and the object is
predicted in that viewer-centred frame; the other views follow from the labelled relative poses.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from scenes.errors import DatasetError
from scenes.multiview import MultiviewDataset
from tools.errors import ToolError
from tools.invgraphics.camera import look_at_center, orbit_params

# Kinds with a canonical object frame (the subject faces +Z).
CANONICAL_KINDS = ("heads", "gan")


@dataclass(frozen=True)
class SetSpec:
    """One multi-view folder in a training mix.

    Attributes:
        root: the dataset folder.
        canonical: whether its objects share a facing direction (None: from its kind).
        refine_cameras: refine its camera labels jointly with the network (None: for GAN sets, whose
            views are steered to a requested pose and land near it, not on it).
        holdout: fraction of its samples (the last ones) kept out of training for evaluation.
        repeat: how many times its training samples are listed (weighs a small set up in a mix).
    """

    root: str
    canonical: bool | None = None
    refine_cameras: bool | None = None
    holdout: float = 0.05
    repeat: int = 1


def dataset_kind(ds: MultiviewDataset) -> str:
    """`shapes`, `heads`, `scenes` (data engine) or `gan` (a `datagen --from-gan` set)."""
    s = ds.settings
    if "identities" in s or "generator" in s:
        return "gan"
    return str(s.get("kind", "unknown"))


class MultiviewViews(torch.utils.data.Dataset):
    """Samples of several multi-view sets as tuples of tensors (what `gan2d.train.loop` batches).

    Item: `(index [], images [V, H, W, 3] uint8, masks [V, H, W] uint8, params [V, 4], K [V, 3, 3],
    canonical [] bool, refine [] bool, background [V, 3])`, V = the smallest view count of the sets (>= 3).

    Args:
        specs: the sets.
        split: "train" or "heldout".
        limit: keep at most this many samples per set (None: all).

    Raises:
        ToolError: unreadable sets, fewer than 3 views, image sizes that differ, no samples.
    """

    def __init__(self, specs: Sequence[SetSpec], split: str = "train", limit: int | None = None) -> None:
        if split not in ("train", "heldout"):
            raise ToolError(f"split must be train or heldout, got {split!r}")
        images, masks, params, Ks, canon, refine, names = [], [], [], [], [], [], []
        for spec in specs:
            try:
                ds = MultiviewDataset(spec.root, fields=("image", "mask"))
            except DatasetError as e:
                raise ToolError(str(e)) from e
            n = len(ds)
            cut = n - max(1, round(n * spec.holdout)) if n > 1 else n
            picked = range(cut) if split == "train" else range(cut, n)
            picked = list(picked)[:limit] if limit is not None else list(picked)
            if split == "train":
                picked = picked * max(1, spec.repeat)
            kind = dataset_kind(ds)
            canonical = spec.canonical if spec.canonical is not None else kind in CANONICAL_KINDS
            noisy = spec.refine_cameras if spec.refine_cameras is not None else kind == "gan"
            center = None
            for i in picked:
                s = ds[i]
                if s.masks is None:
                    raise ToolError(f"{spec.root}: sample {s.id} has no masks; training needs them")
                if center is None:
                    center = look_at_center(s.cameras.R, s.cameras.t)
                images.append((s.images * 255).round().to(torch.uint8))
                masks.append((s.masks * 255).round().to(torch.uint8))
                params.append(orbit_params(s.cameras.R, s.cameras.t, center))
                Ks.append(s.cameras.K)
                canon.append(canonical)
                refine.append(noisy)
                names.append(f"{Path(spec.root).name}/{s.id}")
        if not images:
            raise ToolError(f"no {split} samples in {', '.join(s.root for s in specs)}")
        sizes = {tuple(x.shape[1:3]) for x in images}
        views = min(x.shape[0] for x in images)
        if len(sizes) != 1 or views < 3:
            raise ToolError(f"training sets need one image size and >= 3 views; got sizes {sorted(sizes)}, "
                            f"{views} views")
        self.images = torch.stack([x[:views] for x in images])
        self.masks = torch.stack([x[:views] for x in masks])
        self.params = torch.stack([x[:views] for x in params])
        self.K = torch.stack([x[:views] for x in Ks])
        self.canonical = torch.tensor(canon)
        self.refine = torch.tensor(refine)
        self.names = names
        self.background = _backgrounds(self.images, self.masks)

    @property
    def size(self) -> int:
        return self.images.shape[2]

    @property
    def views(self) -> int:
        return self.images.shape[1]

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        return (torch.tensor(i), self.images[i], self.masks[i], self.params[i], self.K[i], self.canonical[i],
                self.refine[i], self.background[i])


def _backgrounds(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """`[N, V, 3]` median color of each view's pixels well outside the object."""
    out = torch.empty(*images.shape[:2], 3)
    for n in range(images.shape[0]):
        for v in range(images.shape[1]):
            bg = masks[n, v] < 13
            pix = images[n, v][bg].float() / 255 if bg.any() else images[n, v].reshape(-1, 3).float() / 255
            out[n, v] = pix.median(0).values
    return out


def as_float(images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 views and masks → float in [0, 1]."""
    return images.float() / 255, masks.float() / 255


def check_roots(roots: Sequence[str | os.PathLike]) -> None:
    """Refuse missing dataset folders before anything is written.

    Raises:
        ToolError: a folder without `dataset.json`.
    """
    for r in roots:
        if not (Path(r) / "dataset.json").is_file():
            raise ToolError(f"{r} is not a multi-view dataset (no dataset.json); make one with `neurender datagen`")
