"""Import rosinality `stylegan2-pytorch` checkpoints (`.pt` with a `g_ema` state dict) into our Generator.

rosinality's generator computes the same network as StyleGAN2 with other names and layouts:

| rosinality                                   | ours (official layout)                       |
| -------------------------------------------- | -------------------------------------------- |
| `style.{i}.weight/bias` (i = 1…n_mlp)        | `mapping.fc{i-1}.weight/bias`                |
| `input.input` `[1, C, 4, 4]`                 | `synthesis.b4.const` `[C, 4, 4]`             |
| `conv1`, `convs.{2k}`, `convs.{2k+1}`        | `b4.conv1`, `b{8·2^k}.conv0`, `….conv1`      |
| `….conv.weight` `[1, O, I, k, k]`            | `….weight` `[O, I, k, k]` (see below)        |
| `….conv.modulation.weight/bias`              | `….affine.weight/bias`                       |
| `….noise.weight` `[1]`, `noises.noise_{j}`   | `….noise_strength` `[]`, `….noise_const`     |
| `….activate.bias`                            | `….bias`                                     |
| `to_rgb1`, `to_rgbs.{k}` (`bias` `[1,3,1,1]`) | `b4.torgb`, `b{8·2^k}.torgb` (`bias` `[3]`)  |

rosinality demodulates `scale * w * s` with `scale = 1/sqrt(fan_in)`, the official code `w * s`; the two
differ only in how the 1e-8 epsilon weighs. Storing `scale * w` as our weight reproduces rosinality's
arithmetic exactly (demodulation removes the scale otherwise). ToRGB (no demodulation) keeps `w` as is.
The checkpoint is read with `torch.load(weights_only=True)`, so it cannot run code.
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from gan2d.budget import build_within
from gan2d.errors import CheckpointError, ConfigError
from gan2d.importers.common import first_line, fit_channels
from gan2d.nets.stylegan2.config import GeneratorConfig
from gan2d.nets.stylegan2.generator import Generator

W_AVG_SAMPLES = 4096


def _load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"rosinality checkpoint not found: {path}")
    try:
        # Training checkpoints carry their argparse.Namespace; it only holds plain values.
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as e:
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({first_line(e)})") from e
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: expected a dict checkpoint, got {type(ckpt).__name__}")
    return ckpt


def _generator_state(ckpt: dict[str, Any], path: Path) -> dict[str, torch.Tensor]:
    sd = ckpt.get("g_ema", ckpt)
    if not isinstance(sd, dict) or "input.input" not in sd or "style.1.weight" not in sd:
        raise CheckpointError(f"{path}: no rosinality generator state dict (expected 'g_ema' with 'input.input')")
    return sd


def _tensor(sd: dict[str, torch.Tensor], key: str, ndim: int, lead: int | None = None) -> torch.Tensor:
    """`sd[key]` as float32, checked to have `ndim` dimensions (and a first dimension of `lead`)."""
    if key not in sd or not isinstance(sd[key], torch.Tensor):
        raise CheckpointError(f"rosinality state dict lacks {key!r}")
    t = sd[key]
    if t.ndim != ndim or (lead is not None and t.shape[0] != lead) or not t.is_floating_point():
        want = f"{ndim}-D float" + (f" with first dimension {lead}" if lead is not None else "")
        raise CheckpointError(f"rosinality {key!r} has shape {tuple(t.shape)} ({t.dtype}); expected {want}")
    return t.detach().to(torch.float32)


def rosinality_config(sd: dict[str, torch.Tensor], mapping_lr_multiplier: float = 0.01) -> GeneratorConfig:
    """Infer our `GeneratorConfig` from a rosinality `g_ema` state dict.

    Raises:
        CheckpointError: Missing keys or channel counts that do not follow channel_base/channel_max.
    """
    n_mlp = len({int(m.group(1)) for k in sd if (m := re.fullmatch(r"style\.(\d+)\.weight", k))})
    n_rgbs = len({int(m.group(1)) for k in sd if (m := re.fullmatch(r"to_rgbs\.(\d+)\.bias", k))})
    style_dim = _tensor(sd, "style.1.weight", 2).shape[1]
    res = 2 ** (n_rgbs + 2)
    channels = {4: _tensor(sd, "conv1.conv.weight", 5, 1).shape[1]}
    for k in range(n_rgbs):
        channels[2 ** (k + 3)] = _tensor(sd, f"convs.{2 * k + 1}.conv.weight", 5, 1).shape[1]
    base, cmax = fit_channels(channels)
    try:
        return GeneratorConfig(img_resolution=res, z_dim=style_dim, w_dim=style_dim,
                               img_channels=_tensor(sd, "to_rgb1.bias", 4, 1).shape[1], mapping_layers=n_mlp,
                               mapping_lr_multiplier=mapping_lr_multiplier, channel_base=base, channel_max=cmax)
    except ConfigError as e:
        raise CheckpointError(f"rosinality generator does not fit GeneratorConfig: {e}") from e


def _noise(sd: dict[str, torch.Tensor], idx: int, res: int) -> torch.Tensor:
    key = f"noises.noise_{idx}"
    if key in sd:
        return _tensor(sd, key, 4, 1)[0, 0]
    # Older rosinality checkpoints have no stored noise buffers: fix one reproducible map per layer.
    return torch.randn([res, res], generator=torch.Generator().manual_seed(idx))


def _styled_conv(sd: dict[str, torch.Tensor], src: str, dst: str, noise_idx: int, res: int
                 ) -> dict[str, torch.Tensor]:
    w = _tensor(sd, f"{src}.conv.weight", 5, 1)[0]
    scale = 1.0 / math.sqrt(w.shape[1] * w.shape[2] * w.shape[3])
    return {
        f"{dst}.weight": w * scale,
        f"{dst}.affine.weight": _tensor(sd, f"{src}.conv.modulation.weight", 2),
        f"{dst}.affine.bias": _tensor(sd, f"{src}.conv.modulation.bias", 1),
        f"{dst}.noise_strength": _tensor(sd, f"{src}.noise.weight", 1, 1).reshape([]),
        f"{dst}.noise_const": _noise(sd, noise_idx, res),
        f"{dst}.bias": _tensor(sd, f"{src}.activate.bias", 1),
    }


def _to_rgb(sd: dict[str, torch.Tensor], src: str, dst: str) -> dict[str, torch.Tensor]:
    return {
        f"{dst}.weight": _tensor(sd, f"{src}.conv.weight", 5, 1)[0],
        f"{dst}.affine.weight": _tensor(sd, f"{src}.conv.modulation.weight", 2),
        f"{dst}.affine.bias": _tensor(sd, f"{src}.conv.modulation.bias", 1),
        f"{dst}.bias": _tensor(sd, f"{src}.bias", 4, 1).reshape(-1),
    }


def convert_rosinality_state(sd: dict[str, torch.Tensor], config: GeneratorConfig) -> dict[str, torch.Tensor]:
    """Rename and reshape a rosinality `g_ema` state dict into our parameter layout (w_avg excluded)."""
    out: dict[str, torch.Tensor] = {}
    for i in range(config.mapping_layers):
        out[f"mapping.fc{i}.weight"] = _tensor(sd, f"style.{i + 1}.weight", 2)
        out[f"mapping.fc{i}.bias"] = _tensor(sd, f"style.{i + 1}.bias", 1)
    out["synthesis.b4.const"] = _tensor(sd, "input.input", 4, 1)[0]
    out.update(_styled_conv(sd, "conv1", "synthesis.b4.conv1", 0, 4))
    out.update(_to_rgb(sd, "to_rgb1", "synthesis.b4.torgb"))
    res, k = 8, 0
    while res <= config.img_resolution:
        out.update(_styled_conv(sd, f"convs.{2 * k}", f"synthesis.b{res}.conv0", 2 * k + 1, res))
        out.update(_styled_conv(sd, f"convs.{2 * k + 1}", f"synthesis.b{res}.conv1", 2 * k + 2, res))
        out.update(_to_rgb(sd, f"to_rgbs.{k}", f"synthesis.b{res}.torgb"))
        res, k = res * 2, k + 1
    return out


def load_rosinality(path: str | os.PathLike[str], mapping_lr_multiplier: float = 0.01) -> Generator:
    """Import a rosinality stylegan2-pytorch checkpoint as our `Generator` (eval mode).

    `w_avg` comes from the checkpoint's `latent_avg` when present (converted checkpoints carry it), else
    it is estimated as the mean w of 4096 latents drawn with a fixed seed, like rosinality's `mean_latent`.

    Args:
        path: `.pt` file holding `{"g_ema": state_dict, …}` (or the bare generator state dict).
        mapping_lr_multiplier: rosinality's `lr_mlp` (not stored in checkpoints; 0.01 by default).

    Returns:
        The generator, which draws the same images as rosinality's for the same z and stored noise.

    Raises:
        CheckpointError: Missing/corrupt file, not a rosinality generator, or weights that do not fit.

    Example:
        >>> G = load_rosinality("550000.pt")  # doctest: +SKIP
    """
    path = Path(path)
    ckpt = _load(path)
    sd = _generator_state(ckpt, path)
    config = rosinality_config(sd, mapping_lr_multiplier)
    state = convert_rosinality_state(sd, config)
    G = build_within(lambda: Generator(config), sum(t.numel() for t in state.values()), f"{path}'s generator")
    state.update({k: v for k, v in G.state_dict().items() if k.endswith("resample_filter")})
    latent_avg = ckpt.get("latent_avg")
    state["mapping.w_avg"] = torch.zeros(config.w_dim)
    try:
        G.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not fit the inferred generator: {first_line(e)}") from e
    with torch.no_grad():
        if isinstance(latent_avg, torch.Tensor) and latent_avg.numel() == config.w_dim:
            G.mapping.w_avg.copy_(latent_avg.reshape(-1))
        else:
            z = torch.randn(W_AVG_SAMPLES, config.z_dim, generator=torch.Generator().manual_seed(0))
            G.mapping.w_avg.copy_(G.mapping(z, None)[:, 0].mean(dim=0))
    return G.eval()
