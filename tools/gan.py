"""`neurender gan info|generate|export`: inspect, sample and convert StyleGAN2 generators.

Any checkpoint we can load works: our own `.safetensors`, official StyleGAN2-ADA `.pkl` pickles (imported
without running pickled code) and rosinality `.pt` files. Seeds map to latents exactly as NVIDIA's
`generate.py` does (`np.random.RandomState(seed).randn(1, z_dim)`), and images become uint8 the same way
(`x * 127.5 + 128`, clamped), so a seed gives the image the official tools give for the same weights.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import typer
from PIL import Image

from gan2d.checkpoint import load_checkpoint, load_network, save_network
from gan2d.errors import CheckpointError
from gan2d.importers.rosinality import load_rosinality
from gan2d.importers.stylegan2_pkl import load_stylegan2_pkl
from gan2d.layers.noise import NOISE_MODES
from gan2d.nets.stylegan2 import Discriminator, Generator
from tools.errors import ToolError

SOURCES = {".safetensors": "neurender", ".pkl": "stylegan2-ada pickle", ".pt": "rosinality", ".pth": "rosinality"}


def load_gan_network(path: Path, key: str = "G_ema") -> tuple[Generator | Discriminator, str]:
    """Load a network from any supported checkpoint; returns it (eval mode) and the source format's name.

    Raises:
        ToolError: Unknown file suffix.
        CheckpointError: Missing or corrupt file, or weights that do not fit.
    """
    suffix = path.suffix.lower()
    if suffix not in SOURCES:
        raise ToolError(f"{path}: unknown checkpoint type {suffix!r}; expected one of {', '.join(SOURCES)}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if suffix == ".safetensors":
        net = load_network(path)
    elif suffix == ".pkl":
        net = load_stylegan2_pkl(path, key=key)
    else:
        net = load_rosinality(path)
    return net, SOURCES[suffix]


def parse_int_list(text: str, what: str) -> list[int]:
    """Parse "0-7", "1,4,9" or "0-2,5" into a list of non-negative ints.

    Raises:
        ToolError: On malformed text.
    """
    out: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
            raise ToolError(f"{what} must look like 0-7 or 1,4,9 (ranges ascending), got {text!r}")
        out.extend(range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1))
    return out


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
        ToolError: Bad class index, noise mode or mixing layers.
    """
    if job.noise_mode not in NOISE_MODES:
        raise ToolError(f"--noise-mode must be one of {', '.join(NOISE_MODES)}, got {job.noise_mode!r}")
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


def describe(net: Generator | Discriminator, source: str) -> list[tuple[str, str]]:
    """Human-readable facts about a network for `gan info`."""
    cfg = net.config
    params = sum(p.numel() for p in net.parameters())
    rows = [("type", type(net).__name__), ("source format", source), ("resolution", f"{cfg.img_resolution}"),
            ("image channels", str(cfg.img_channels)), ("label dim (c_dim)", str(cfg.c_dim)),
            ("parameters", f"{params:,}")]
    blocks = getattr(net, "synthesis", net).block_resolutions
    if isinstance(net, Generator):
        rows += [("z_dim / w_dim", f"{cfg.z_dim} / {cfg.w_dim}"), ("style layers (num_ws)", str(net.num_ws)),
                 ("mapping layers", f"{cfg.mapping_layers} (lr x{cfg.mapping_lr_multiplier:g})"),
                 ("noise inputs", str(cfg.use_noise))]
    channels = ", ".join(f"{r}:{min(cfg.channel_base // r, cfg.channel_max)}" for r in blocks)
    rows += [("architecture", "skip generator" if isinstance(net, Generator) else "residual discriminator"),
             ("channels per resolution", channels), ("conv_clamp", str(cfg.conv_clamp))]
    return rows


def register(gan_app: typer.Typer) -> None:
    """Add `info`, `generate` and `export` to the `gan` command group."""

    @gan_app.command("info")
    def info_cmd(
        ckpt: Path = typer.Argument(..., help="checkpoint: .safetensors, .pkl (StyleGAN2-ADA), .pt (rosinality)"),
        network: str = typer.Option("G_ema", help="network inside an official pickle: G_ema, G or D"),
    ) -> None:
        """Print a checkpoint's architecture and resolution."""
        net, source = load_gan_network(ckpt, network)
        if ckpt.suffix.lower() == ".safetensors":
            kind, _, _, extra = load_checkpoint(ckpt)
            source = f"{source} ({kind}{', ' + json.dumps(extra) if extra else ''})"
        width = max(len(k) for k, _ in describe(net, source))
        for key, value in describe(net, source):
            typer.echo(f"{key:<{width}}  {value}")

    @gan_app.command("generate")
    def generate_cmd(
        ckpt: Path = typer.Argument(..., help="generator checkpoint (.safetensors, .pkl, .pt)"),
        out: Path = typer.Option(..., "--out", help="output directory"),
        seeds: str = typer.Option("0-7", help="seeds, e.g. 0-7 or 1,5,9"),
        trunc: float = typer.Option(1.0, "--trunc", help="truncation psi (1 = none)"),
        noise_mode: str = typer.Option("const", "--noise-mode", help="const, random or none"),
        class_idx: int | None = typer.Option(None, "--class", help="class index for conditional generators"),
        mix_seeds: str = typer.Option("", "--mix-seeds", help="column seeds of a style-mixing grid"),
        mix_layers: str = typer.Option("0-6", "--mix-layers", help="style layers taken from the column seeds"),
    ) -> None:
        """Generate images for seeds (and a style-mixing grid) from a generator checkpoint."""
        G, _ = load_gan_network(ckpt)
        if not isinstance(G, Generator):
            raise ToolError(f"{ckpt} holds a {type(G).__name__}, not a generator")
        job = GenerateJob(checkpoint=str(ckpt), seeds=tuple(parse_int_list(seeds, "--seeds")), truncation_psi=trunc,
                          noise_mode=noise_mode, class_idx=class_idx,
                          mix_seeds=tuple(parse_int_list(mix_seeds, "--mix-seeds")) if mix_seeds else (),
                          mix_layers=tuple(parse_int_list(mix_layers, "--mix-layers")))
        if class_idx is not None and G.c_dim == 0:
            typer.echo("note: --class ignored, the generator is unconditional", err=True)
        written = generate(G, job, out)
        typer.echo(f"wrote {len(written)} files to {out} (grid: {out / 'grid.png'})")

    @gan_app.command("export")
    def export_cmd(
        ckpt: Path = typer.Argument(..., help="checkpoint to convert (.pkl, .pt or .safetensors)"),
        out: Path = typer.Option(..., "--out", help="destination .safetensors file"),
        network: str = typer.Option("G_ema", help="network inside an official pickle: G_ema, G or D"),
    ) -> None:
        """Convert any supported checkpoint to our safetensors format."""
        net, source = load_gan_network(ckpt, network)
        save_network(out, net, extra={"imported_from": str(ckpt), "source_format": source})
        typer.echo(f"wrote {out}")
