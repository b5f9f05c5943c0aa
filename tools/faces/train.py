"""`neurender train faces`: every model of the faces job, in resumable stages inside one run folder.

Layout of `RUN/` (each stage skips what is already complete, so the command resumes after a kill):

    heads_gan/ heads_gan_val/      head sets for the generator and its held-out reference (yaw ±50°, pitch ±25°)
    heads_pose/ heads_pose_val/    wider head sets for the analyzer (yaw ±65°, pitch ±32°)
    analyzer/                      head analyzer: fit_state.pt, analyzer.safetensors, scores.json
    gan/                           StyleGAN2 run (`neurender train stylegan2` layout; resumes bit-exactly)
    control/                       pose directions, calibration and camera layers: control.json
    inverter/                      image → w encoder for `--from-photo`: fit_state.pt, inverter.safetensors

`export_weights` copies the finished models into a weights folder (the shipped `tools/faces/weights/`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from gan2d.checkpoint import load_checkpoint, load_network
from render3d.io import atomic_write
from tools.errors import ToolError
from tools.faces.analyzer import load_analyzer, save_analyzer
from tools.faces.analyzer_data import load_head_arrays, negatives
from tools.faces.analyzer_train import (
    AnalyzerTrainConfig,
    config_dict,
    evaluate_analyzer,
    fit_identity_projection,
    train_analyzer,
)
from tools.faces.bundle import ANALYZER, CONTROL, INVERTER, load_control
from tools.faces.control import PoseControl
from tools.faces.evaluate import build_control
from tools.faces.gan_run import FacesGANOptions, faces_gan_run
from tools.faces.headset import HeadSetConfig, generate_headset
from tools.faces.invert import InverterTrainConfig, inverter_scores, save_inverter, train_inverter
from tools.faces.invert import config_dict as invert_config_dict
from tools.faces.pose_labels import encode_pose, write_pose_labels
from tools.faces.readers import analyzer_reader
from tools.train.runs import StyleGAN2Run

STAGES = ("data", "analyzer", "gan", "control", "inverter")
WIDE = {"yaw_range": (-65.0, 65.0), "pitch_range": (-32.0, 32.0)}


@dataclass(frozen=True)
class FacesTrainOptions:
    """Settings of `neurender train faces` (defaults = the shipped models).

    Args:
        size: image side of every head set and model.
        identities: heads in the generator's set (4 views each).
        val_identities: heads in its held-out reference set.
        pose_identities: heads in the analyzer's (wider-pose) set.
        pose_val_identities: heads in the analyzer's held-out set.
        gan: generator run settings.
        analyzer: analyzer run settings.
        analyzer_negatives: images without a face in the analyzer's training set.
    """

    size: int = 64
    identities: int = 3000
    val_identities: int = 250
    pose_identities: int = 1000
    pose_val_identities: int = 200
    gan: FacesGANOptions = field(default_factory=FacesGANOptions)
    analyzer: AnalyzerTrainConfig = field(default_factory=AnalyzerTrainConfig)
    analyzer_negatives: int = 1200

    def head_sets(self) -> dict[str, HeadSetConfig]:
        """The four head sets by folder name."""
        s = self.size
        return {"heads_gan": HeadSetConfig(self.identities, 4, s, seed=0),
                "heads_gan_val": HeadSetConfig(self.val_identities, 4, s, seed=1),
                "heads_pose": HeadSetConfig(self.pose_identities, 4, s, seed=2, **WIDE),
                "heads_pose_val": HeadSetConfig(self.pose_val_identities, 4, s, seed=3, **WIDE)}


def stage_data(run: Path, opts: FacesTrainOptions, progress: bool = True) -> None:
    """Render the four head sets (resumable)."""
    for name, cfg in opts.head_sets().items():
        generate_headset(cfg, run / name, progress)


def stage_analyzer(run: Path, opts: FacesTrainOptions, progress: bool = True) -> dict[str, Any]:
    """Train the head analyzer on heads_pose + heads_gan, score it on heads_pose_val; returns the scores."""
    out = run / "analyzer"
    final = out / "analyzer.safetensors"
    if final.is_file():
        return load_analyzer(final)[1]["scores"]
    size = opts.size
    cache = out / "negatives.pt"  # rendering them is a good part of the stage: keep them across a resume
    if cache.is_file():
        neg_train, neg_val = torch.load(cache, weights_only=True)
    else:
        neg_train = negatives(opts.analyzer_negatives, size, seed=opts.analyzer.seed)
        neg_val = negatives(max(50, opts.analyzer_negatives // 4), size, seed=opts.analyzer.seed + 1000)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(cache, lambda p: torch.save((neg_train, neg_val), p))
    sets = [load_head_arrays(run / "heads_pose"), load_head_arrays(run / "heads_gan")]
    analyzer = train_analyzer(sets, neg_train, opts.analyzer, out, progress)
    fit_identity_projection(analyzer, sets, opts.analyzer.identity_dim)
    scores = evaluate_analyzer(analyzer, load_head_arrays(run / "heads_pose_val"), neg_val)
    extra = {"trained_on": ["heads_pose", "heads_gan"], "held_out": "heads_pose_val",
             "config": config_dict(opts.analyzer), "negatives": opts.analyzer_negatives, "scores": scores}
    save_analyzer(final, analyzer, extra)
    atomic_write(out / "scores.json", lambda p: p.write_text(json.dumps(scores, indent=2)))
    return scores


def stage_gan(run: Path, opts: FacesTrainOptions) -> Path:
    """Train (or resume) the generator; returns its run folder. A pose-conditioned one trains on the head set's
    ground-truth poses (`heads_gan/images/dataset.json`, written here)."""
    from tools.train.run import run_stylegan2

    out = run / "gan"
    heads = run / "heads_gan"
    spec = faces_gan_run(write_pose_labels(heads) if opts.gan.pose_conditioned else heads / "images", opts.gan)
    resume = (out / "checkpoints" / "latest").is_file()
    if resume:
        # Through from_dict, so that settings added since the run started compare at their defaults.
        saved, now = (json.loads(json.dumps(r.to_dict())) for r in (
            StyleGAN2Run.from_dict(json.loads((out / "config.json").read_text())), spec))
        if {k: v for k, v in saved.items() if k != "train"} != {k: v for k, v in now.items() if k != "train"}:
            raise ToolError(f"{out} holds a generator run with other settings; use another --out")
    start = None if opts.gan.start_from is None else start_snapshot(Path(opts.gan.start_from))
    identity = pose = None
    if opts.gan.view_identity > 0 or opts.gan.view_pose > 0:
        if opts.gan.identity_critic is None:
            raise ToolError("--view-identity and --view-pose need --identity-critic (a head analyzer checkpoint)")
        identity = identity_embedding(Path(opts.gan.identity_critic), heads / "images", opts.gan.resolution)
        pose = PoseLabelEstimator(identity.analyzer)
    run_stylegan2(spec, out, resume=resume, start_from=start, identity=identity, pose=pose)
    return out


class PoseLabelEstimator(torch.nn.Module):
    """A head analyzer's pose reading of images `[B, 3, R, R]` as the generator's labels `[B, 2]`."""

    def __init__(self, analyzer: torch.nn.Module) -> None:
        super().__init__()
        self.analyzer = analyzer

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return encode_pose(self.analyzer.pose(images))


class IdentityEmbedding(torch.nn.Module):
    """A head analyzer's identity descriptors `[B, K]` of images `[B, 3, R, R]`, divided by `spread` (the
    between-identity spread of real heads), so that two different heads lie about √2 apart."""

    def __init__(self, analyzer: torch.nn.Module, spread: float) -> None:
        super().__init__()
        self.analyzer, self.spread = analyzer, spread

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.analyzer.identity(images) / self.spread


def identity_embedding(critic: Path, images: Path, resolution: int, n: int = 512) -> IdentityEmbedding:
    """The identity embedding of the analyzer checkpoint `critic`, scaled on `n` real heads of the folder `images`
    read at the generator's `resolution` (as the generated images it will judge).

    Raises:
        CheckpointError: a missing or corrupt analyzer.
    """
    from gan2d.data.images import open_image_dataset
    from tools.faces.metrics import identity_spread

    analyzer = load_analyzer(critic)[0].eval().requires_grad_(False)
    data = open_image_dataset(images, resolution)
    step = max(1, data.num_images // n)
    with torch.no_grad():
        real = torch.stack([data.image(i) for i in range(0, data.num_images, step)][:n])
        spread = identity_spread(analyzer.identity(real))
    return IdentityEmbedding(analyzer, spread)


def start_snapshot(path: Path) -> Path:
    """What a run starts from: a generator file (`*.safetensors`, e.g. the shipped one: G and G_ema from it, D
    fresh), a snapshot folder, or the latest snapshot of a run folder (`RUN` or `RUN/gan`).

    Raises:
        ToolError: `path` holds no generator snapshot.
    """
    from gan2d.train.snapshot import latest_snapshot

    if (path.is_file() and path.suffix == ".safetensors") or (path / "G.safetensors").is_file():
        return path
    for ckpt in (path / "gan" / "checkpoints", path / "checkpoints"):
        snap = latest_snapshot(ckpt) if ckpt.is_dir() else None
        if snap is not None:
            return snap
    raise ToolError(f"--start-from {path}: no generator snapshot there (a RUN, RUN/gan, snapshot folder or "
                    "generator .safetensors file)")


def options_dict(opts: FacesTrainOptions) -> dict[str, Any]:
    """JSON-ready options (written to RUN/options.json)."""
    return json.loads(json.dumps(asdict(opts)))




def latest_generator(run: Path) -> tuple[Path, dict[str, Any]]:
    """The newest G_ema snapshot of the generator run and its step/kimg.

    Raises:
        ToolError: the generator run has no snapshot yet.
    """
    from gan2d.train.snapshot import latest_snapshot

    snap = latest_snapshot(run / "gan" / "checkpoints")
    if snap is None:
        raise ToolError(f"{run / 'gan'} holds no generator snapshot yet; run the gan stage first")
    return snap / "G_ema.safetensors", load_checkpoint(snap / "G_ema.safetensors")[3]


def stage_control(run: Path, progress: bool = True) -> PoseControl:
    """Fit directions, discover camera layers, choose the layers `direction` edits, calibrate both
    methods and measure the between-identity spread; writes `control/control.json`."""
    out = run / "control" / CONTROL
    if out.is_file():
        return load_control(out)
    gen_path, _ = latest_generator(run)
    G = load_network(gen_path)
    analyzer, _ = load_analyzer(run / "analyzer" / ANALYZER)
    control = build_control(G, analyzer_reader(analyzer), progress=print if progress else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda p: p.write_text(json.dumps(control.to_dict(), indent=2)))
    return control


def stage_inverter(run: Path, cfg: InverterTrainConfig, progress: bool = True) -> Path:
    """Train the photo inverter on the generator's samples; returns `inverter/inverter.safetensors`."""
    out = run / "inverter"
    final = out / INVERTER
    if final.is_file():
        return final
    gen_path, _ = latest_generator(run)
    G = load_network(gen_path)
    inverter = train_inverter(G, cfg, out, progress)
    scores = inverter_scores(G, inverter)
    save_inverter(final, inverter, {"config": invert_config_dict(cfg), "scores": scores,
                                    "generator": str(gen_path)})
    atomic_write(out / "scores.json", lambda p: p.write_text(json.dumps(scores, indent=2)))
    return final
