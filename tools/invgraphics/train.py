"""Training runs of the inverse-graphics encoder: what a run is (`TrainRun`), running it, exporting weights.

A run directory holds `invgraphics.json` (the `TrainRun`, so `--resume` rebuilds the identical task),
and what `gan2d.train.loop.train` writes: `train_config.json`, `stats.jsonl`, sample grids and
resumable snapshots (`E`, `E_ema`, the camera refinements `cams`, the optimizer).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from gan2d.train.config import TrainConfig
from gan2d.train.loop import RunResult, train
from gan2d.train.snapshot import latest_snapshot
from render3d.io import atomic_write
from tools.errors import ToolError
from tools.invgraphics.data import MultiviewViews, SetSpec, check_roots
from tools.invgraphics.evaluate import evaluate
from tools.invgraphics.losses import LossWeights
from tools.invgraphics.model import InverseGraphicsModel, ModelConfig
from tools.invgraphics.model_card import model_card
from tools.invgraphics.render import SoftRenderSettings
from tools.invgraphics.task import CameraRefinement, InverseGraphicsTask, RefinementConfig, TaskSettings
from tools.invgraphics.weights import load_model, load_snapshot_model, save_model

RUN_FILE = "invgraphics.json"
SAMPLE_COUNT = 8


def default_loop() -> TrainConfig:
    """The loop settings of the shipped weights (batch 8, Adam 1e-3, short EMA half-life)."""
    return TrainConfig(total_kimg=40.0, batch_size=8, lr_g=1e-3, lr_d=1e-3, betas_g=(0.9, 0.99),
                       ema_kimg=1.0, ema_rampup=0.1, grad_clip=10.0, log_every=10, sample_every_kimg=1.0,
                       checkpoint_every_kimg=0.5)


@dataclass(frozen=True)
class TrainRun:
    """Everything a training run depends on.

    Attributes:
        sets: the multi-view sets (and how each is used).
        model: the network and its template.
        loop: the training loop's settings.
        task: how losses are built.
        perceptual: a local torchvision VGG16 weights file enabling the perceptual term, or None.
        init: weights to start from (e.g. the data-engine model, fine-tuned on GAN sets), or None.
    """

    sets: tuple[SetSpec, ...]
    model: ModelConfig
    loop: TrainConfig = field(default_factory=default_loop)
    task: TaskSettings = field(default_factory=TaskSettings)
    perceptual: str | None = None
    init: str | None = None

    def to_dict(self) -> dict:
        return {"sets": [asdict(s) for s in self.sets], "model": self.model.to_dict(), "loop": self.loop.to_dict(),
                "task": asdict(self.task), "perceptual": self.perceptual, "init": self.init}

    @classmethod
    def from_dict(cls, data: dict) -> TrainRun:
        t = dict(data["task"])
        task = TaskSettings(other_views=t["other_views"], zoom=tuple(t["zoom"]), flip=t["flip"],
                            weights=LossWeights(**t["weights"]), render=SoftRenderSettings(**t["render"]))
        return cls(tuple(SetSpec(**s) for s in data["sets"]), ModelConfig.from_dict(data["model"]),
                   TrainConfig.from_dict(data["loop"]), task, data.get("perceptual"), data.get("init"))


def load_run(out: Path, kimg: float | None = None) -> TrainRun:
    """The run saved in `out` (optionally with a new total length, to extend it).

    Raises:
        ToolError: no readable run file.
    """
    try:
        run = TrainRun.from_dict(json.loads((out / RUN_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ToolError(f"{out} holds no readable inverse-graphics run ({RUN_FILE}: {e})") from e
    if kimg is not None:
        from dataclasses import replace

        run = replace(run, loop=replace(run.loop, total_kimg=kimg))
    return run


def _perceptual(path: str | None):
    if path is None:
        return None
    from gan2d.errors import Gan2DError
    from gan2d.losses.perceptual import PerceptualLoss
    from gan2d.nets.vgg import VGGConfig, VGGFeatures

    try:
        vgg = VGGFeatures.from_file(path, VGGConfig(16, ("relu1_2", "relu2_2")))
    except Gan2DError as e:
        raise ToolError(f"--vgg {path}: {str(e).splitlines()[0]}; it must be a local torchvision VGG16 state dict") \
            from e
    return PerceptualLoss(vgg, (0.5, 1.0))


def sample_batch(held: MultiviewViews, n: int = SAMPLE_COUNT) -> tuple[torch.Tensor, ...]:
    """`n` held-out samples spread over the set (every kind shows), collated."""
    idx = torch.linspace(0, len(held) - 1, min(n, len(held))).round().long().unique()
    return torch.utils.data.default_collate([held[int(i)] for i in idx])


def run_training(run: TrainRun, out: Path, resume: bool = False) -> RunResult:
    """Train (or resume) `run` into `out`.

    Raises:
        ToolError: missing data, a run folder that holds another run, nothing to resume.
    """
    check_roots([s.root for s in run.sets])
    if not resume and (out / RUN_FILE).is_file():
        raise ToolError(f"{out} already holds an inverse-graphics run; pass --resume or choose a new --out")
    perceptual = _perceptual(run.perceptual)
    train_set = MultiviewViews(run.sets, "train")
    held = MultiviewViews(run.sets, "heldout")
    if train_set.size != run.model.net.resolution:
        raise ToolError(f"the training views are {train_set.size}² but the network reads {run.model.net.resolution}²; "
                        "render the sets at the network's resolution")
    model = InverseGraphicsModel(run.model)
    if run.init is not None and not resume:
        start, _ = load_model(run.init)
        if start.config != run.model:
            raise ToolError(f"--init {run.init} holds a model of another configuration ({start.config})")
        model.load_state_dict(start.state_dict())
    refinement = CameraRefinement(RefinementConfig(len(train_set), train_set.views))
    task = InverseGraphicsTask(model, refinement, run.loop, run.task, sample_batch(held), perceptual)
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        atomic_write(out / RUN_FILE, lambda p: p.write_text(json.dumps(run.to_dict(), indent=2)))
    return train(task, train_set, run.loop, out, resume=resume)


def heldout_scores(run: TrainRun, model: InverseGraphicsModel) -> dict:
    """Held-out scores of `model` on each of the run's sets and on all together (`evaluate.evaluate`)."""
    out = {}
    for spec in run.sets:
        res = evaluate(model, MultiviewViews([spec], "heldout"))
        res.pop("rows")
        out[Path(spec.root).name] = res
    n = sum(r["samples"] for r in out.values())
    out["heldout"] = {k: sum(r[k] * r["samples"] for r in out.values()) / n for k in ("input_iou", "novel_iou")}
    return out


def export_weights(run_dir: Path, dest: Path, extra: dict | None = None) -> Path:
    """Write the latest snapshot's averaged encoder as shipped weights (`dest`, safetensors + JSON config),
    with its held-out scores in the extras, and `MODEL_CARD.md` beside it.

    Raises:
        ToolError: no snapshot in `run_dir`.
    """
    snap = latest_snapshot(run_dir / "checkpoints")
    if snap is None:
        raise ToolError(f"{run_dir} holds no training snapshot to export")
    model = load_snapshot_model(snap)
    run = load_run(run_dir)
    # The snapshot's name is its sample count: a run extended by `--resume --kimg` ran longer than its run file says.
    info = {"snapshot": snap.name, "kimg": int(snap.name.rpartition("-")[2]) / 1000, "train_run": run.to_dict(),
            "scores": heldout_scores(run, model), **(extra or {})}
    path = save_model(dest, model, info)
    atomic_write(dest.with_suffix(".json"), lambda p: p.write_text(json.dumps(
        {"model": model.config.to_dict(), **info}, indent=2)))
    card = model_card(info, run_dir)
    atomic_write(dest.parent / "MODEL_CARD.md", lambda p: p.write_text(card))
    return path
