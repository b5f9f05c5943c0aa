"""The `neurender gan` commands. Only typer and the standard library load at import; each command
imports torch and gan2d when it runs, so `--help` and usage errors cost no torch start-up."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import typer

from tools.errors import ToolError
from tools.rundir import check_out_dir, staged_dir

MAX_SEEDS = 100_000


class NoiseMode(StrEnum):
    """Per-layer noise of the synthesis network (`gan2d.layers.noise.NOISE_MODES`)."""

    const = "const"
    random = "random"
    none = "none"


class PickleNetwork(StrEnum):
    """The networks of an official StyleGAN2-ADA pickle."""

    G_ema = "G_ema"
    G = "G"
    D = "D"


def parse_int_list(text: str, what: str) -> list[int]:
    """Parse "0-7", "1,4,9" or "0-2,5" into a list of non-negative ints.

    Raises:
        ToolError: On malformed text or more than `MAX_SEEDS` values.

    Example:
        >>> parse_int_list("0-2,5", "--seeds")
        [0, 1, 2, 5]
    """
    out: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
            raise ToolError(f"{what} must look like 0-7 or 1,4,9 (ranges ascending), got {text!r}")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if len(out) + hi - lo + 1 > MAX_SEEDS:
            raise ToolError(f"{what} names more than {MAX_SEEDS:,} values: {text!r}")
        out.extend(range(lo, hi + 1))
    return out


def register(gan_app: typer.Typer) -> None:
    """Add `info`, `generate` and `export` to the `gan` command group."""

    @gan_app.command("info")
    def info_cmd(
        ckpt: Path = typer.Argument(..., help="checkpoint: .safetensors, .pkl (StyleGAN2-ADA), .pt (rosinality)"),
        network: PickleNetwork = typer.Option(PickleNetwork.G_ema, help="network inside an official pickle"),
    ) -> None:
        """Print a checkpoint's architecture and resolution."""
        import json

        from gan2d.checkpoint import load_checkpoint
        from tools.gan.networks import describe, load_gan_network

        net, source = load_gan_network(ckpt, network.value)
        if ckpt.suffix.lower() == ".safetensors":
            kind, _, _, extra = load_checkpoint(ckpt)
            source = f"{source} ({kind}{', ' + json.dumps(extra) if extra else ''})"
        rows = describe(net, source)
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            typer.echo(f"{key:<{width}}  {value}")

    @gan_app.command("generate")
    def generate_cmd(
        ckpt: Path = typer.Argument(..., help="generator checkpoint (.safetensors, .pkl, .pt)"),
        out: Path = typer.Option(..., "--out", help="output directory (a previous run there is replaced)"),
        seeds: str = typer.Option("0-7", help="seeds, e.g. 0-7 or 1,5,9"),
        trunc: float = typer.Option(1.0, "--trunc", help="truncation psi (1 = none)"),
        noise_mode: NoiseMode = typer.Option(NoiseMode.const, "--noise-mode", help="synthesis noise"),
        class_idx: int | None = typer.Option(None, "--class", help="class index for conditional generators"),
        mix_seeds: str = typer.Option("", "--mix-seeds", help="column seeds of a style-mixing grid"),
        mix_layers: str = typer.Option("0-6", "--mix-layers", help="style layers taken from the column seeds"),
    ) -> None:
        """Generate images for seeds (and a style-mixing grid) from a generator checkpoint."""
        from gan2d.nets.stylegan2 import Generator
        from tools.gan.generate import GenerateJob, generate
        from tools.gan.networks import load_gan_network

        job = GenerateJob(checkpoint=str(ckpt), seeds=tuple(parse_int_list(seeds, "--seeds")), truncation_psi=trunc,
                          noise_mode=noise_mode.value, class_idx=class_idx,
                          mix_seeds=tuple(parse_int_list(mix_seeds, "--mix-seeds")) if mix_seeds else (),
                          mix_layers=tuple(parse_int_list(mix_layers, "--mix-layers")))
        check_out_dir(out, replace=True)
        G, _ = load_gan_network(ckpt)
        if not isinstance(G, Generator):
            raise ToolError(f"{ckpt} holds a {type(G).__name__}, not a generator")
        if class_idx is not None and G.c_dim == 0:
            typer.echo("note: --class ignored, the generator is unconditional", err=True)
        with staged_dir(out) as stage:
            written = generate(G, job, stage)
        typer.echo(f"wrote {len(written)} files to {out} (grid: {out / 'grid.png'})")

    @gan_app.command("export")
    def export_cmd(
        ckpt: Path = typer.Argument(..., help="checkpoint to convert (.pkl, .pt or .safetensors)"),
        out: Path = typer.Option(..., "--out", help="destination .safetensors file"),
        network: PickleNetwork = typer.Option(PickleNetwork.G_ema, help="network inside an official pickle"),
    ) -> None:
        """Convert any supported checkpoint to our safetensors format."""
        from gan2d.checkpoint import save_network
        from tools.gan.networks import load_gan_network

        if out.is_dir():
            raise ToolError(f"--out {out} is a directory; name the .safetensors file to write")
        check_out_dir(out.parent, "--out's folder")
        net, source = load_gan_network(ckpt, network.value)
        save_network(out, net, extra={"imported_from": str(ckpt), "source_format": source})
        typer.echo(f"wrote {out}")
