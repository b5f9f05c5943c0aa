"""The embedded faces generator's training run: a small StyleGAN2 on the procedural head set.

Settings are chosen for speed on a 2-core CPU at 64² while keeping the StyleGAN2-ADA recipe: narrow
channels (channel_base 1024: 16 channels at 64², 64 at 16², 256 at 4²; a step costs 13.5 GFLOP at
batch 8 against 35 for channel_base 2048), a 128-d z/w with the "auto" config's 2-layer mapping,
batch 8, lazy R1 every 16 steps with γ = 1 (the "auto" γ = 0.0002·R²/batch = 0.1 let the
discriminator run away on this small set: real/fake logits ±4 after 6 kimg, no diversity at 20 kimg),
DiffAugment translation against discriminator overfitting, lazy path length every 4 steps (it keeps
W smooth, which the linear pose directions rely on), style mixing 0.9 (it localizes what each layer
controls, which camera-layer discovery relies on), EMA half-life batch·10/32 kimg, and x-flips (a
mirrored head is a head at the opposite yaw).

`pose_conditioned` trains the second control method's generator instead (`tools.faces.condition`):
the same run, conditioned on each image's ground-truth (yaw, pitch) through the data set's
`dataset.json` (mirrored items get the negated yaw). The label moves only the first `view_layers`
styles (`gan2d.nets.stylegan2.ViewConditionedMapping`); D gets StyleGAN2-ADA's projection conditioning.
`view_pairs` > 0 adds the view-pair discriminator (`gan2d.train.view_pair_task`): two views of one
latent must look like two real views of one head (the set's four views per head are its pairs), which
is what ties identity across a turn; `view_identity` > 0 adds the agreement of a frozen head analyzer's
identity descriptors over G's pairs (`identity_critic`: a second analyzer, not the one the bench
measures drift with), `view_pose` > 0 that analyzer's pose error against each view's label (it holds the views at
their labels while the identity term pulls them together); `start_from` begins such a run from an earlier run's
weights, and `view_head_only` trains only the label's style offsets (`VIEW_HEAD`) from there: every other weight of
G is frozen, so the identity and texture styles and the synthesis stay the trained ones and only what a change of
view does to the early styles is learned (no path-length penalty: it regularizes the frozen synthesis).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gan2d.nets.stylegan2 import DiscriminatorConfig, GeneratorConfig
from gan2d.train.config import TrainConfig
from gan2d.train.snapshot import companion_files
from gan2d.train.stylegan2_task import StyleGAN2LossConfig
from tools.faces.pose_labels import POSE_DIM
from tools.train.runs import StyleGAN2Run

# A trained generator against a fresh discriminator gets noise for gradients until D has learned, so D trains alone
# first. That is the least a file start needs, not enough at the faces scale (BENCHMARKS.md: the identity fine-tune
# from the shipped G_ema lost quality within 2 kimg after a 4- or a 16-kimg warm-up); continue a run's folder, or a
# generator file with its run's D beside it (`companion_files`), instead.
FILE_START_WARMUP_KIMG = 4.0
# The pose-conditioned mapping's label head (gan2d.nets.stylegan2.ViewConditionedMapping): the label's offsets.
VIEW_HEAD = ("mapping.embed", "mapping.view0", "mapping.view1")


@dataclass(frozen=True)
class FacesGANOptions:
    """The knobs of the faces generator run (defaults = the shipped model).

    Args:
        resolution: image side.
        kimg: training length in thousands of real images.
        batch: minibatch.
        channel_base: channels at resolution r are min(channel_base // r, channel_max).
        channel_max: channel cap.
        latent_dim: z and w width.
        r1_gamma: R1 weight.
        diffaug: DiffAugment policy.
        seed: seed of the initialization, data order and every random draw.
        sample_kimg: kimg between sample grids.
        snap_kimg: kimg between snapshots.
        progress: show a progress bar.
        pose_conditioned: condition G and D on the ground-truth (yaw, pitch) (the `condition` method).
        view_layers: leading styles the pose label moves (pose-conditioned only).
        view_pairs: weight of the view-pair discriminator in G's loss (pose-conditioned only; 0 = none).
        start_from: snapshot folder whose G, D and G_ema a new run starts from, or one generator file for G and
            G_ema alone (None = fresh weights).
        view_identity: weight of the identity-descriptor agreement of G's view pairs (with view_pairs).
        identity_critic: the head analyzer checkpoint whose descriptors that term compares.
        d_warmup: kimg the discriminators train alone before G moves (None: see `warmup_kimg`).
        view_identity_relative: that agreement relative to the batch's between-latent distances.
        view_pose: weight of the identity critic's pose error on G's view pairs (with view_pairs).
        view_head_only: train only G's label head `VIEW_HEAD` (pose-conditioned, from `start_from`).
        lr: Adam learning rate of every network (a fine-tune may want less).
    """

    resolution: int = 64
    kimg: float = 150.0
    batch: int = 8
    channel_base: int = 1024
    channel_max: int = 256
    latent_dim: int = 128
    r1_gamma: float = 1.0
    diffaug: tuple[str, ...] = ("translation",)
    seed: int = 0
    sample_kimg: float = 5.0
    snap_kimg: float = 2.0
    progress: bool = True
    pose_conditioned: bool = False
    view_layers: int = 4
    view_pairs: float = 0.0
    start_from: str | None = None
    view_identity: float = 0.0
    identity_critic: str | None = None
    d_warmup: float | None = None
    view_identity_relative: bool = False
    view_pose: float = 0.0
    view_head_only: bool = False
    lr: float = 0.0025

    def warmup_kimg(self) -> float:
        """`d_warmup`, or by default `FILE_START_WARMUP_KIMG` for a start from a generator file without its
        discriminator beside it (`companion_files`) and 0 otherwise."""
        if self.d_warmup is not None:
            return self.d_warmup
        start = None if self.start_from is None else Path(self.start_from)
        fresh_d = start is not None and start.is_file() and "D" not in companion_files(start)
        return FILE_START_WARMUP_KIMG if fresh_d else 0.0


def faces_gan_run(data: str | Path, opts: FacesGANOptions) -> StyleGAN2Run:
    """The StyleGAN2 run that trains the faces generator on the head set image folder `data` (pose-conditioned:
    a folder with the `dataset.json` of `tools.faces.pose_labels.write_pose_labels`)."""
    arch = dict(img_resolution=opts.resolution, channel_base=opts.channel_base, channel_max=opts.channel_max)
    cond = dict(c_dim=POSE_DIM, view_layers=opts.view_layers) if opts.pose_conditioned else {}
    return StyleGAN2Run(
        data=str(data),
        mirror=True,
        G=GeneratorConfig(**arch, z_dim=opts.latent_dim, w_dim=opts.latent_dim, mapping_layers=2, **cond),
        D=DiscriminatorConfig(**arch, c_dim=POSE_DIM if opts.pose_conditioned else 0),
        loss=StyleGAN2LossConfig(r1_gamma=opts.r1_gamma, r1_interval=16, pl_weight=0.0 if opts.view_head_only else 2.0,
                                 pl_interval=4, style_mixing_prob=0.9, diffaug=opts.diffaug,
                                 view_pair_weight=opts.view_pairs, view_identity_weight=opts.view_identity,
                                 view_identity_relative=opts.view_identity_relative,
                                 d_warmup_kimg=opts.warmup_kimg(), view_pose_weight=opts.view_pose,
                                 g_trainable=VIEW_HEAD if opts.view_head_only else ()),
        train=TrainConfig(total_kimg=opts.kimg, batch_size=opts.batch, lr_g=opts.lr, lr_d=opts.lr,
                          ema_kimg=opts.batch * 10 / 32, seed=opts.seed, num_workers=0,
                          sample_every_kimg=opts.sample_kimg, checkpoint_every_kimg=opts.snap_kimg,
                          progress=opts.progress),
    )
