"""Builds network pickles with the structure of official StyleGAN2-ADA snapshots from our own networks.

Each module is pickled as `torch_utils.persistence._reconstruct_persistent_obj(meta)` with `meta` =
{type, version, module_src, class_name, state=module.__dict__-like}, EasyDicts as `dnnlib.util.EasyDict`.
The fake `torch_utils` / `dnnlib` modules exist only while dumping; `module_src` writes a marker file if
anything ever executes it.
"""

from __future__ import annotations

import pickle
import sys
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

OFFICIAL_CLASS = {
    "Generator": "Generator", "MappingNetwork": "MappingNetwork", "SynthesisNetwork": "SynthesisNetwork",
    "SynthesisBlock": "SynthesisBlock", "ModulatedConv2d": "SynthesisLayer", "ToRGB": "ToRGBLayer",
    "EqualLinear": "FullyConnectedLayer", "EqualConv2d": "Conv2dLayer", "Discriminator": "Discriminator",
    "DiscriminatorBlock": "DiscriminatorBlock", "DiscriminatorEpilogue": "DiscriminatorEpilogue",
    "MinibatchStd": "MinibatchStdLayer",
}
ARCHITECTURE = {"SynthesisBlock": "skip", "DiscriminatorBlock": "resnet", "DiscriminatorEpilogue": "resnet"}


def _must_not_run(meta):
    raise AssertionError("the importer called the pickled reconstruct function")


class _FakeEasyDict(dict):
    pass


class _Persistent:
    def __init__(self, meta: dict) -> None:
        self.meta = meta

    def __reduce__(self):
        return (_must_not_run, (self.meta,))


def _install_fakes() -> dict[str, types.ModuleType]:
    tu, tup = types.ModuleType("torch_utils"), types.ModuleType("torch_utils.persistence")
    dn, dnu = types.ModuleType("dnnlib"), types.ModuleType("dnnlib.util")
    _must_not_run.__module__, _must_not_run.__qualname__ = "torch_utils.persistence", "_reconstruct_persistent_obj"
    tup._reconstruct_persistent_obj = _must_not_run
    _FakeEasyDict.__module__, _FakeEasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    dnu.EasyDict = _FakeEasyDict
    tu.persistence, dn.util = tup, dnu
    return {"torch_utils": tu, "torch_utils.persistence": tup, "dnnlib": dn, "dnnlib.util": dnu}


def persistent(module: nn.Module, module_src: str, init_kwargs: dict | None = None) -> _Persistent:
    """Official-style persistent object for `module` and its children."""
    name = type(module).__name__
    state: dict = {
        "training": False,
        "_parameters": OrderedDict(module._parameters),
        "_buffers": OrderedDict(module._buffers),
        "_non_persistent_buffers_set": set(),
        "_backward_hooks": OrderedDict(),
        "_forward_hooks": OrderedDict(),
        "_forward_pre_hooks": OrderedDict(),
        "_state_dict_hooks": OrderedDict(),
        "_load_state_dict_pre_hooks": OrderedDict(),
        "_modules": OrderedDict((n, persistent(c, module_src)) for n, c in module._modules.items()),
        "_init_args": (),
        "_init_kwargs": _FakeEasyDict(init_kwargs or {}),
    }
    for key, value in vars(module).items():
        if not key.startswith("_") and isinstance(value, int | float | str | bool | list | type(None)):
            # The official layers compute their gains with numpy: float64 scalars in the pickle.
            state[key] = np.float64(value) if key in ("weight_gain", "act_gain") else value
    if name in ARCHITECTURE:
        state["architecture"] = ARCHITECTURE[name]
    meta = {"type": "class", "version": 4, "module_src": module_src, "class_name": OFFICIAL_CLASS[name],
            "state": state}
    return _Persistent(meta)


def easydict(**kw) -> _FakeEasyDict:
    return _FakeEasyDict(kw)


def dump_official_pickle(path: Path, data_fn) -> None:
    """Write `data_fn()` (which may call `persistent` / `easydict`) as a pickle with the fake modules present."""
    fakes = _install_fakes()
    saved = {k: sys.modules.get(k) for k in fakes}
    sys.modules.update(fakes)
    try:
        with open(path, "wb") as f:
            pickle.dump(data_fn(), f, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def randomize(net: nn.Module, seed: int = 0) -> nn.Module:
    """Give every parameter (noise strengths, biases, w_avg included) non-trivial values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith(("noise_strength", "bias")):
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
        for name, b in net.named_buffers():
            if name.endswith("w_avg"):
                b.copy_(torch.randn(b.shape, generator=g))
    return net.eval()
