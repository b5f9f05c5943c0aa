"""Paired folders for refiner training: `root/input/NAME` ↔ `root/target/NAME`.

Inputs are what the refiner sees (a coarse render, or G-buffers): PNG/JPEG (→ [-1, 1]) or `.npy`
arrays `[H, W, C]` used as stored (depth, normals, masks, any channel count). Targets are images.
Pairs are matched by file stem. Flip augmentation mirrors input and target together.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gan2d.data.images import IMAGE_SUFFIXES, VERIFY_COUNT, decode_image, spread
from gan2d.errors import ConfigError

INPUT_SUFFIXES = (*IMAGE_SUFFIXES, ".npy")


def _decode(path: Path, resolution: int) -> torch.Tensor:
    try:
        return decode_image(path.read_bytes(), resolution)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e


def load_input_map(path: Path, resolution: int) -> torch.Tensor:
    """`[C, R, R]` float32 from an image (→ [-1, 1]) or an `[H, W(, C)]` `.npy` (values kept, bilinear resize).

    Raises:
        ConfigError: naming the file, when it is not a readable image or array of that layout.
    """
    if path.suffix.lower() != ".npy":
        return _decode(path, resolution)
    try:
        arr = np.load(path, allow_pickle=False).astype(np.float32)
    except (ValueError, OSError, EOFError) as e:
        raise ConfigError(f"{path}: not a readable .npy array ({e})") from e
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ConfigError(f"{path}: .npy inputs must be [H, W] or [H, W, C], got shape {arr.shape}")
    t = torch.from_numpy(arr).permute(2, 0, 1)
    if t.shape[1:] != (resolution, resolution):
        t = F.interpolate(t[None], size=(resolution, resolution), mode="bilinear", align_corners=False)[0]
    return t.contiguous()


class PairedFolderDataset(torch.utils.data.Dataset):
    """Items are `(input [C_in, R, R], target [3, R, R])`.

    Args:
        root: folder with `input/` and `target/` subfolders.
        resolution: output side length.
        xflip: double the dataset with mirrored pairs.

    Raises:
        ConfigError: missing folders, no pairs, or inputs with differing channel counts.
    """

    def __init__(self, root: str | Path, resolution: int, xflip: bool = False) -> None:
        self.root = Path(root)
        in_dir, tgt_dir = self.root / "input", self.root / "target"
        if not in_dir.is_dir() or not tgt_dir.is_dir():
            raise ConfigError(f"paired dataset {self.root} needs 'input/' and 'target/' subfolders")
        inputs = {p.stem: p for p in sorted(in_dir.iterdir()) if p.suffix.lower() in INPUT_SUFFIXES}
        targets = {p.stem: p for p in sorted(tgt_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
        self.stems = sorted(set(inputs) & set(targets))
        if not self.stems:
            raise ConfigError(f"paired dataset {self.root}: no input/target files share a name")
        self.inputs = [inputs[s] for s in self.stems]
        self.targets = [targets[s] for s in self.stems]
        self.resolution = resolution
        self.xflip = xflip
        self.input_channels = load_input_map(self.inputs[0], resolution).shape[0]

    @property
    def num_pairs(self) -> int:
        """Distinct pairs (the length before flip doubling)."""
        return len(self.stems)

    def __len__(self) -> int:
        return 2 * len(self.stems) if self.xflip else len(self.stems)

    def pair(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Source pair `i` (no flip).

        Raises:
            ConfigError: naming the file that cannot be read or has another channel count.
        """
        x = load_input_map(self.inputs[i], self.resolution)
        if x.shape[0] != self.input_channels:
            raise ConfigError(f"{self.inputs[i]} has {x.shape[0]} channels, other inputs have {self.input_channels}")
        return x, _decode(self.targets[i], self.resolution)

    def verify(self, count: int = VERIFY_COUNT) -> None:
        """Read `count` pairs spread over the dataset, so that a folder of non-images fails at once.

        Raises:
            ConfigError: naming the first file that cannot be read.
        """
        for i in spread(len(self.stems), count):
            self.pair(i)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self.stems)
        x, y = self.pair(index % n)
        if index >= n:
            x, y = x.flip(-1), y.flip(-1)
        return x, y
