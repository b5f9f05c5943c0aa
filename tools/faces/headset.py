"""The faces training set: procedural heads from the data engine, one random view per image.

Every identity is a `scenes.assets.HeadParams` drawn from a per-identity seed, lit by a random key
light and seen from `views` cameras at random yaw/pitch (no roll) on the data engine's head orbit
(`HEAD_CENTER`, `HEAD_DISTANCE`, `HEAD_FOV_DEG`), so every label follows the data engine's pose
convention: degrees, yaw = camera azimuth about +Y toward +X with the subject facing +Z, pitch =
elevation. Layout of `out/`:

    images/00042_01.png …   RGB views (a gan2d image folder: `open_image_dataset(out / "images", 64)`)
    masks/00042_01.png …    white = head
    meta/00042.json         one identity's labels, written last (an identity is done iff it exists)
    labels.json             index: settings + one entry per image (file, identity, yaw, pitch, codes)

Generation resumes by skipping identities whose `meta/*.json` exists; identity i depends only on
(seed, i).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from render3d.cameras import look_at, orbit_eyes
from render3d.io import atomic_write, save_png
from scenes.assets import HeadParams
from scenes.build import build_scene
from scenes.render import render_built
from scenes.schema import (
    AmbientLightSpec,
    CameraSpec,
    DirectionalLightSpec,
    MatrixView,
    ObjectSpec,
    RenderSpec,
    SceneSpec,
)
from tools.errors import ToolError

FORMAT = "neurender-faces-headset/1"
HEAD_CENTER = (0.0, -0.05, 0.0)  # the data engine's head orbit (scenes.samples, kind "heads")
HEAD_DISTANCE = 2.9
HEAD_FOV_DEG = 25.0
BACKGROUND = (0.92, 0.92, 0.92)


@dataclass(frozen=True)
class HeadSetConfig:
    """What to render.

    Args:
        identities: number of heads.
        views: random views per head.
        size: image side in pixels.
        seed: set seed; identity i uses a seed derived from (seed, i).
        yaw_range: uniform yaw range in degrees.
        pitch_range: uniform pitch range in degrees.
        supersample: anti-aliasing factor.
        texture_size: head texture height in pixels.
    """

    identities: int = 3000
    views: int = 4
    size: int = 64
    seed: int = 0
    yaw_range: tuple[float, float] = (-50.0, 50.0)
    pitch_range: tuple[float, float] = (-25.0, 25.0)
    supersample: int = 2
    texture_size: int = 128

    def __post_init__(self) -> None:
        object.__setattr__(self, "yaw_range", tuple(float(v) for v in self.yaw_range))
        object.__setattr__(self, "pitch_range", tuple(float(v) for v in self.pitch_range))
        ok = (self.identities >= 1 and self.views >= 1 and 8 <= self.size <= 1024 and 1 <= self.supersample <= 4
              and self.yaw_range[0] <= self.yaw_range[1] and -80 < self.pitch_range[0] <= self.pitch_range[1] < 80)
        if not ok:
            raise ToolError(f"invalid head set settings: {self}")


def identity_seed(seed: int, index: int) -> int:
    """The seed of identity `index` in a set seeded `seed`."""
    return int(np.random.SeedSequence([seed, index, 11]).generate_state(1)[0] & 0x7FFFFFFF)


def head_camera(yaw_deg: float, pitch_deg: float) -> CameraSpec:
    """The data engine's head camera at (yaw, pitch), no roll, as a scene camera."""
    eye = orbit_eyes(HEAD_CENTER, HEAD_DISTANCE, [yaw_deg], pitch_deg)
    R, t = look_at(eye, torch.tensor([HEAD_CENTER], dtype=torch.float32))
    m = torch.eye(4)
    m[:3, :3], m[:3, 3] = R[0], t[0]
    return CameraSpec(fov_deg=HEAD_FOV_DEG, view=MatrixView(world_to_camera=tuple(tuple(r) for r in m.tolist())))


def head_scene(params: HeadParams, poses: list[tuple[float, float]], light: tuple[float, float, float, float],
               size: int, supersample: int) -> SceneSpec:
    """A scene of one head seen at `poses` [(yaw, pitch)] under a key light (azimuth, elevation, key, ambient)."""
    az, el, key, ambient = math.radians(light[0]), math.radians(light[1]), light[2], light[3]
    to_light = (math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az))
    lights = [AmbientLightSpec(intensity=ambient),
              DirectionalLightSpec(direction=tuple(-c for c in to_light), intensity=key)]
    render = RenderSpec(width=size, height=size, supersample=supersample, background=BACKGROUND,
                        outputs=("rgb", "mask"))
    return SceneSpec(name="head", objects=(ObjectSpec(name="head", procedural=params),), lights=lights,
                     cameras=[head_camera(y, p) for y, p in poses], render=render)


