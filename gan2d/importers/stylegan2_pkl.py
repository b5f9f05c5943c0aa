"""Import official StyleGAN2-ADA / StyleGAN3-repo StyleGAN2 network pickles without running their code.

An official `network-snapshot-*.pkl` is a plain pickle of a dict with keys `G`, `D`, `G_ema` (plus
`training_set_kwargs`, `augment_pipe`). Each network was pickled by `torch_utils.persistence` as a call
`_reconstruct_persistent_obj(meta)` whose `meta` holds the class's source text (`module_src`) and the
module's `__dict__` (`state`: `_parameters`, `_buffers`, `_modules` nested, constructor attributes and
`_init_kwargs`). Loading it the ordinary way would import and run `module_src`. Here a restricted
unpickler maps that call and `dnnlib.util.EasyDict` to inert stand-ins, rebuilds tensors through torch's
weights-only loader, and refuses every other global. The state dicts are flattened into the official
names, which our networks share, and loaded strictly into a `Generator` / `Discriminator` built from the
attributes found in the pickle.

Precision: networks trained with `num_fp16_res > 0` ran their top blocks in float16 on the GPU; ours run
in float32, so images agree to float16 rounding, not bit for bit.
"""

from __future__ import annotations

import io
import os
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch._utils

from gan2d.budget import build_within
from gan2d.errors import CheckpointError, ConfigError
from gan2d.importers.common import first_line, fit_channels, taps_from_filter
from gan2d.nets.stylegan2.config import DiscriminatorConfig, GeneratorConfig
from gan2d.nets.stylegan2.discriminator import Discriminator
from gan2d.nets.stylegan2.generator import Generator


