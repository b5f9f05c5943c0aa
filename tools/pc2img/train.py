"""`neurender train pc2img`: data-engine clouds → the three pc2img stages, resumable; exports the shipped weights.

A run directory holds `config.json` (the resolved `Pc2ImgRun`), the loop's `train_config.json`,
`stats.jsonl`, `samples/step-*.png` and `checkpoints/snapshot-*/`. The training data (see
`tools.pc2img.trainset`) is generated into `run.data` first when missing, resumably, so one
command goes from nothing to weights; `export_weights` turns the EMA generator of the latest
snapshot into `weights/pc2img.safetensors` + `pc2img.json` + `MODEL_CARD.md` (with held-out scores).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gan2d.losses.perceptual import PerceptualLoss
from gan2d.nets.patchgan import MultiScalePatchGAN, PatchGANConfig
from gan2d.nets.vgg import VGGConfig, VGGFeatures
from gan2d.train.config import TrainConfig
from gan2d.train.loop import RunResult, train
from gan2d.train.snapshot import latest_snapshot
from render3d.io import atomic_write
from tools.errors import ToolError
from tools.pc2img.dataset import CloudViewDataset, Degradation
from tools.pc2img.evaluate import DENSITIES, heldout_files, quality, summarize
from tools.pc2img.model import Pc2ImgConfig, Pc2ImgModel
from tools.pc2img.model_card import model_card
from tools.pc2img.task import CONDITION_CHANNELS, Pc2ImgLossConfig, Pc2ImgTask
from tools.pc2img.trainset import write_split
from tools.pc2img.weights import save_weights

PERCEPTUAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@dataclass(frozen=True)
class TrainData:
    """The generated training set: `counts` samples per data-engine kind, `views` GT views at `size`²."""

    counts: dict[str, int] = field(default_factory=lambda: {"shapes": 160, "heads": 50, "scenes": 50})
    views: int = 6
    size: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        bad = sorted(set(self.counts) - {"shapes", "heads", "scenes"})
        if bad or not self.counts or min(self.counts.values()) < 1:
            raise ToolError(f"data counts must name shapes/heads/scenes with counts >= 1, got {self.counts}")


@dataclass(frozen=True)
class Pc2ImgRun:
    """Everything a training run needs; `to_dict()` is `config.json`."""

    data: str
    model: Pc2ImgConfig = field(default_factory=Pc2ImgConfig)
    D: PatchGANConfig = field(default_factory=lambda: PatchGANConfig(CONDITION_CHANNELS + 3, 32, 128, 3, 2))
    loss: Pc2ImgLossConfig = field(default_factory=Pc2ImgLossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    trainset: TrainData = field(default_factory=TrainData)
    degradation: Degradation = field(default_factory=Degradation)
    crop: int | None = 64
    vgg: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"task": "pc2img", "data": self.data, "model": self.model.to_dict(), "D": self.D.to_dict(),
                "loss": dataclasses.asdict(self.loss), "train": self.train.to_dict(),
                "trainset": dataclasses.asdict(self.trainset), "degradation": dataclasses.asdict(self.degradation),
                "crop": self.crop, "vgg": self.vgg}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Pc2ImgRun:
        """Inverse of `to_dict`.

        Raises:
            ToolError: not a pc2img run config.
        """
        try:
            if d["task"] != "pc2img":
                raise ToolError(f"not a pc2img run (task {d['task']!r})")
            return cls(d["data"], Pc2ImgConfig.from_dict(d["model"]), PatchGANConfig(**d["D"]),
                       Pc2ImgLossConfig(**d["loss"]), TrainConfig.from_dict(d["train"]), TrainData(**d["trainset"]),
                       Degradation(**d["degradation"]), d["crop"], d["vgg"])
        except (KeyError, TypeError, ValueError) as e:
            raise ToolError(f"not a valid pc2img run config ({e})") from e


def training_files(run: Pc2ImgRun, progress: bool = True) -> list[Path]:
    """Generate (or find) the training samples of every kind; returns the files."""
    ts = run.trainset
    files: list[Path] = []
    for kind, count in ts.counts.items():
        files += write_split(Path(run.data) / "train", kind, count, ts.views, ts.size, ts.seed, progress)
    return files


def load_run(out: Path, kimg: float | None = None) -> Pc2ImgRun:
    """The run saved in `out/config.json`, with its length replaced by `kimg` when given.

    Raises:
        ToolError: missing or invalid config.
    """
    path = out / "config.json"
    if not path.is_file():
        raise ToolError(f"cannot resume: {path} does not exist")
    try:
        run = Pc2ImgRun.from_dict(json.loads(path.read_text()))
    except json.JSONDecodeError as e:
        raise ToolError(f"cannot resume: {path} is not JSON ({e})") from e
    if kimg is not None:
        run = dataclasses.replace(run, train=dataclasses.replace(run.train, total_kimg=kimg))
    return run


def run_training(run: Pc2ImgRun, out: Path, resume: bool = False, progress: bool = True) -> RunResult:
    """Generate the data if needed and train (or resume) into `out`; see the module docstring.

    Raises:
        ToolError / ConfigError: bad settings, a run directory that already holds another run.
    """
    files = training_files(run, progress)
    dataset = CloudViewDataset(files, run.model, run.degradation, seed=run.train.seed, crop=run.crop)
    torch.manual_seed(run.train.seed)
    perceptual = None
    if run.vgg is not None:
        perceptual = PerceptualLoss(VGGFeatures.from_file(run.vgg, VGGConfig(19, PERCEPTUAL_LAYERS)))
    # fixed sample views spread over the kinds
    step = max(1, len(files) * dataset.views // run.loss.num_samples)
    picks = [dataset[i * step] for i in range(run.loss.num_samples)]
    samples = tuple(torch.utils.data.default_collate(picks))
    task = Pc2ImgTask(Pc2ImgModel(run.model), MultiScalePatchGAN(run.D), run.train, run.loss, samples, perceptual)
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        atomic_write(out / "config.json", lambda p: p.write_text(json.dumps(run.to_dict(), indent=2)))
    return train(task, dataset, run.train, out, resume=resume)


def export_weights(out: Path, dest: Path, extra: dict[str, Any] | None = None, heldout_per_kind: int = 2,
                   heldout_views: int = 4, heldout_seed: int = 1, progress: bool = True) -> Path:
    """Write the EMA model of `out`'s latest snapshot as shipped weights (`dest.safetensors` + `dest.json`),
    scored on held-out data-engine samples (`tools.pc2img.evaluate`, generated into `<data>/heldout-<seed>/`),
    with `MODEL_CARD.md` beside it.

    Raises:
        ToolError: no snapshot in `out`, or a held-out seed that is the training data's.
    """
    from gan2d.checkpoint import load_checkpoint

    if heldout_seed == run_seed(out):
        raise ToolError(f"held-out seed {heldout_seed} is the training data's seed")
    snap = latest_snapshot(out / "checkpoints")
    if snap is None:
        raise ToolError(f"{out} holds no training snapshot to export")
    _, config, state, meta = load_checkpoint(snap / "G_ema.safetensors")
    model = Pc2ImgModel(Pc2ImgConfig.from_dict(config))
    model.load_state_dict(state)
    model.eval().requires_grad_(False)
    run = load_run(out)
    files = heldout_files(Path(run.data) / f"heldout-{heldout_seed}", heldout_per_kind, heldout_views, heldout_seed,
                          progress)
    summary = summarize(quality(model, files, heldout_views, DENSITIES, heldout_seed, progress))
    info = {"snapshot": snap.name, "kimg": meta.get("nimg", 0) / 1000, "step": meta.get("step"),
            "heldout": {"seed": heldout_seed, "per_kind": heldout_per_kind, "views": heldout_views}}
    path = save_weights(dest, model, {**info, "heldout_summary": summary, **(extra or {})})
    card = model_card(run.to_dict(), info, summary, out)
    atomic_write(dest.parent / "MODEL_CARD.md", lambda p: p.write_text(card))
    return path


def run_seed(out: Path) -> int:
    """The data-engine seed of the training set of the run in `out`."""
    return load_run(out).trainset.seed
