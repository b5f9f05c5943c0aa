"""Load a StyleGAN2 network from any supported checkpoint format, and describe it for `gan info`."""

from __future__ import annotations

from pathlib import Path

from gan2d.checkpoint import load_network
from gan2d.errors import CheckpointError
from gan2d.importers.rosinality import load_rosinality
from gan2d.importers.stylegan2_pkl import load_stylegan2_pkl
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