class PersistentObject:
    """Inert stand-in for a `torch_utils.persistence` object: keeps `meta`, never runs `meta["module_src"]`."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = meta

    @property
    def class_name(self) -> str:
        return str(self.meta.get("class_name", "?"))

    @property
    def state(self) -> dict[str, Any]:
        state = self.meta.get("state")
        if not isinstance(state, dict):
            raise CheckpointError(f"persistent {self.class_name} object has no state dict")
        return state

    def group(self, name: str) -> dict[str, Any]:
        """A dict entry of the state (`_modules`, `_parameters`, `_buffers`); empty when absent."""
        value = self.state.get(name) or {}
        if not isinstance(value, dict):
            raise CheckpointError(f"{self.class_name}.{name} is a {type(value).__name__}, not a dict")
        return value

    def child(self, name: str) -> PersistentObject:
        """Sub-module `name` from `_modules`."""
        child = self.group("_modules").get(name)
        if not isinstance(child, PersistentObject):
            raise CheckpointError(f"{self.class_name} has no persistent sub-module {name!r}")
        return child

    def has_child(self, name: str) -> bool:
        return isinstance(self.group("_modules").get(name), PersistentObject)


class EasyDict(dict):
    """Stand-in for `dnnlib.util.EasyDict` (a dict with attribute access in the original)."""


def _reconstruct_persistent_obj(meta: Any) -> PersistentObject:
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise CheckpointError("unsupported persistent object in network pickle (expected type='class')")
    return PersistentObject(meta)


def _load_storage_bytes(data: bytes) -> Any:
    # Storages are pickled as torch.save() bytes; torch's weights-only loader reads them without running code.
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _rebuild_from_type_v2(func: Any, new_type: Any, args: tuple, state: Any) -> torch.Tensor:
    if new_type not in (torch.Tensor, torch.nn.Parameter) or state:
        raise CheckpointError(f"refusing to rebuild tensor subclass {new_type!r} from a network pickle")
    return func(*args)


# Official layers keep gains as numpy float64 scalars (`1 / np.sqrt(fan_in)`); numpy rebuilds scalars and
# arrays from raw bytes (object contents go through this unpickler again).
_NP_SCALAR = np.float64(0).__reduce__()[0]
_NP_RECONSTRUCT = np.zeros(0).__reduce__()[0]

_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    ("torch.storage", "_load_from_bytes"): _load_storage_bytes,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch", "Tensor"): torch.Tensor,
    ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
    ("torch", "Size"): torch.Size,
    ("torch", "device"): torch.device,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy.core.multiarray", "scalar"): _NP_SCALAR,
    ("numpy._core.multiarray", "scalar"): _NP_SCALAR,
    ("numpy.core.multiarray", "_reconstruct"): _NP_RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _NP_RECONSTRUCT,
}


class SafeNetworkUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals an official network pickle needs, all to inert objects.

    Raises:
        CheckpointError: On any other global (e.g. `os.system`, a training class, `builtins.eval`).
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        raise CheckpointError(f"network pickle refers to {module}.{name}, which is not allowed "
                              "(only persistent networks, EasyDict and tensors are read; no code is run)")

    def persistent_load(self, pid: Any) -> Any:
        raise CheckpointError("network pickle uses persistent ids: it is a torch.save() file, not an official .pkl")


def read_network_pickle(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an official network pickle into a dict of `PersistentObject`s / plain data without running code.

    Args:
        path: The `.pkl` file.

    Returns:
        The top-level dict (`G`, `D`, `G_ema`, …).

    Raises:
        CheckpointError: Missing/corrupt file, a disallowed global, or a top level that is not a dict.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"network pickle not found: {path}")
    try:
        with path.open("rb") as f:
            data = SafeNetworkUnpickler(f).load()
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from e
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, RuntimeError, IndexError,
            KeyError, MemoryError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: corrupt or unsupported network pickle ({type(e).__name__}: {e})") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a dict with G/D/G_ema at the top, got {type(data).__name__}")
    return data


MAX_DEPTH = 32  # official networks nest 5 deep (G → synthesis → block → layer → affine)


def flatten_state(obj: PersistentObject, prefix: str = "", _path: tuple[int, ...] = ()) -> dict[str, torch.Tensor]:
    """Official module tree → flat state dict (`mapping.fc0.weight`, …), the way `nn.Module.state_dict` names it.

    Raises:
        CheckpointError: non-tensor weights, a module tree that contains itself (a crafted pickle can
            link an object back to its own state) or nests deeper than `MAX_DEPTH`.
    """
    state = obj.state
    if id(state) in _path or len(_path) >= MAX_DEPTH:
        raise CheckpointError(f"the module tree at {prefix or 'the top'!r} refers back to itself or nests over "
                              f"{MAX_DEPTH} levels: not a network pickle")
    skip = state.get("_non_persistent_buffers_set") or ()
    if not isinstance(skip, set | frozenset | list | tuple):
        raise CheckpointError(f"{obj.class_name}._non_persistent_buffers_set is a {type(skip).__name__}")
    out: dict[str, torch.Tensor] = {}
    for group in ("_parameters", "_buffers"):
        for name, value in obj.group(group).items():
            if value is None or (group == "_buffers" and name in skip):
                continue
            if not isinstance(value, torch.Tensor):
                raise CheckpointError(f"{prefix}{name} in {obj.class_name} is a {type(value).__name__}, not a tensor")
            out[prefix + name] = value.detach().to(torch.float32) if value.is_floating_point() else value.detach()
    for name, child in obj.group("_modules").items():
        if child is None:
            continue
        if not isinstance(child, PersistentObject):
            raise CheckpointError(f"sub-module {prefix}{name} is not a persistent object")
        out.update(flatten_state(child, f"{prefix}{name}.", (*_path, id(state))))
    return out


def _attr(obj: PersistentObject, name: str, default: Any = ...) -> Any:
    if name in obj.state:
        return obj.state[name]
    if default is ...:
        raise CheckpointError(f"{obj.class_name} state lacks the attribute {name!r}")
    return default


def _int(obj: PersistentObject, name: str, default: Any = ...) -> int:
    value = _attr(obj, name, default)
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise CheckpointError(f"{obj.class_name}.{name} must be an integer, got {value!r}")
    return int(value)


def _opt_int(obj: PersistentObject, name: str, default: Any) -> int | None:
    return None if _attr(obj, name, default) is None else _int(obj, name, default)


def _real(obj: PersistentObject, name: str, default: Any = ...) -> float | None:
    value = _attr(obj, name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise CheckpointError(f"{obj.class_name}.{name} must be a number, got {value!r}")
    return float(value)


def _weight(obj: PersistentObject, name: str = "weight", ndim: int = 2) -> torch.Tensor:
    value = flatten_state(obj).get(name)
    if not isinstance(value, torch.Tensor) or value.ndim != ndim:
        got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise CheckpointError(f"{obj.class_name}.{name} must be a {ndim}-D tensor, got {got}")
    return value


def _init_dict(obj: PersistentObject) -> dict[str, Any]:
    init = _attr(obj, "_init_kwargs", {}) or {}
    return dict(init) if isinstance(init, dict) else {}


def _kwargs(obj: PersistentObject, name: str) -> dict[str, Any]:
    value = _init_dict(obj).get(name, {})
    return dict(value) if isinstance(value, dict) else {}


def generator_config(G: PersistentObject) -> GeneratorConfig:
    """Our `GeneratorConfig` for an official StyleGAN2 generator's persistent state.

    Raises:
        CheckpointError: Not a StyleGAN2 skip generator (e.g. StyleGAN3's alias-free synthesis), or
            attributes that do not fit our configuration.
    """
    synthesis, mapping = G.child("synthesis"), G.child("mapping")
    res = _int(G, "img_resolution")
    if not synthesis.has_child("b4"):
        raise CheckpointError(f"synthesis network {synthesis.class_name} has no b4 block: only StyleGAN2 "
                              "generators are supported (StyleGAN3 alias-free synthesis is not)")
    channels: dict[int, int] = {}
    r = 4
    while r <= res:
        block = synthesis.child(f"b{r}")
        arch = _attr(block, "architecture", "skip")
        if arch != "skip":
            raise CheckpointError(f"synthesis block b{r} uses architecture {arch!r}; only 'skip' is supported")
        conv1 = block.child("conv1")
        if _attr(conv1, "activation", "lrelu") != "lrelu":
            raise CheckpointError(f"synthesis layers use activation {_attr(conv1, 'activation')!r}; expected 'lrelu'")
        channels[r] = _weight(conv1, ndim=4).shape[0]
        r *= 2
    synth_kw = _kwargs(G, "synthesis_kwargs")
    base, cmax = fit_channels(channels, synth_kw.get("channel_base"), synth_kw.get("channel_max"))
    conv1 = synthesis.child("b4").child("conv1")
    fc0 = _weight(mapping.child("fc0"))
    num_layers = _int(mapping, "num_layers")
    c_dim = _int(G, "c_dim", 0)
    embed = _weight(mapping.child("embed")).shape[0] if c_dim > 0 else None
    try:
        return GeneratorConfig(
            img_resolution=res, z_dim=_int(G, "z_dim"), c_dim=c_dim, w_dim=_int(G, "w_dim"),
            img_channels=_int(G, "img_channels"), mapping_layers=num_layers,
            mapping_lr_multiplier=_real(mapping.child("fc0"), "bias_gain", 0.01),
            embed_features=embed,
            layer_features=fc0.shape[0] if num_layers > 1 else None,
            w_avg_beta=_real(mapping, "w_avg_beta", 0.995), channel_base=base, channel_max=cmax,
            conv_clamp=_real(conv1, "conv_clamp", None), use_noise=bool(_attr(conv1, "use_noise", True)),
            resample_taps=taps_from_filter(_weight(conv1, "resample_filter")),
        )
    except ConfigError as e:
        raise CheckpointError(f"generator attributes do not fit GeneratorConfig: {e}") from e


def discriminator_config(D: PersistentObject) -> DiscriminatorConfig:
    """Our `DiscriminatorConfig` for an official residual StyleGAN2 discriminator's persistent state.

    Raises:
        CheckpointError: Not a residual StyleGAN2 discriminator, or attributes that do not fit.
    """
    res = _int(D, "img_resolution")
    channels: dict[int, int] = {}
    conv_clamp = None
    r = res
    while r >= 8:
        block = D.child(f"b{r}")
        if _attr(block, "architecture", "resnet") != "resnet":
            raise CheckpointError(f"discriminator block b{r} is not 'resnet'; only residual discriminators import")
        channels[r] = _weight(block.child("conv0"), ndim=4).shape[0]
        conv_clamp = _real(block.child("conv0"), "conv_clamp", None)
        r //= 2
    epilogue = D.child("b4")
    channels[4] = _weight(epilogue.child("conv"), ndim=4).shape[0]
    d_kw = _init_dict(D)
    base, cmax = fit_channels(channels, d_kw.get("channel_base"), d_kw.get("channel_max"))
    c_dim = _int(D, "c_dim", 0)
    mbstd = epilogue.child("mbstd") if epilogue.has_child("mbstd") else None
    out_w = _weight(epilogue.child("out"))
    mapping = D.child("mapping") if c_dim > 0 else None
    try:
        return DiscriminatorConfig(
            img_resolution=res, c_dim=c_dim, img_channels=_int(D, "img_channels"), channel_base=base,
            channel_max=cmax, conv_clamp=conv_clamp,
            cmap_dim=out_w.shape[0] if c_dim > 0 else None,
            mbstd_group_size=_opt_int(mbstd, "group_size", 4) if mbstd is not None else 4,
            mbstd_num_channels=_int(mbstd, "num_channels", 1) if mbstd is not None else 0,
            mapping_layers=_int(mapping, "num_layers") if mapping is not None else 8,
            mapping_lr_multiplier=_real(mapping.child("fc0"), "bias_gain", 0.01) if mapping else 0.01,
            resample_taps=taps_from_filter(_weight(D.child(f"b{res}").child("conv1"), "resample_filter")),
        )
    except ConfigError as e:
        raise CheckpointError(f"discriminator attributes do not fit DiscriminatorConfig: {e}") from e


def load_stylegan2_pkl(path: str | os.PathLike[str], key: str = "G_ema") -> Generator | Discriminator:
    """Import one network of an official StyleGAN2-ADA / StyleGAN3-repo `.pkl` without executing its code.

    Args:
        path: The network pickle.
        key: "G_ema" (the generator to sample from), "G", or "D".

    Returns:
        Our `Generator` (for G/G_ema) or `Discriminator` (for D) with the official weights, in eval mode.

    Raises:
        CheckpointError: Missing/corrupt file, a disallowed global, a missing key, an unsupported
            architecture, or weights that do not fit.

    Example:
        >>> G = load_stylegan2_pkl("ffhq.pkl")  # doctest: +SKIP
        >>> img = G(torch.randn(1, G.z_dim), noise_mode="const")  # doctest: +SKIP
    """
    data = read_network_pickle(path)
    obj = data.get(key)
    if not isinstance(obj, PersistentObject):
        raise CheckpointError(f"{path}: no persistent network under {key!r} (keys: {sorted(map(str, data))})")
    try:
        config = discriminator_config(obj) if key == "D" else generator_config(obj)
        state = flatten_state(obj)
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from e
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:  # any other malformed attribute
        raise CheckpointError(f"{path}: {key} is not a StyleGAN2 network this importer reads "
                              f"({type(e).__name__}: {first_line(e)})") from e
    cls: type[Generator | Discriminator] = Discriminator if key == "D" else Generator
    net = build_within(lambda: cls(config), sum(t.numel() for t in state.values()), f"{path}'s {key}")
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: {key} weights do not fit the inferred network: {first_line(e)}") from e
    return net.eval()
