"""The faces model bundle: generator, head analyzer, pose control and inverter, loaded together.

A bundle folder (the shipped one is `tools/faces/weights/`) holds `generator.safetensors` (the
generator's EMA weights, gan2d format), `analyzer.safetensors` (`tools.faces.analyzer`),
`control.json` (`tools.faces.control.PoseControl` of that generator), `inverter.safetensors`
(`tools.faces.invert`), `generator_condition.safetensors` (the pose-conditioned generator that
`neurender faces` uses by default, `train faces --pose-conditioned`) and `MODEL_CARD.md`.
`--weights CKPT` swaps in another generator (our safetensors, an official StyleGAN2-ADA `.pkl`, a
rosinality `.pt`): its pose control is read from `CKPT.control.json` when present, else fitted on the
spot with the bundle's analyzer (or the landmark reader) and written beside the run's outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan2d.errors import CheckpointError
from gan2d.nets.stylegan2 import Generator
from tools.errors import ToolError
from tools.faces.analyzer import HeadAnalyzer, load_analyzer
from tools.faces.control import PoseControl

WEIGHTS_DIR = Path(__file__).parent / "weights"
GENERATOR, ANALYZER, CONTROL, INVERTER = "generator.safetensors", "analyzer.safetensors", "control.json", \
    "inverter.safetensors"
CONDITIONED = "generator_condition.safetensors"  # the pose-conditioned generator of `faces --method condition`
INVERTER_CONDITION = "inverter_condition.safetensors"  # its photo inverter (label-free w)


@dataclass
class FacesModels:
    """What the faces job runs with.

    Attributes:
        G: the generator (eval mode).
        analyzer: the head analyzer (pose, face score, identity), or None when unavailable.
        control: pose control of `G`, or None when it must still be fitted.
        source: where the generator came from (path and format).
        analyzer_extra: the analyzer checkpoint's extras (training data, held-out scores).
    """

    G: Generator
    analyzer: HeadAnalyzer | None
    control: PoseControl | None
    source: str
    analyzer_extra: dict[str, Any]

    @property
    def noise_floor(self) -> dict[str, Any] | None:
        """The analyzer's held-out pose error (median |error| in degrees), or None."""
        return self.analyzer_extra.get("scores", {}).get("noise_floor")


def load_control(path: Path) -> PoseControl:
    """Read a `control.json`.

    Raises:
        CheckpointError: missing, unreadable or malformed file.
    """
    try:
        return PoseControl.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise CheckpointError(f"pose control file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ToolError) as e:
        raise CheckpointError(f"{path}: not a readable pose control file ({e})") from e


def _check_compatible(control: PoseControl, G: Generator, where: Path) -> None:
    if control.directions.shape != (2, G.w_dim) or max(control.edit_layers + control.camera_layers) >= G.num_ws:
        raise CheckpointError(f"{where} does not fit the generator (w_dim {G.w_dim}, {G.num_ws} style layers)")


def load_models(weights: Path | None = None, bundle: Path = WEIGHTS_DIR) -> FacesModels:
    """Load the bundle, with the generator replaced by `weights` when given.

    Raises:
        CheckpointError: a missing or corrupt file, or a pose control that does not fit the generator.
        ToolError: `weights` is not a generator, or has an unknown checkpoint format.
    """
    from tools.gan.networks import load_gan_network

    if weights is None:
        path = bundle / GENERATOR
        if not path.is_file():
            raise CheckpointError(f"the embedded faces generator is missing: {path} (reinstall, or pass --weights)")
        G, fmt = load_gan_network(path)
        control_path = bundle / CONTROL
    else:
        G, fmt = load_gan_network(weights)
        control_path = weights.with_name(weights.name + ".control.json")
    if not isinstance(G, Generator):
        raise ToolError(f"{weights} holds a {type(G).__name__}, not a generator")
    if G.c_dim:
        raise ToolError(f"{weights} is a conditional generator ({G.c_dim} classes); faces needs an unconditional one")
    analyzer, extra = (load_analyzer(bundle / ANALYZER) if (bundle / ANALYZER).is_file() else (None, {}))
    control = None
    if weights is None or control_path.is_file():
        control = load_control(control_path)
        _check_compatible(control, G, control_path)
    return FacesModels(G.eval(), analyzer, control, f"{weights or bundle / GENERATOR} ({fmt})", extra)
