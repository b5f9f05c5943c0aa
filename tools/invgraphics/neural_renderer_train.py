"""Training runs of the GAN's attribute mapping (the neural renderer) and its weights.

A run directory holds `neural_renderer.json` (generator and encoder files, mapping and loss settings,
so `--resume` rebuilds the task), and what `gan2d.train.loop.train` writes. The exported weights are
the averaged mapping (`M_ema`) in the checkpoint format, kind `gan2d.attribute_mapping`, with the
generator and encoder they belong to named in their extras.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from gan2d.budget import build_within
from gan2d.checkpoint import load_checkpoint, save_checkpoint
from gan2d.errors import CheckpointError, ConfigError
from gan2d.nets.attribute_mapping import KIND, AttributeMapping, AttributeMappingConfig
from gan2d.nets.stylegan2 import Generator
from gan2d.train.config import TrainConfig
from gan2d.train.loop import RunResult, train
from gan2d.train.snapshot import latest_snapshot
from render3d.io import atomic_write
from tools.errors import ToolError
from tools.invgraphics.neural_renderer import NeuralRendererSettings, NeuralRendererTask, SeedSet, build_mapping
from tools.invgraphics.weights import load_model

RUN_FILE = "neural_renderer.json"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_loop() -> TrainConfig:
    """Loop settings of the shipped mapping: batch 8, Adam 1e-3."""
    return TrainConfig(total_kimg=20.0, batch_size=8, lr_g=1e-3, lr_d=1e-3, betas_g=(0.9, 0.99), ema_kimg=1.0,
                       ema_rampup=0.1, grad_clip=10.0, log_every=10, sample_every_kimg=1.0,
                       checkpoint_every_kimg=0.5)


@dataclass(frozen=True)
class NeuralRendererRun:
    """Everything a mapping run depends on.

    Attributes:
        generator: generator checkpoint (any format `neurender gan` reads).
        encoder: inverse-graphics weights.
        camera_layers: leading W+ layers the camera drives.
        hidden: mapping MLP width.
        loop: loop settings.
        settings: losses and camera ranges.
        pose_critic: head analyzer checkpoint whose pose reading `settings.w_pose` compares (None: no such term).
    """

    generator: str
    encoder: str
    camera_layers: int = 4
    hidden: int = 256
    loop: TrainConfig = field(default_factory=default_loop)
    settings: NeuralRendererSettings = field(default_factory=NeuralRendererSettings)
    pose_critic: str | None = None

    def to_dict(self) -> dict:
        return {"generator": self.generator, "encoder": self.encoder, "camera_layers": self.camera_layers,
                "hidden": self.hidden, "loop": self.loop.to_dict(), "settings": self.settings.to_dict(),
                "pose_critic": self.pose_critic}

    @classmethod
    def from_dict(cls, d: dict) -> NeuralRendererRun:
        s = dict(d["settings"])
        s = NeuralRendererSettings(**{**s, "yaw": tuple(s["yaw"]), "pitch": tuple(s["pitch"]),
                                      "background": tuple(s["background"])})
        return cls(d["generator"], d["encoder"], int(d["camera_layers"]), int(d["hidden"]),
                   TrainConfig.from_dict(d["loop"]), s, d.get("pose_critic"))


def load_generator(path: str | Path) -> Generator:
    """A generator from any checkpoint format `neurender gan` reads.

    Raises:
        ToolError: missing, unreadable, or not a generator.
    """
    from tools.gan.networks import load_gan_network

    try:
        G, _ = load_gan_network(Path(path))
    except CheckpointError as e:
        raise ToolError(f"--generator {path}: {' '.join(str(e).split())}") from e
    if not isinstance(G, Generator):
        raise ToolError(f"--generator {path} holds a {type(G).__name__}, not a generator")
    return G.eval()


def _digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def recorded_path(path: str) -> str:
    """`path` as exported weights name it: relative to the project root when it lies inside (the shipped files,
    so that the record reads the same on every checkout), else as given."""
    resolved = Path(path).resolve()
    return resolved.relative_to(PROJECT_ROOT).as_posix() if resolved.is_relative_to(PROJECT_ROOT) else path


def load_run(out: Path, kimg: float | None = None) -> NeuralRendererRun:
    """The run saved in `out` (optionally with a new total length)."""
    try:
        run = NeuralRendererRun.from_dict(json.loads((out / RUN_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ToolError(f"{out} holds no readable neural-renderer run ({RUN_FILE}: {e})") from e
    return run if kimg is None else replace(run, loop=replace(run.loop, total_kimg=kimg))


def run_training(run: NeuralRendererRun, out: Path, resume: bool = False) -> RunResult:
    """Train (or resume) the mapping of `run` into `out`.

    Raises:
        ToolError: unreadable generator, encoder or pose critic, a folder holding another run.
    """
    if not resume and (out / RUN_FILE).is_file():
        raise ToolError(f"{out} already holds a neural-renderer run; pass --resume or choose a new --out")
    G = load_generator(run.generator)
    encoder, _ = load_model(run.encoder)
    critic = None
    if run.pose_critic is not None:
        from tools.faces.analyzer import load_analyzer

        try:
            critic = load_analyzer(run.pose_critic)[0]
        except CheckpointError as e:
            raise ToolError(f"--pose-critic {run.pose_critic}: {' '.join(str(e).split())}") from e
    torch.manual_seed(run.loop.seed)  # the mapping's initial weights: torch's process seed is random
    mapping = build_mapping(G, encoder, run.camera_layers, run.hidden)
    task = NeuralRendererTask(G, encoder, mapping, run.loop, run.settings, pose_critic=critic)
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        atomic_write(out / RUN_FILE, lambda p: p.write_text(json.dumps(run.to_dict(), indent=2)))
    return train(task, SeedSet(1 << 20), run.loop, out, resume=resume)


def save_mapping(path: Path, mapping: AttributeMapping, extra: dict) -> Path:
    """Write the mapping (atomic) with its config and extras."""
    return save_checkpoint(path, KIND, mapping.config.to_dict(), mapping.state_dict(), extra)


def load_mapping(path: str | Path) -> tuple[AttributeMapping, dict]:
    """Read a mapping written by `save_mapping` (or a run snapshot's `M_ema.safetensors`).

    Raises:
        ToolError: missing or corrupt file, another kind of checkpoint, weights that do not fit.
    """
    path = Path(path)
    if not path.is_file():
        raise ToolError(f"neural-renderer weights not found: {path}")
    try:
        kind, config, state, extra = load_checkpoint(path)
        if kind not in (KIND, f"{AttributeMapping.__module__}.{AttributeMapping.__qualname__}"):
            raise CheckpointError(f"{path} holds a {kind!r}, not an attribute mapping")
        cfg = AttributeMappingConfig.from_dict(config)
        mapping = build_within(lambda: AttributeMapping(cfg), sum(t.numel() for t in state.values()),
                               "the attribute-mapping config")
        mapping.load_state_dict(state, strict=True)
    except (CheckpointError, ConfigError, TypeError, ValueError, RuntimeError) as e:
        raise ToolError(f"{path}: not usable neural-renderer weights ({' '.join(str(e).split())[:300]})") from e
    return mapping.eval(), extra


def export_mapping(run_dir: Path, dest: Path, extra: dict | None = None) -> Path:
    """The latest snapshot's averaged mapping as weights, naming the generator and encoder it fits.

    Raises:
        ToolError: no snapshot.
    """
    snap = latest_snapshot(run_dir / "checkpoints")
    if snap is None:
        raise ToolError(f"{run_dir} holds no training snapshot to export")
    mapping, _ = load_mapping(snap / "M_ema.safetensors")
    run = load_run(run_dir)
    record = replace(run, generator=recorded_path(run.generator), encoder=recorded_path(run.encoder))
    info = {"snapshot": snap.name, "train_run": record.to_dict(), "generator_sha256_16": _digest(run.generator),
            "encoder_sha256_16": _digest(run.encoder), **(extra or {})}
    path = save_mapping(dest, mapping, info)
    atomic_write(dest.with_suffix(".json"), lambda p: p.write_text(json.dumps(
        {"mapping": mapping.config.to_dict(), **info}, indent=2)))
    return path


def check_pair(extra: dict, generator: str | Path, encoder: str | Path) -> list[str]:
    """Refuse a mapping trained for another generator; notes for another or unrecorded encoder/generator.

    A mapping turns codes into one generator's W+: with another generator (a retrained one has the same
    sizes) it renders something else, so that is an error, not a warning. Another encoder only shifts
    the codes it reads, so that stays a note.

    Raises:
        ToolError: `extra` records a generator hash and `generator` is a file with another one.
    """
    notes = []
    want = extra.get("generator_sha256_16")
    if want is None:
        notes.append("the neural-renderer weights record no generator; they may not fit " + str(generator))
    elif Path(generator).is_file() and (got := _digest(generator)) != want:
        raise ToolError(f"the neural-renderer weights were trained for generator sha256 {want}…, {generator} is "
                        f"{got}…; retrain them with 'neurender train neural-renderer --generator {generator}'")
    want = extra.get("encoder_sha256_16")
    if want is not None and Path(encoder).is_file() and _digest(encoder) != want:
        notes.append(f"the neural renderer was trained for another encoder than {encoder}")
    return notes
