"""Atomic training snapshots: network weights via `gan2d.checkpoint`, loop state in one torch file.

A snapshot is a folder `checkpoints/snapshot-NNNNNNNNN/` (NNN = images seen) holding
`{network}.safetensors` for every network and `training_state.pt` (optimizer states, auxiliary
module buffers such as the path-length mean, step and image counters). It is written under a
temporary name and renamed when complete, then `checkpoints/latest` (a one-line text file) is
replaced atomically; so a crash at any point leaves the previous snapshot usable.
`training_state.pt` holds only tensors and plain containers and is read with `weights_only=True`.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan2d.checkpoint import load_checkpoint, network_kind, save_checkpoint
from gan2d.errors import CheckpointError, ConfigError
from gan2d.io import atomic_write

STATE_VERSION = 1
STATE_FILE = "training_state.pt"


def network_config(net: nn.Module) -> dict[str, Any]:
    """The JSON config of a network: `net.config.to_dict()`, a dataclass config as a dict, or `{}`."""
    config = getattr(net, "config", None)
    if config is None:
        return {}
    if hasattr(config, "to_dict"):
        return config.to_dict()
    if dataclasses.is_dataclass(config):
        return dataclasses.asdict(config)
    return {}


def checkpoint_kind(net: nn.Module) -> str:
    """Registered kind for StyleGAN2 nets (loadable by `gan2d.checkpoint.load_network`), else the class path."""
    try:
        return network_kind(net)
    except CheckpointError:
        return f"{type(net).__module__}.{type(net).__qualname__}"


@dataclass
class LoopState:
    """Counters restored on resume."""

    step: int = 0
    nimg: int = 0


def save_snapshot(
    ckpt_dir: Path,
    state: LoopState,
    networks: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    aux: dict[str, nn.Module],
    keep: int,
) -> Path:
    """Write one complete snapshot and point `latest` at it; delete all but the newest `keep` snapshots."""
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    final = ckpt_dir / f"snapshot-{state.nimg:09d}"
    # mkdir, not mkdtemp: mkdtemp's 0o700 would stay on the renamed snapshot; this gets the umask's mode
    tmp = ckpt_dir / f".partial-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        extra = {"step": state.step, "nimg": state.nimg}
        for name, net in networks.items():
            save_checkpoint(
                tmp / f"{name}.safetensors", checkpoint_kind(net), network_config(net), net.state_dict(), extra
            )
        payload = {
            "version": STATE_VERSION,
            "step": state.step,
            "nimg": state.nimg,
            "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
            "aux": {k: m.state_dict() for k, m in aux.items()},
        }
        torch.save(payload, tmp / STATE_FILE)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    atomic_write(ckpt_dir / "latest", lambda tmp: tmp.write_text(final.name + "\n"))
    snapshots = sorted(p for p in ckpt_dir.glob("snapshot-*") if p.is_dir())
    for old in snapshots[: max(0, len(snapshots) - keep)]:
        shutil.rmtree(old)
    return final


def latest_snapshot(ckpt_dir: Path) -> Path | None:
    """The snapshot folder `latest` names, or None when there is none."""
    pointer = ckpt_dir / "latest"
    if not pointer.is_file():
        return None
    path = ckpt_dir / pointer.read_text().strip()
    if not (path / STATE_FILE).is_file():
        raise CheckpointError(f"{pointer} names {path}, which is not a complete snapshot")
    return path


def load_networks(path: Path, networks: dict[str, nn.Module], aux: dict[str, nn.Module] | None = None) -> list[str]:
    """Start a new run from another run's weights: load the networks of `networks` that the snapshot
    folder `path` holds (configs must match) and the auxiliary modules of `aux` its training state
    holds (a path-length mean, say), leaving the others (and every optimizer) fresh.

    `path` may instead be one generator file (a shipped or exported G_ema): it is loaded into both `G`
    and `G_ema`; its companions (`companion_files`: the run's discriminators shipped beside it) are loaded
    into the networks they name, and every other network and auxiliary module stays fresh.

    Returns:
        The names loaded (networks, then auxiliary modules).

    Raises:
        CheckpointError: missing or corrupt files, weights that do not fit, or no network in common.
        ConfigError: a network's saved config differs from the one being trained.
    """
    if path.is_file():
        names = [name for name in ("G", "G_ema") if name in networks]
        if not names:
            raise CheckpointError(f"{path} is one generator file, but the run has no G or G_ema to load it into")
        for name in names:
            _load_file(path, name, networks[name], "start from")
        for name, file in companion_files(path).items():
            if name in networks:
                _load_file(file, name, networks[name], "start from")
                names.append(name)
        return names
    names = [name for name in networks if (path / f"{name}.safetensors").is_file()]
    if not names:
        raise CheckpointError(f"{path} holds none of the networks {sorted(networks)}")
    _load_weights(path, {name: networks[name] for name in names}, "start from")
    saved = _training_state(path)["aux"] if aux else {}
    for name in (n for n in (aux or {}) if n in saved):
        aux[name].load_state_dict(saved[name])
        names.append(name)
    return names


def companion_files(generator: Path) -> dict[str, Path]:
    """The networks shipped beside a generator file `DIR/NAME.safetensors` so that its run can be continued:
    `DIR/NAME.{network}.safetensors` (e.g. `NAME.D.safetensors`), by network name.

    Example:
        >>> companion_files(Path("/nonexistent/G.safetensors"))
        {}
    """
    prefix = f"{generator.stem}."
    return {f.name[len(prefix):-len(".safetensors")]: f
            for f in sorted(generator.parent.glob(f"{generator.stem}.*.safetensors"))}


def _training_state(path: Path) -> dict[str, Any]:
    try:
        payload = torch.load(path / STATE_FILE, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"cannot read {path / STATE_FILE}: {e}") from e
    if payload.get("version") != STATE_VERSION:
        raise CheckpointError(f"{path / STATE_FILE}: unsupported training-state version {payload.get('version')}")
    return payload


def _load_weights(path: Path, networks: dict[str, nn.Module], verb: str) -> None:
    for name, net in networks.items():
        _load_file(path / f"{name}.safetensors", name, net, verb)


def _load_file(file: Path, name: str, net: nn.Module, verb: str) -> None:
    _, config, state_dict, _ = load_checkpoint(file)
    current = network_config(net)
    if config != current:
        raise ConfigError(f"cannot {verb}: network {name!r} was saved with config {config}, now {current}")
    try:
        net.load_state_dict(state_dict, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{file} does not fit the network: {e}") from e


def load_snapshot(
    path: Path,
    networks: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    aux: dict[str, nn.Module],
) -> LoopState:
    """Restore networks, optimizers and auxiliary modules in place from a snapshot folder.

    Raises:
        CheckpointError: missing or corrupt files, or weights that do not fit.
        ConfigError: a network's saved config differs from the one being trained.
    """
    _load_weights(path, networks, "resume")
    payload = _training_state(path)
    for group, targets in (("optimizers", optimizers), ("aux", aux)):
        saved = payload[group]
        if set(saved) != set(targets):
            raise CheckpointError(f"{path / STATE_FILE}: {group} {sorted(saved)} do not match {sorted(targets)}")
        for k, obj in targets.items():
            obj.load_state_dict(saved[k])
    return LoopState(step=int(payload["step"]), nimg=int(payload["nimg"]))
