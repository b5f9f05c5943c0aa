"""The `neurender-multiview/1` dataset layout: writing sample folders and the index, reading them
back as tensors and render3d `Cameras`. The layout is described in `scenes/DATASET.md`.

Writers (`write_views`, `write_index`) are what `neurender datagen` uses and what any other
producer of multi-view sets (e.g. a GAN rendering one identity from many poses) should use, so
that one reader serves them all. Required per sample: `image_NNN.png`, `cameras.json` and
`params.json` with one pose per view; masks, depth, normals and the mesh are optional.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from render3d.cameras import Cameras
from render3d.errors import ImageIOError, ShapeError
from render3d.io import save_npy, save_png
from render3d.io.images import read_image
from scenes.errors import DatasetError
from scenes.fileio import load_scene
from scenes.outputs import cameras_json, write_json
from scenes.schema import SceneSpec

FORMAT = "neurender-multiview/1"
FIELDS: tuple[str, ...] = ("image", "mask", "depth", "normals")
CONVENTIONS = {
    "camera": "OpenCV: x right, y down, z forward; K in pixels; x_cam = R x_world + t",
    "world": "right-handed, +Y up; the subject faces +Z",
    "pose": "yaw = camera azimuth about +Y toward +X, pitch = elevation, roll = clockwise image rotation; degrees",
    "mask": "white = object", "depth": "camera z, 0 = background", "normals": "world normals as (n + 1) / 2",
}


def sample_name(index: int) -> str:
    """The folder name of sample `index` (`000042`)."""
    return f"{index:06d}"


def write_views(folder: str | os.PathLike, rgb: torch.Tensor, cameras: Cameras, mask: torch.Tensor | None = None,
                depth: torch.Tensor | None = None, normals: torch.Tensor | None = None) -> None:
    """Write the per-view files of one sample into `folder` (a temporary folder the caller renames).

    Args:
        rgb: `[V, H, W, 3]` in [0, 1].
        cameras: the V cameras (`cameras.json`).
        mask: `[V, H, W]` in [0, 1], or None.
        depth: `[V, H, W]` camera z, 0 on the background, or None.
        normals: `[V, H, W, 3]` unit world normals (0 on the background), or None.
    """
    folder = Path(folder)
    for v in range(rgb.shape[0]):
        save_png(folder / f"image_{v:03d}.png", rgb[v])
        if mask is not None:
            save_png(folder / f"mask_{v:03d}.png", mask[v])
        if depth is not None:
            save_npy(folder / f"depth_{v:03d}.npy", depth[v].float())
        if normals is not None:
            covered = (normals[v].abs().sum(-1, keepdim=True) > 0).to(normals.dtype)
            save_png(folder / f"normals_{v:03d}.png", (normals[v] + 1) / 2 * covered)
    write_json(folder / "cameras.json", {"views": cameras_json(cameras)})


def _link(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def write_index(out: str | os.PathLike, settings: dict[str, Any], count: int,
                failed: Sequence[dict[str, Any]] = ()) -> dict:
    """Write `dataset.json` for the finished samples among indices `0..count-1`, and the gan2d
    image folder `images/` (`<id>_<view>.png` links and a `dataset.json` of poses).

    Args:
        out: the dataset folder.
        settings: what produced it (recorded; a resumed run must match them).
        count: the number of samples the dataset is meant to hold.
        failed: samples that raised, as `{"id", "index", "seed", "error"}`.

    Returns:
        The index as written.
    """
    out = Path(out)
    samples, poses = [], []
    images = out / "images"
    images.mkdir(exist_ok=True)
    for i in range(count):
        folder = out / "samples" / sample_name(i)
        if not folder.is_dir():
            continue
        params = json.loads((folder / "params.json").read_text())
        samples.append({"id": sample_name(i), "dir": f"samples/{sample_name(i)}", "mesh": params.get("mesh"),
                        "views": params["views"]})
        for v, pose in enumerate(params["views"]):
            name = f"{sample_name(i)}_{v:02d}.png"
            _link(folder / f"image_{v:03d}.png", images / name)
            poses.append([name, [pose["yaw_deg"], pose["pitch_deg"], pose["roll_deg"]]])
    write_json(images / "dataset.json", {"labels": None, "poses": poses})
    index = {"format": FORMAT, "settings": settings, "complete": len(samples) == count, "count": count,
             "conventions": CONVENTIONS, "samples": samples, "failed": list(failed)}
    write_json(out / "dataset.json", index)
    return index


@dataclass(frozen=True)
class MultiviewSample:
    """One sample of V views of H×W pixels, as stored.

    Attributes:
        id: the folder name.
        images: `[V, H, W, 3]` float32 in [0, 1] (None when not requested).
        masks: `[V, H, W]` float32 in [0, 1], or None (not requested or not stored).
        depth: `[V, H, W]` float32 camera z, 0 on the background, or None.
        normals: `[V, H, W, 3]` float32 unit world normals, 0 on the background, or None.
        cameras: the V cameras, usable by render3d renderers as they are.
        poses: `[V, 3]` float32 (yaw, pitch, roll) in degrees.
        shape_code: `[S]` float32 (heads: the head's shape parameters; shapes: type and size).
        appearance_code: `[A]` float32 (heads: skin/eye/hair colors; shapes: base colors).
        mesh: path of the ground-truth mesh in the cameras' world frame, or None.
        params: the whole `params.json` (seed, assets, anything a producer recorded).
    """

    id: str
    images: torch.Tensor | None
    masks: torch.Tensor | None
    depth: torch.Tensor | None
    normals: torch.Tensor | None
    cameras: Cameras
    poses: torch.Tensor
    shape_code: torch.Tensor
    appearance_code: torch.Tensor
    mesh: Path | None
    params: dict[str, Any]


def _png(path: Path, gray: bool) -> torch.Tensor:
    try:
        im = read_image(path)
    except ImageIOError as e:
        raise DatasetError(str(e)) from None
    a = np.asarray(im.convert("L" if gray else "RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(a.copy())


def read_cameras(path: str | os.PathLike) -> Cameras:
    """`cameras.json` (as `neurender render` and `datagen` write it) → render3d `Cameras`.

    Raises:
        DatasetError: unreadable file, missing keys, or views of different sizes.
    """
    path = Path(path)
    try:
        views = json.loads(path.read_text())["views"]
        K, R, t = (torch.tensor([v[k] for v in views], dtype=torch.float32) for k in ("K", "R", "t"))
        sizes = sorted({(int(v["width"]), int(v["height"])) for v in views})
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"{path}: cannot read cameras ({type(e).__name__}: {e})") from None
    if len(sizes) != 1:
        raise DatasetError(f"{path}: views of different image sizes {sizes}")
    try:
        return Cameras(K, R, t, *sizes[0])
    except ShapeError as e:
        raise DatasetError(f"{path}: {e}") from None


class MultiviewDataset(torch.utils.data.Dataset):
    """A `neurender-multiview/1` folder read back sample by sample (files are read on access).

    Args:
        root: the dataset folder (holding `dataset.json`).
        fields: which per-view images to load, any of `image`, `mask`, `depth`, `normals`;
            cameras, poses and codes are always there.

    Raises:
        DatasetError: no index, another format, or unknown fields.

    Example:
        >>> ds = MultiviewDataset("runs/heads")  # doctest: +SKIP
        >>> s = ds[0]; s.images.shape, len(s.cameras), s.poses[:, 0]  # doctest: +SKIP
        (torch.Size([4, 128, 128, 3]), 4, tensor([-31.2, 12.0, 40.7, -3.3]))
    """

    def __init__(self, root: str | os.PathLike, fields: Sequence[str] = FIELDS) -> None:
        self.root = Path(root)
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise DatasetError(f"unknown fields {unknown}; choose from {', '.join(FIELDS)}")
        self.fields = tuple(fields)
        index_path = self.root / "dataset.json"
        try:
            index = json.loads(index_path.read_text())
        except (OSError, ValueError) as e:
            raise DatasetError(f"{index_path}: cannot read the dataset index ({e})") from None
        if not isinstance(index, dict) or index.get("format") != FORMAT:
            got = index.get("format") if isinstance(index, dict) else type(index).__name__
            raise DatasetError(f"{index_path}: not a {FORMAT} dataset (format {got!r})")
        self.index = index
        self.settings: dict[str, Any] = index.get("settings", {})
        self.ids: list[str] = [s["id"] for s in index.get("samples", [])]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> MultiviewSample:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample {i} out of range for {len(self)} samples")
        folder = self.root / "samples" / self.ids[i]
        params = json.loads((folder / "params.json").read_text())
        cameras = read_cameras(folder / "cameras.json")
        views = range(len(cameras))

        def stack(field: str, pattern: str, load) -> torch.Tensor | None:
            paths = [folder / pattern.format(v) for v in views]
            if field not in self.fields or not all(p.is_file() for p in paths):
                return None
            return torch.stack([load(p) for p in paths])

        images = stack("image", "image_{:03d}.png", lambda p: _png(p, False))
        masks = stack("mask", "mask_{:03d}.png", lambda p: _png(p, True))
        depth = stack("depth", "depth_{:03d}.npy", lambda p: torch.from_numpy(np.load(p, allow_pickle=False)))
        normals = stack("normals", "normals_{:03d}.png", lambda p: _png(p, False) * 2 - 1)
        if normals is not None:
            covered = (normals.abs().sum(-1, keepdim=True) < 2.9).float()  # black (n = -1,-1,-1) is background
            normals = torch.nn.functional.normalize(normals, dim=-1) * covered
        poses = torch.tensor([[p["yaw_deg"], p["pitch_deg"], p["roll_deg"]] for p in params["views"]],
                             dtype=torch.float32)
        mesh = params.get("mesh")
        return MultiviewSample(
            id=self.ids[i], images=images, masks=masks, depth=depth, normals=normals, cameras=cameras, poses=poses,
            shape_code=torch.tensor(params.get("shape_code") or [], dtype=torch.float32),
            appearance_code=torch.tensor(params.get("appearance_code") or [], dtype=torch.float32),
            mesh=None if mesh is None else folder / mesh, params=params)

    def scene(self, i: int) -> SceneSpec | None:
        """Sample i's `scene.yaml` as a spec, or None where its producer wrote none. Building it
        (`scenes.build.build_scene`) gives the exact ground truth in the cameras' world frame,
        every object with its own texture, which `mesh.ply`'s vertex colors only approximate."""
        path = self.root / "samples" / self.ids[i] / "scene.yaml"
        return load_scene(path) if path.is_file() else None
