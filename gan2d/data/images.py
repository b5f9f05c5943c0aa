"""Image-folder and zip datasets yielding `[C, R, R]` float32 images in [-1, 1] plus a label vector.

Images are center-cropped to square and resized to the requested resolution with Lanczos, so any
photo collection can be used as is. Optional labels follow the StyleGAN2-ADA layout: a
`dataset.json` next to the images (or inside the zip) with `{"labels": [["name.png", 3], ...]}`
(class indices, one-hot encoded) or `{"labels": [["name.png", [0.4, -0.1]], ...]}` (continuous
label vectors, used as they are).

Horizontal flip augmentation doubles the dataset (`xflip=True`): index `i + N` is image `i`
mirrored. That keeps augmentation a pure function of the index, which exact resume relies on.
A continuous label may change under the mirror (a mirrored head has the opposite yaw): the entries
listed in `dataset.json`'s optional `"xflip_negate": [0]` are negated on mirrored items.

An optional `"groups": [["name.png", key], ...]` says which images show one object (the views of one
head, say): images with equal keys form a group, which `gan2d.data.view_pairs` draws pairs from.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan2d.errors import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_IMAGE_PIXELS = 8192 * 8192  # a larger header is refused before decoding (decompression bombs)
VERIFY_COUNT = 8


def decode_image(data: bytes, resolution: int, channels: int = 3) -> torch.Tensor:
    """Decode PNG/JPEG bytes to `[channels, resolution, resolution]` float32 in [-1, 1].

    Args:
        data: encoded file contents.
        resolution: output side length.
        channels: 1 (grayscale) or 3 (RGB).

    Returns:
        The center-cropped, Lanczos-resized image.

    Raises:
        ConfigError: the bytes are not a readable image, or one over `MAX_IMAGE_PIXELS`.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_IMAGE_PIXELS:  # checked from the header, before decoding
            raise ConfigError(f"image of {img.width}x{img.height} pixels is over the {MAX_IMAGE_PIXELS:,}-pixel limit")
        img = img.convert("L" if channels == 1 else "RGB")
    except ConfigError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ConfigError(f"image too large to decode safely ({e})") from e
    except Exception as e:  # Pillow signals a corrupt file with many exception types
        raise ConfigError(f"cannot decode image: {e}") from e
    w, h = img.size
    side = min(w, h)
    if (w, h) != (side, side):
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if side != resolution:
        img = img.resize((resolution, resolution), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous() / 127.5 - 1.0


def spread(n: int, count: int) -> list[int]:
    """Up to `count` distinct indices spread evenly over `range(n)`, first and last included.

    Example:
        >>> spread(10, 3), spread(2, 8)
        ([0, 4, 9], [0, 1])
    """
    if n <= count:
        return list(range(n))
    return sorted({(k * (n - 1)) // (count - 1) for k in range(count)}) if count > 1 else [0]


def _labels_from_json(text: str | None, names: list[str]) -> tuple[torch.Tensor | None, tuple[int, ...]]:
    """(labels, xflip_negate): `[N]` long class indices or `[N, D]` float vectors (None = unlabeled)."""
    if text is None:
        return None, ()
    try:
        meta = json.loads(text)
        entries = meta.get("labels")
        negate = meta.get("xflip_negate") or []
    except (json.JSONDecodeError, AttributeError) as e:
        raise ConfigError(f"dataset.json is not valid: {e}") from e
    if entries is None:
        return None, ()
    try:
        table = {str(name).replace("\\", "/"): label for name, label in entries}
    except (TypeError, ValueError) as e:
        raise ConfigError(f"dataset.json labels must be [name, label] pairs: {e}") from e
    missing = [n for n in names if n not in table]
    if missing:
        raise ConfigError(f"dataset.json has no label for {missing[:3]}")
    values = [table[n] for n in names]
    if all(isinstance(v, list) for v in values):
        widths = {len(v) for v in values}
        if len(widths) != 1 or 0 in widths:
            raise ConfigError(f"dataset.json label vectors must all have one non-zero length, got {sorted(widths)}")
        try:
            labels = torch.tensor(values, dtype=torch.float32)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"dataset.json label vectors must hold numbers: {e}") from e
        if not torch.isfinite(labels).all():
            raise ConfigError("dataset.json label vectors must be finite")
        width = labels.shape[1]
        if not isinstance(negate, list) or not all(isinstance(i, int) and 0 <= i < width for i in negate):
            raise ConfigError(f"dataset.json xflip_negate must list label entries in [0, {width}), got {negate!r}")
        return labels, tuple(sorted(set(negate)))
    if negate:
        raise ConfigError("dataset.json xflip_negate needs continuous (list) labels, not class indices")
    try:
        return torch.tensor([int(v) for v in values], dtype=torch.long), ()
    except (TypeError, ValueError) as e:
        raise ConfigError(f"dataset.json labels must be all class indices or all lists of numbers: {e}") from e


def _groups_from_json(text: str | None, names: list[str]) -> list[int] | None:
    """`[N]` group index per image (first appearance order of the keys), or None without `"groups"`."""
    if text is None:
        return None
    entries = json.loads(text).get("groups")
    if entries is None:
        return None
    try:
        table = {str(name).replace("\\", "/"): json.dumps(key) for name, key in entries}
    except (TypeError, ValueError) as e:
        raise ConfigError(f"dataset.json groups must be [name, key] pairs: {e}") from e
    missing = [n for n in names if n not in table]
    if missing:
        raise ConfigError(f"dataset.json has no group for {missing[:3]}")
    index: dict[str, int] = {}
    return [index.setdefault(table[n], len(index)) for n in names]


class ImageDataset(torch.utils.data.Dataset, ABC):
    """Base class: an indexed list of encoded images. Items are `(image [C, R, R], label [c_dim])`.

    The label is one-hot over the classes in `dataset.json`, the image's continuous label vector
    (its `xflip_negate` entries negated on mirrored items), or an empty `[0]` vector when there are
    no labels (so unconditional and conditional training share one code path). `groups` is the
    `[N]` group index of each source image from `dataset.json`'s `"groups"`, or None.
    """

    def __init__(self, names: list[str], resolution: int, channels: int, xflip: bool, label_json: str | None) -> None:
        if resolution < 4 or resolution & (resolution - 1):
            raise ConfigError(f"resolution must be a power of two >= 4, got {resolution}")
        if channels not in (1, 3):
            raise ConfigError(f"channels must be 1 or 3, got {channels}")
        if not names:
            raise ConfigError("dataset holds no PNG/JPEG images")
        self.names = names
        self.resolution = resolution
        self.channels = channels
        self.xflip = xflip
        labels, self.xflip_negate = _labels_from_json(label_json, names)
        self.groups = _groups_from_json(label_json, names)
        self._labels = labels
        if labels is None:
            self.c_dim = 0
        elif labels.is_floating_point():
            self.c_dim = labels.shape[1]
        else:
            self.c_dim = int(labels.max().item()) + 1

    @abstractmethod
    def _read(self, name: str) -> bytes:
        """The encoded bytes of image `name`."""

    @property
    def num_images(self) -> int:
        """Distinct source images (the length before flip doubling)."""
        return len(self.names)

    def __len__(self) -> int:
        return 2 * len(self.names) if self.xflip else len(self.names)

    @property
    def continuous(self) -> bool:
        """Labels are continuous vectors (not classes)."""
        return self._labels is not None and self._labels.is_floating_point()

    def label(self, index: int) -> torch.Tensor:
        """`[c_dim]` label of item `index`: one-hot, a continuous vector (mirror-corrected), or empty."""
        n = len(self.names)
        if self.continuous:
            c = self._labels[index % n].clone()
            if index >= n and self.xflip_negate:
                c[list(self.xflip_negate)] *= -1
            return c
        c = torch.zeros(self.c_dim)
        if self._labels is not None:
            c[self._labels[index % n]] = 1.0
        return c

    def image(self, i: int) -> torch.Tensor:
        """`[C, R, R]` source image `i` (no flip).

        Raises:
            ConfigError: naming the file, when it cannot be decoded.
        """
        try:
            return decode_image(self._read(self.names[i]), self.resolution, self.channels)
        except ConfigError as e:
            raise ConfigError(f"{self.names[i]}: {e}") from e

    def verify(self, count: int = VERIFY_COUNT) -> None:
        """Decode `count` images spread over the dataset, so that a folder of non-images fails at once.

        Raises:
            ConfigError: naming the first image that cannot be decoded.
        """
        for i in spread(len(self.names), count):
            self.image(i)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self.names)
        img = self.image(index % n)
        if index >= n:
            img = img.flip(-1)
        return img, self.label(index)


class ImageFolderDataset(ImageDataset):
    """All PNG/JPEG files under `root` (recursively, sorted by relative path).

    Example:
        >>> import tempfile
        >>> from gan2d.data.toy import write_disc_folder
        >>> root = write_disc_folder(Path(tempfile.mkdtemp()) / "discs", 3, 16)
        >>> ds = ImageFolderDataset(root, resolution=8, xflip=True)
        >>> img, c = ds[4]  # image 1, mirrored
        >>> len(ds), tuple(img.shape), tuple(c.shape)
        (6, (3, 8, 8), (0,))
    """

    def __init__(self, root: str | Path, resolution: int, channels: int = 3, xflip: bool = False) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ConfigError(f"image folder not found: {self.root}")
        names = sorted(
            p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
        )
        meta = self.root / "dataset.json"
        super().__init__(names, resolution, channels, xflip, meta.read_text() if meta.is_file() else None)

    def _read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()


class ZipImageDataset(ImageDataset):
    """All PNG/JPEG members of a zip archive. The archive is opened lazily per process (DataLoader workers)."""

    def __init__(self, path: str | Path, resolution: int, channels: int = 3, xflip: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"zip dataset not found: {self.path}")
        self._zip: zipfile.ZipFile | None = None
        try:
            with zipfile.ZipFile(self.path) as zf:
                members = zf.namelist()
                names = sorted(m for m in members if Path(m).suffix.lower() in IMAGE_SUFFIXES)
                meta = zf.read("dataset.json").decode() if "dataset.json" in members else None
        except zipfile.BadZipFile as e:
            raise ConfigError(f"{self.path} is not a zip file: {e}") from e
        super().__init__(names, resolution, channels, xflip, meta)

    def _read(self, name: str) -> bytes:
        if self._zip is None:
            self._zip = zipfile.ZipFile(self.path)
        return self._zip.read(name)

    def __getstate__(self) -> dict:
        # An open ZipFile cannot cross into worker processes; each worker reopens it.
        return {**self.__dict__, "_zip": None}


def open_image_dataset(path: str | Path, resolution: int, channels: int = 3, xflip: bool = False) -> ImageDataset:
    """A folder or `.zip` of images as an `ImageDataset`.

    Raises:
        ConfigError: the path does not exist or holds no images.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        return ZipImageDataset(path, resolution, channels, xflip)
    return ImageFolderDataset(path, resolution, channels, xflip)
