"""Sample a StyleGAN2 generator the way NVIDIA's `generate.py` does: seeds → images, plus style mixing.

Seeds map to latents exactly as the official tools do (`np.random.RandomState(seed).randn(1, z_dim)`), and
images become uint8 the same way (`x * 127.5 + 128`, clamped), so a seed gives the image the official
tools give for the same weights.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan2d.layers.noise import NOISE_MODES
from gan2d.nets.stylegan2 import Generator
from tools.errors import ToolError


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """`[B, C, H, W]` in [-1, 1] → `[B, H, W, C]` uint8, as the official tools convert."""
    return (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy()


def _save(arr: np.ndarray, path: Path) -> None:
    Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr).save(path)


def grid(images: np.ndarray, cols: int) -> np.ndarray:
    """Tile `[N, H, W, C]` uint8 images row-major into a `cols`-wide grid (black where empty)."""
    n, h, w, c = images.shape
    rows = math.ceil(n / cols)
    out = np.zeros((rows * h, cols * w, c), dtype=np.uint8)
    for i, im in enumerate(images):
        r, q = divmod(i, cols)
        out[r * h:(r + 1) * h, q * w:(q + 1) * w] = im
    return out


@dataclass(frozen=True)
class GenerateJob:
    """Settings of `neurender gan generate`, written beside the images as `config.json`."""

    checkpoint: str
    seeds: tuple[int, ...]
    truncation_psi: float = 1.0
    noise_mode: str = "const"
    class_idx: int | None = None
    mix_seeds: tuple[int, ...] = ()
    mix_layers: tuple[int, ...] = tuple(range(7))

    def __post_init__(self) -> None:
        if not math.isfinite(self.truncation_psi):
            raise ToolError(f"--trunc must be a finite number (1 = no truncation), got {self.truncation_psi}")
        if self.noise_mode not in NOISE_MODES:
            raise ToolError(f"--noise-mode must be one of {', '.join(NOISE_MODES)}, got {self.noise_mode!r}")
        if not self.seeds:
            raise ToolError("--seeds must name at least one seed")
        big = [s for s in (*self.seeds, *self.mix_seeds) if not 0 <= s < 2**32]
        if big:  # numpy's RandomState takes 32-bit seeds
            raise ToolError(f"seeds must be within 0..{2**32 - 1}, got {big[0]}")


def _latent(G: Generator, seed: int) -> torch.Tensor:
    return torch.from_numpy(np.random.RandomState(seed).randn(1, G.z_dim)).float()


def _label(G: Generator, class_idx: int | None) -> torch.Tensor | None:
    if G.c_dim == 0:
        return None
    if class_idx is None:
        raise ToolError(f"this generator is conditional ({G.c_dim} classes): pass --class")
    if not 0 <= class_idx < G.c_dim:
        raise ToolError(f"--class must be within 0..{G.c_dim - 1}, got {class_idx}")
    c = torch.zeros(1, G.c_dim)
    c[0, class_idx] = 1
    return c


@torch.no_grad()
def generate(G: Generator, job: GenerateJob, out: Path) -> list[Path]:
    """Write `seedNNNN.png` per seed, `grid.png`, and with mix seeds `mixRRRR-CCCC.png` + `mix_grid.png`.

    Random noise is drawn from torch's RNG seeded with the image's seed, so runs repeat exactly.

    Raises:
        ToolError: Bad class index or mixing layers.
    """
    bad = [i for i in job.mix_layers if i >= G.num_ws]
    if job.mix_seeds and bad:
        raise ToolError(f"--mix-layers {bad} out of range: the generator has style layers 0..{G.num_ws - 1}")
    c = _label(G, job.class_idx)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    ws_of: dict[int, torch.Tensor] = {}
    images = []
    for seed in dict.fromkeys([*job.seeds, *job.mix_seeds]):
        ws_of[seed] = G.mapping(_latent(G, seed), c, truncation_psi=job.truncation_psi)
    for seed in job.seeds:
        torch.manual_seed(seed)
        img = to_uint8(G.synthesis(ws_of[seed], noise_mode=job.noise_mode))[0]
        path = out / f"seed{seed:04d}.png"
        _save(img, path)
        written.append(path)
        images.append(img)
    _save(grid(np.stack(images), min(len(images), 8)), out / "grid.png")
    written.append(out / "grid.png")
    if job.mix_seeds:
        written += _style_mix(G, job, ws_of, images, out)
    (out / "config.json").write_text(json.dumps(asdict(job), indent=2))
    return [*written, out / "config.json"]


def _style_mix(G: Generator, job: GenerateJob, ws_of: dict[int, torch.Tensor], row_images: list[np.ndarray],
               out: Path) -> list[Path]:
    """Rows = `seeds`, columns = `mix_seeds`; cell (r, c) takes `mix_layers` styles from column seed c."""
    layers = list(job.mix_layers)
    blank = np.zeros_like(row_images[0])
    cells = [blank]
    for col in job.mix_seeds:
        torch.manual_seed(col)
        cells.append(to_uint8(G.synthesis(ws_of[col], noise_mode=job.noise_mode))[0])
    written = []
    for row, row_img in zip(job.seeds, row_images, strict=True):
        cells.append(row_img)
        for col in job.mix_seeds:
            ws = ws_of[row].clone()
            ws[:, layers] = ws_of[col][:, layers]
            torch.manual_seed(row)
            img = to_uint8(G.synthesis(ws, noise_mode=job.noise_mode))[0]
            path = out / f"mix{row:04d}-{col:04d}.png"
            _save(img, path)
            written.append(path)
            cells.append(img)
    _save(grid(np.stack(cells), len(job.mix_seeds) + 1), out / "mix_grid.png")
    return [*written, out / "mix_grid.png"]
