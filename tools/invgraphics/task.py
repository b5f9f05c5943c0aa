"""The inverse-graphics training task: one `E_main` phase of `gan2d.train.loop` with the renderer inside.

Each step, for every sample of the minibatch: pick its input view A and M other views at random,
mirror the whole sample with probability 1/2 and zoom view A (both exact, `augment`), predict from
view A, render the prediction at A's predicted camera and at the other views' cameras carried into
the predicted frame (`camera.transfer`), and sum the named terms of `losses` (silhouette and color at
A, multi-view consistency at the others, camera supervision, mesh regularizers). Cameras of sets
flagged as noisy (GAN views steered to a requested pose) are refined jointly: a learned per-view
correction `CameraRefinement` is added to their labels before use, kept small by a prior.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from gan2d.train.config import TrainConfig
from gan2d.train.loop import Batch, Phase
from render3d.cameras import Cameras
from tools.imageconv import render_to_gan
from tools.invgraphics.augment import flip_views, zoom
from tools.invgraphics.camera import transfer
from tools.invgraphics.data import as_float
from tools.invgraphics.losses import (
    LossWeights,
    camera_terms,
    image_terms,
    mesh_terms,
    moment_terms,
    multiview_terms,
    weighted_total,
)
from tools.invgraphics.model import InverseGraphicsModel
from tools.invgraphics.render import SoftRenderSettings

# Units of the refinement parameters: degrees for the three angles, log-distance for the last.
REFINE_UNITS = (5.0, 5.0, 5.0, 0.05)


@dataclass(frozen=True)
class RefinementConfig:
    """Size of the camera-refinement table (JSON config of its snapshot file)."""

    samples: int
    views: int

    def to_dict(self) -> dict:
        return asdict(self)


class CameraRefinement(nn.Module):
    """Learned corrections `[N, V, 4]` of the labelled cameras of every training view (zeros at start)."""

    def __init__(self, config: RefinementConfig) -> None:
        super().__init__()
        self.config = config
        self.delta = nn.Parameter(torch.zeros(config.samples, config.views, 4))

    def forward(self, index: torch.Tensor, params: torch.Tensor, enabled: torch.Tensor) -> tuple[torch.Tensor,
                                                                                                     torch.Tensor]:
        """Refined `[B, V, 4]` cameras of samples `index: [B]` (only where `enabled: [B]`), and the
        squared size of the corrections used (for the prior)."""
        d = self.delta[index] * enabled[:, None, None].to(params)
        units = params.new_tensor(REFINE_UNITS)
        angles = params[..., :3] + d[..., :3] * units[:3]
        dist = params[..., 3:] * torch.exp(d[..., 3:] * units[3])
        return torch.cat([angles, dist], -1), (d**2).sum(-1).mean()


@dataclass(frozen=True)
class TaskSettings:
    """How the phase builds its losses.

    Attributes:
        other_views: M, views rendered for multi-view consistency per sample.
        zoom: (low, high) factor of view A's centred zoom.
        flip: probability of mirroring a sample.
        weights: loss weights.
        render: soft rasterization settings.
    """

    other_views: int = 2
    zoom: tuple[float, float] = (0.85, 1.2)
    flip: float = 0.5
    weights: LossWeights = field(default_factory=LossWeights)
    render: SoftRenderSettings = field(default_factory=SoftRenderSettings)


class _Trained(nn.Module):
    """What the phase updates: the encoder and the camera corrections."""

    def __init__(self, model: InverseGraphicsModel, refinement: CameraRefinement) -> None:
        super().__init__()
        self.model, self.refinement = model, refinement


def network_input(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`[B, H, W, 3]` image and `[B, H, W]` mask in [0, 1] → the network's `[B, 4, H, W]` in [-1, 1]."""
    return torch.cat([render_to_gan(image), mask[:, None] * 2 - 1], 1)