def draw_identity(cfg: HeadSetConfig, index: int) -> tuple[HeadParams, list[tuple[float, float]], tuple]:
    """Head parameters, view poses and light of identity `index` (a pure function of cfg.seed and index)."""
    g = torch.Generator().manual_seed(identity_seed(cfg.seed, index))
    u = torch.rand(2 * cfg.views + 5, generator=g, dtype=torch.float64).tolist()
    head = HeadParams(seed=int(u[0] * (2**31 - 1)), texture_size=cfg.texture_size)
    (y0, y1), (p0, p1) = cfg.yaw_range, cfg.pitch_range
    poses = [(y0 + (y1 - y0) * u[1 + 2 * v], p0 + (p1 - p0) * u[2 + 2 * v]) for v in range(cfg.views)]
    k = 1 + 2 * cfg.views
    light = (-60 + 120 * u[k], 10 + 40 * u[k + 1], 0.6 + 0.25 * u[k + 2], 0.3 + 0.15 * u[k + 3])
    return head, poses, light


def fill_cracks(rgb: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Close isolated uncovered pixels inside the head (rasterizer cracks between adjacent faces).

    A pixel whose mask is below 1 while its four neighbours are fully covered is a crack: it takes the
    mean color of those neighbours and full coverage. Silhouette pixels always have an uncovered
    neighbour, so they are left alone.

    Args:
        rgb: `[N, H, W, 3]`; mask: `[N, H, W]`.

    Returns:
        (rgb, mask) with the cracks closed.
    """
    pad_m = torch.nn.functional.pad(mask, (1, 1, 1, 1))
    nbrs = torch.stack([pad_m[:, :-2, 1:-1], pad_m[:, 2:, 1:-1], pad_m[:, 1:-1, :-2], pad_m[:, 1:-1, 2:]])
    crack = (mask < 0.999) & (nbrs.amin(0) > 0.999)
    pad_c = torch.nn.functional.pad(rgb.permute(0, 3, 1, 2), (1, 1, 1, 1), mode="replicate")
    mean = (pad_c[..., :-2, 1:-1] + pad_c[..., 2:, 1:-1] + pad_c[..., 1:-1, :-2] + pad_c[..., 1:-1, 2:]) / 4
    rgb = torch.where(crack[..., None], mean.permute(0, 2, 3, 1), rgb)
    return rgb, torch.where(crack, torch.ones_like(mask), mask)


def render_identity(cfg: HeadSetConfig, index: int, out: Path) -> dict[str, Any]:
    """Render identity `index` into `out` (images, masks, meta) unless done; returns its meta."""
    meta_path = out / "meta" / f"{index:05d}.json"
    if meta_path.is_file():
        return json.loads(meta_path.read_text())
    head, poses, light = draw_identity(cfg, index)
    spec = head_scene(head, poses, light, cfg.size, cfg.supersample)
    result = render_built(build_scene(spec), spec)
    rgb, mask = fill_cracks(result.rgb, result.mask)
    files = []
    for v in range(cfg.views):
        name = f"{index:05d}_{v:02d}.png"
        save_png(out / "images" / name, rgb[v])
        save_png(out / "masks" / name, mask[v])
        files.append(name)
    meta = {"identity": index, "head_seed": head.seed, "shape_code": head.shape_code(),
            "appearance_code": head.appearance_code(), "light": list(light),
            "views": [{"file": f, "yaw": y, "pitch": p} for f, (y, p) in zip(files, poses, strict=True)]}
    atomic_write(meta_path, lambda p: p.write_text(json.dumps(meta)))
    return meta


def generate_headset(cfg: HeadSetConfig, out: str | os.PathLike, progress: bool = True) -> dict[str, Any]:
    """Render every missing identity of the set, then write `labels.json`; returns the index.

    Raises:
        ToolError: `out` holds a set rendered with other settings.

    Example:
        >>> index = generate_headset(HeadSetConfig(identities=2, views=2, size=32), "/tmp/hs")  # doctest: +SKIP
    """
    from tqdm import tqdm

    out = Path(out)
    settings = json.loads(json.dumps(asdict(cfg)))
    index_path = out / "labels.json"
    if index_path.is_file():
        # Identity i depends only on (seed, i), so a set may grow or shrink; every other setting must match.
        old = {k: v for k, v in json.loads(index_path.read_text()).get("settings", {}).items() if k != "identities"}
        if old != {k: v for k, v in settings.items() if k != "identities"}:
            raise ToolError(f"{out} holds a head set with other settings; use another folder")
    for sub in ("images", "masks", "meta"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    atomic_write(index_path, lambda p: p.write_text(json.dumps({"format": FORMAT, "settings": settings,
                                                                  "complete": False, "images": []})))
    metas = [render_identity(cfg, i, out) for i in tqdm(range(cfg.identities), disable=not progress,
                                                         desc="head set", unit="head")]
    images = [{"file": v["file"], "identity": m["identity"], "yaw": v["yaw"], "pitch": v["pitch"],
               "shape_code": m["shape_code"], "appearance_code": m["appearance_code"]}
              for m in metas for v in m["views"]]
    index = {"format": FORMAT, "settings": settings, "complete": True, "images": images}
    atomic_write(index_path, lambda p: p.write_text(json.dumps(index)))
    return index
