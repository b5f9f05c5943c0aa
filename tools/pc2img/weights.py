"""pc2img weights on disk: the project's safetensors checkpoint (config in its header) + a JSON copy of the config.

The shipped default lives in `tools/pc2img/weights/` (`pc2img.safetensors`, `pc2img.json`,
`MODEL_CARD.md`); `neurender train pc2img` reproduces it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gan2d.checkpoint import load_checkpoint, save_checkpoint
from gan2d.errors import CheckpointError
from render3d.io import atomic_write
from tools.errors import ToolError
from tools.pc2img.model import Pc2ImgConfig, Pc2ImgModel

KIND = "pc2img.model"
DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "pc2img.safetensors"


def save_weights(path: str | os.PathLike, model: Pc2ImgModel, extra: dict[str, Any] | None = None) -> Path:
    """Write `model` to `path` (.safetensors) and its config to the `.json` beside it, atomically."""
    path = Path(path)
    config = model.config.to_dict()
    save_checkpoint(path, KIND, config, model.state_dict(), extra)
    text = json.dumps({"kind": KIND, "config": config, "extra": extra or {}}, indent=2) + "\n"
    atomic_write(path.with_suffix(".json"), lambda p: p.write_text(text))
    return path


def load_weights(path: str | os.PathLike | None = None) -> tuple[Pc2ImgModel, dict[str, Any]]:
    """The model stored at `path` (default: the shipped weights), in eval mode, and its extras.

    Raises:
        ToolError: missing, corrupt or foreign file, or weights that do not fit their config.
    """
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    try:
        kind, config, state, extra = load_checkpoint(path)
    except CheckpointError as e:
        raise ToolError(f"cannot load pc2img weights: {e}") from e
    if kind != KIND:
        raise ToolError(f"{path}: holds a {kind!r} checkpoint, not pc2img weights")
    model = Pc2ImgModel(Pc2ImgConfig.from_dict(config))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ToolError(f"{path}: weights do not fit their config ({str(e).splitlines()[0]})") from e
    return model.eval().requires_grad_(False), extra
