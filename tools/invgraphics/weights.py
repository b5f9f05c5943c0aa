"""Inverse-graphics weights: one safetensors file in the project's checkpoint format, and the shipped default.

`save_model` writes the model's state and its `ModelConfig` (gan2d checkpoint header, kind
`tools.invgraphics.model`); `load_model` rebuilds it, refusing files of another kind, configs that
do not validate and weights that do not fit. The shipped model lives in `tools/invgraphics/weights/`
with a JSON copy of its config and `MODEL_CARD.md` (how it was trained, what it scores).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gan2d.budget import build_within
from gan2d.checkpoint import load_checkpoint, save_checkpoint
from gan2d.errors import CheckpointError, ConfigError
from tools.errors import ToolError
from tools.invgraphics.model import InverseGraphicsModel, ModelConfig

KIND = "tools.invgraphics.model"
WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "invgraphics.safetensors"


def save_model(path: str | os.PathLike, model: InverseGraphicsModel, extra: dict[str, Any] | None = None) -> Path:
    """Write `model` (atomically) with its config and `extra` (training facts, scores)."""
    return save_checkpoint(path, KIND, model.config.to_dict(), model.state_dict(), extra)


def load_model(path: str | os.PathLike | None = None) -> tuple[InverseGraphicsModel, dict[str, Any]]:
    """Load a model written by `save_model` (default: the shipped weights), in eval mode.

    Returns:
        the model and the checkpoint's extras.

    Raises:
        ToolError: a missing or corrupt file, another kind of checkpoint, or weights that do not fit.
    """
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    if not path.is_file():
        hint = " (train them with `neurender train inverse-graphics`)" if path == DEFAULT_WEIGHTS else ""
        raise ToolError(f"inverse-graphics weights not found: {path}{hint}")
    try:
        kind, config, state, extra = load_checkpoint(path)
        # A training snapshot names its networks by class path; exported weights by KIND.
        if kind not in (KIND, f"{InverseGraphicsModel.__module__}.{InverseGraphicsModel.__qualname__}"):
            raise CheckpointError(f"{path} holds a {kind!r}, not inverse-graphics weights")
        cfg = ModelConfig.from_dict(config)
        model = build_within(lambda: InverseGraphicsModel(cfg), sum(t.numel() for t in state.values()),
                             "the inverse-graphics config")
        model.load_state_dict(state, strict=True)
    except (CheckpointError, ConfigError, KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ToolError(f"{path}: not usable inverse-graphics weights ({' '.join(str(e).split())[:300]})") from e
    return model.eval(), extra


def load_snapshot_model(snapshot: str | os.PathLike) -> InverseGraphicsModel:
    """The averaged encoder (`E_ema.safetensors`) of a training snapshot folder.

    Raises:
        ToolError: as `load_model`.
    """
    return load_model(Path(snapshot) / "E_ema.safetensors")[0]

