"""Training data of the head analyzer: head sets as tensors, and images without a face.

Negatives (the `face` head's class 0) come from the project's own data engine (single shapes and
multi-object scenes, rendered through `scenes`), from plain and graded backgrounds (the head set's
background without a head), and from crops of the scikit-image sample photos that show no person
(coffee, a cat, a rocket, textures, coins, a galaxy field, …). Everything is generated offline and is a
pure function of the seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from tools.errors import ToolError
from tools.faces.headset import BACKGROUND

# scikit-image sample images without a person in them.
PHOTOS = ("coffee", "chelsea", "rocket", "horse", "moon", "coins", "brick", "grass", "gravel", "retina",
          "hubble_deep_field", "immunohistochemistry", "colorwheel", "page", "text", "cell", "clock")


@dataclass(frozen=True)
class HeadArrays:
    """A head set in memory.

    Attributes:
        images: `[N, 3, S, S]` uint8.
        pose: `[N, 2]` ground-truth (yaw, pitch) in degrees.
        codes: `[N, 24]` shape + appearance codes.
        identity: `[N]` identity index.
    """

    images: torch.Tensor
    pose: torch.Tensor
    codes: torch.Tensor
    identity: torch.Tensor

    def __len__(self) -> int:
        return self.images.shape[0]


def load_head_arrays(folder: str | Path) -> HeadArrays:
    """Read a head set written by `tools.faces.headset.generate_headset`.

    Raises:
        ToolError: no complete `labels.json` in `folder`.
    """
    folder = Path(folder)
    index_path = folder / "labels.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ToolError(f"{folder}: not a head set ({e})") from e
    if not index.get("complete") or not index.get("images"):
        raise ToolError(f"{folder}: the head set is incomplete; generate it again to finish it")
    entries = index["images"]
    images = np.stack([np.asarray(Image.open(folder / "images" / e["file"]).convert("RGB")) for e in entries])
    return HeadArrays(
        images=torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
        pose=torch.tensor([[e["yaw"], e["pitch"]] for e in entries], dtype=torch.float32),
        codes=torch.tensor([e["shape_code"] + e["appearance_code"] for e in entries], dtype=torch.float32),
        identity=torch.tensor([e["identity"] for e in entries], dtype=torch.long),
    )


def _to_uint8(rgb: torch.Tensor) -> torch.Tensor:
    """`[N, H, W, 3]` float in [0, 1] → `[N, 3, H, W]` uint8."""
    return (rgb.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 3, 1, 2).contiguous()


def engine_negatives(count: int, size: int, seed: int) -> torch.Tensor:
    """`[count, 3, size, size]` uint8 renders of data-engine shapes and scenes (alternating)."""
    from scenes.build import build_scene
    from scenes.render import render_built
    from scenes.samples import make_sample

    out = []
    for i in range(count):
        sample = make_sample("shapes" if i % 2 == 0 else "scenes", seed * 100_003 + i, 1, size, 1)
        out.append(_to_uint8(render_built(build_scene(sample.spec), sample.spec).rgb))
    return torch.cat(out)


def background_negatives(count: int, size: int, seed: int) -> torch.Tensor:
    """`[count, 3, size, size]` uint8 plain colors, the head-set background, gradients and smooth noise."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    out = []
    for i in range(count):
        base = torch.rand(3, 1, 1, generator=g)
        kind = i % 4
        if kind == 0:
            img = base.expand(3, size, size)
        elif kind == 3:  # the head set's own background, without a head
            img = torch.full((3, size, size), BACKGROUND[0]) + 0.02 * torch.randn(3, size, size, generator=g)
        elif kind == 1:
            angle = float(torch.rand((), generator=g)) * 2 * np.pi
            ramp = (np.cos(angle) * xx + np.sin(angle) * yy)[None]
            img = base + 0.3 * ramp * (torch.rand(3, 1, 1, generator=g) - 0.5)
        else:
            coarse = torch.rand(1, 3, 4, 4, generator=g)
            img = 0.5 * base + 0.5 * F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)[0]
        out.append(img.clamp(0, 1))
    return (torch.stack(out) * 255).round().to(torch.uint8)


def photo_negatives(count: int, size: int, seed: int) -> torch.Tensor:
    """`[count, 3, size, size]` uint8 random square crops of the scikit-image sample photos in `PHOTOS`."""
    import skimage.data

    rng = np.random.default_rng(seed)
    photos = []
    for name in PHOTOS:
        a = np.asarray(getattr(skimage.data, name)())
        a = (a.astype(np.float32) * (255.0 if a.dtype == bool else 1.0)).clip(0, 255).astype(np.uint8)
        photos.append(np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else a[..., :3])
    out = []
    for i in range(count):
        a = photos[i % len(photos)]
        h, w = a.shape[:2]
        side = int(rng.integers(min(h, w) // 3, min(h, w) + 1))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = Image.fromarray(a[y:y + side, x:x + side]).resize((size, size), Image.Resampling.LANCZOS)
        out.append(np.asarray(crop))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def negatives(count: int, size: int, seed: int) -> torch.Tensor:
    """`[count, 3, size, size]` uint8 images without a face: 40% engine renders, 30% backgrounds, 30% photos."""
    n_engine, n_bg = int(0.4 * count), int(0.3 * count)
    return torch.cat([engine_negatives(n_engine, size, seed), background_negatives(n_bg, size, seed + 1),
                      photo_negatives(count - n_engine - n_bg, size, seed + 2)])