class InverseGraphicsTask:
    """Networks (`E`, `E_ema`, `cams`), the Adam optimizer and the `E_main` phase.

    Args:
        model: the encoder being trained.
        refinement: camera corrections for every training view.
        train: loop settings (`lr_g`, `betas_g` are the encoder's).
        settings: loss construction.
        sample_batch: a fixed batch (a dataset's items collated) shown in the sample grids.
        perceptual: optional VGG perceptual loss.
    """

    def __init__(self, model: InverseGraphicsModel, refinement: CameraRefinement, train: TrainConfig,
                 settings: TaskSettings, sample_batch: Batch, perceptual: nn.Module | None = None) -> None:
        self.E, self.settings, self.perceptual = model, settings, perceptual
        self.E_ema = copy.deepcopy(model).eval().requires_grad_(False)
        self.cams = refinement
        self.networks: dict[str, nn.Module] = {"E": model, "E_ema": self.E_ema, "cams": refinement}
        self.ema_pairs = [("E", "E_ema")]
        self.aux: dict[str, nn.Module] = {}
        self.optimizers = {"E": torch.optim.Adam([{"params": model.parameters()},
                                                  {"params": refinement.parameters(), "lr": train.lr_g * 10}],
                                                 lr=train.lr_g, betas=train.betas_g)}
        self.phases = [Phase("E_main", _Trained(model, refinement), self.optimizers["E"], self._main,
                             mixed_precision=False)]
        self.sample_batch = sample_batch
        self.sample_columns = int(sample_batch[0].shape[0])

    def _main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        index, images, masks, params, K, canonical, refine, background = batch
        images, masks = as_float(images, masks)
        B, V, H = images.shape[:3]
        s = self.settings
        params, prior = self.cams(index, params, refine)
        flip = torch.rand(B) < s.flip
        images, masks, params, K = flip_views(images, masks, params, K, flip.to(images.device))
        order = torch.argsort(torch.rand(B, V), 1).to(images.device)
        rows = torch.arange(B, device=images.device)
        a, others = order[:, 0], order[:, 1:1 + s.other_views]
        factor = torch.empty(B).uniform_(*s.zoom).to(images)
        img_a, mask_a, K_a = zoom(images[rows, a], masks[rows, a], K[rows, a], background[rows, a], factor)
        pred = self.E(network_input(img_a, mask_a), K_a)
        src = params[rows, a]
        # Shape sets have no facing direction: their input camera is "straight ahead" by definition.
        ahead = torch.cat([torch.zeros_like(src[:, :3]), src[:, 3:]], 1)
        terms = camera_terms(pred.camera, torch.where(canonical[:, None], src, ahead))
        cams_a = pred.input_cameras(K_a, H)
        rgb, alpha = pred.render(cams_a, background[rows, a], s.render)
        terms.update(moment_terms(pred, cams_a, mask_a))
        terms.update(image_terms(rgb, alpha, img_a, mask_a, self.perceptual))
        pick = (rows[:, None], others)
        terms.update(multiview_terms(pred, src, params[pick], K[pick], images[pick], masks[pick], background[pick],
                                     s.render, self.perceptual))
        terms.update(mesh_terms(pred, self.E.template))
        terms["refine"] = prior
        return weighted_total(terms, s.weights), {**terms, "iou": 1.0 - terms["silhouette"].detach(),
                                                  "mv_iou": 1.0 - terms["mv_silhouette"].detach()}

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """Columns of held-out samples; rows: input view 0, its render, then view 1 and 2 and their renders."""
        return preview(self.E_ema, self.sample_batch, self.settings.render)


@torch.no_grad()
def preview(model: InverseGraphicsModel, batch: Batch, render: SoftRenderSettings, views: int = 3) -> torch.Tensor:
    """`[2·views·N, 3, H, W]` in [-1, 1]: for each of `views` views, the photos and the renders of the
    prediction made from view 0 (rows), N samples (columns)."""
    _, images, masks, params, K, _, _, background = batch
    images, masks = as_float(images, masks)
    V, H, W = images.shape[1:4]
    pred = model(network_input(images[:, 0], masks[:, 0]), K[:, 0])
    rows = []
    rgb, _ = pred.render(pred.input_cameras(K[:, 0], H), background[:, 0], render)
    rows += [images[:, 0], rgb]
    for v in range(1, min(views, V)):
        R, t = transfer(params[:, v], params[:, 0], pred.camera)
        rgb, _ = pred.render(Cameras(K[:, v], R, t, W, H), background[:, v], render)
        rows += [images[:, v], rgb]
    return render_to_gan(torch.cat(rows).clamp(0, 1))
