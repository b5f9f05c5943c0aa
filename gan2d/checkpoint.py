"""The project's own checkpoint format: one safetensors file whose header carries a JSON config.

Layout: tensors = the state dict; `__metadata__["neurender"]` = JSON `{format_version, kind, config, extra}`.
No pickled code anywhere, so loading a checkpoint never runs code. Writes go through `gan2d.io.atomic_write`,
so a crash never leaves a half-written file under the final name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from gan2d.budget import build_within
from gan2d.errors import CheckpointError, ConfigError
from gan2d.io import atomic_write
from gan2d.nets.stylegan2.config import DiscriminatorConfig, GeneratorConfig
from gan2d.nets.stylegan2.discriminator import Discriminator
from gan2d.nets.stylegan2.generator import Generator

FORMAT_VERSION = 1
_META_KEY = "neurender"

KIND_GENERATOR = "stylegan2.generator"
KIND_DISCRIMINATOR = "stylegan2.discriminator"
_NETWORKS: dict[str, tuple[type[nn.Module], type]] = {
    KIND_GENERATOR: (Generator, GeneratorConfig),
    KIND_DISCRIMINATOR: (Discriminator, DiscriminatorConfig),
}


def save_checkpoint(path: str | os.PathLike[str], kind: str, config: dict[str, Any],
                    state_dict: dict[str, torch.Tensor], extra: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically.

    Args:
        path: Destination file (conventionally `*.safetensors`); parent folders are created.
        kind: What the weights are, e.g. "stylegan2.generator"; checked by `load_network`.
        config: JSON-serialisable configuration needed to rebuild the network.
        state_dict: Name → tensor (copied to contiguous CPU tensors; shared storage is fine).
        extra: JSON-serialisable extras (training step, metrics, …).

    Returns:
        The path written.

    Raises:
        CheckpointError: If config/extra are not JSON-serialisable or a value is not a tensor.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
        >>> p = save_checkpoint(path, "demo", {"a": 1}, {"w": torch.ones(2)})
        >>> load_checkpoint(p)[0]
        'demo'
    """
    path = Path(path)
    try:
        header = json.dumps({"format_version": FORMAT_VERSION, "kind": kind, "config": config, "extra": extra or {}})
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint config/extra must be JSON-serialisable: {e}") from e
    tensors: dict[str, torch.Tensor] = {}
    for name, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"state_dict[{name!r}] is a {type(value).__name__}, not a tensor")
        tensors[name] = value.detach().to("cpu").contiguous().clone()
    return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={_META_KEY: header}))


LoadedCheckpoint = tuple[str, dict[str, Any], dict[str, torch.Tensor], dict[str, Any]]


def load_checkpoint(path: str | os.PathLike[str]) -> LoadedCheckpoint:
    """Read a checkpoint written by `save_checkpoint`.

    Args:
        path: Checkpoint file.

    Returns:
        (kind, config, state_dict, extra); tensors are on the CPU.

    Raises:
        CheckpointError: Missing file, not a safetensors file, corrupt data, missing/invalid header, or
            a newer `format_version` than this code understands.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        state_dict = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: not a readable safetensors checkpoint ({e})") from e
    if _META_KEY not in metadata:
        raise CheckpointError(f"{path}: safetensors file without a neurender header (not our checkpoint format)")
    try:
        header = json.loads(metadata[_META_KEY])
        version, kind, config, extra = header["format_version"], header["kind"], header["config"], header["extra"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise CheckpointError(f"{path}: corrupt checkpoint header ({e})") from e
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise CheckpointError(f"{path}: format_version {version!r} not supported (this code reads <= {FORMAT_VERSION})")
    if not isinstance(kind, str) or not isinstance(config, dict) or not isinstance(extra, dict):
        raise CheckpointError(f"{path}: corrupt checkpoint header (kind/config/extra have wrong types)")
    return kind, config, state_dict, extra


def network_kind(net: nn.Module) -> str:
    """The checkpoint `kind` of one of our networks.

    Raises:
        CheckpointError: If `net` is not a network this module knows how to rebuild.
    """
    for kind, (cls, _) in _NETWORKS.items():
        if type(net) is cls:
            return kind
    known = [c.__name__ for c, _ in _NETWORKS.values()]
    raise CheckpointError(f"cannot save a {type(net).__name__}: expected one of {known}")


def save_network(path: str | os.PathLike[str], net: Generator | Discriminator, extra: dict[str, Any] | None = None
                 ) -> Path:
    """Save a StyleGAN2 Generator or Discriminator with its config (see `save_checkpoint`)."""
    return save_checkpoint(path, network_kind(net), net.config.to_dict(), net.state_dict(), extra)


def build_network(kind: str, config: dict[str, Any], state_dict: dict[str, torch.Tensor]) -> nn.Module:
    """Build the network `kind` from its config and load `state_dict` strictly.

    The config is untrusted: the network it describes may not need more values than `state_dict` holds
    (checked while building, before anything large is allocated).

    Raises:
        CheckpointError: Unknown kind, invalid config, or weights that do not fit the network.
    """
    if kind not in _NETWORKS:
        raise CheckpointError(f"unknown network kind {kind!r}; expected one of {sorted(_NETWORKS)}")
    cls, config_cls = _NETWORKS[kind]
    try:
        cfg = config_cls.from_dict(config)
    except (ConfigError, TypeError, ValueError) as e:
        raise CheckpointError(f"invalid {kind} config: {e}") from e
    held = sum(t.numel() for t in state_dict.values())
    net = build_within(lambda: cls(cfg), held, f"the {kind} config")
    try:
        net.load_state_dict(state_dict, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise CheckpointError(f"weights do not fit the {kind} config: {' '.join(first[:3])}") from e
    return net.eval()


def load_network(path: str | os.PathLike[str]) -> nn.Module:
    """Load a network saved by `save_network`, in eval mode.

    Raises:
        CheckpointError: Missing/corrupt file, unknown kind, or weights that do not fit the config.
    """
    kind, config, state_dict, _ = load_checkpoint(path)
    return build_network(kind, config, state_dict)
