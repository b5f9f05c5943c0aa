"""The encoder's prediction as the starting point of `tools.reconstruct.fit` (`neurender reconstruct --learned`).

The fit's frame has the camera on +Z at azimuth 0, looking at the origin from `distance` at
`elevation`; `predict.in_photo_frame` moves the predicted mesh there, so the `Initialization` (offsets
of the same icosphere, colors, camera) projects exactly as predicted. Colors are the texture under the
predicted lighting, with a uniform white environment handed to the fit: what the photo shows, so the
first step's color residual is the prediction's, and the fit re-separates albedo and light itself.
`learned_fit_settings` is the short test-time fit that follows: one stage at the template's level, at
full resolution, with a 20× lighter deformation prior than the inflation start's (the prior keeps the
start's Laplacian; a learned start is a guess to be corrected, not an exact inflation to be kept). 1.0
rather than 2.0: input IoU +0.005…+0.063 on the four benchmark sets, novel IoU unchanged (BENCHMARKS.md).

`choose_start` keeps the predicted shape only where its silhouette fits the photo's mask (IoU ≥
`MIN_START_IOU`); elsewhere the fit starts from its own silhouette template (the optimization's start)
seen from the encoder's camera. A short fit cannot move a wrong back out of its basin, while the same
50 steps from the silhouette start reach what 200 steps of optimization reach (BENCHMARKS.md: data-engine
shapes and the reconstruct sets); where the encoder fits the outline (heads) its back is the better one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch

from render3d.structures import Meshes
from tools.invgraphics.model import SH_Y00, InverseGraphicsModel
from tools.invgraphics.predict import in_photo_frame, predict
from tools.reconstruct.init import Initialization
from tools.reconstruct.render import hard_mask, view_camera
from tools.reconstruct.settings import FitSettings
from tools.reconstruct.templates import icosphere

LEARNED_STEPS = 50
LEARNED_LAPLACIAN = 1.0
# Below this input-view IoU the predicted shape is dropped for the fit's own start. On the bench's held-out
# sets the shipped encoder's start IoU is bimodal on shapes (≤ 0.881 or ≥ 0.945; the poor ones are those whose
# backs a short fit leaves wrong), ≥ 0.906 on every head and ≥ 0.937 on every GAN face.
MIN_START_IOU = 0.9


def learned_initialization(model: InverseGraphicsModel, image: torch.Tensor, mask: torch.Tensor,
                           K: torch.Tensor) -> Initialization:
    """Predict from one photo and express the prediction as a fit `Initialization`.

    Args:
        model: the encoder (e.g. `weights.load_model()`).
        image: `[H, W, 3]` photo in [0, 1] (the fit's working image).
        mask: `[H, W]` its mask.
        K: `[3, 3]` its intrinsics.

    Raises:
        ToolError: an empty mask or bad shapes.
    """
    pred, _ = predict(model, image, mask, K)
    mesh = in_photo_frame(pred)
    level = model.config.level
    sh = torch.zeros(9, 3)
    sh[0] = 1.0 / SH_Y00
    return Initialization(level=level, offsets=mesh.verts - icosphere(level).verts, colors=mesh.radiance,
                          sh_coeffs=sh, scale=1.0, translation=torch.zeros(3), distance=mesh.distance,
                          elevation=mesh.elevation)


@torch.no_grad()
def start_iou(init: Initialization, mask: torch.Tensor, K: torch.Tensor) -> float:
    """Hard silhouette IoU of a start with offsets (`init.offsets` set) against `mask: [H, W]`, seen by the
    fit's camera (`K: [3, 3]`, the start's distance and elevation)."""
    H, W = mask.shape
    t = icosphere(init.level)
    verts = (init.scale or 1.0) * init.start_verts()
    if init.translation is not None:
        verts = verts + init.translation
    cover = hard_mask(Meshes([verts], [t.faces]), view_camera(K, W, H, init.distance, init.elevation or 0.0))[0]
    m = (mask > 0.5).float()
    return float((cover * m).sum() / (cover + m - cover * m).sum().clamp(min=1.0))


def choose_start(init: Initialization, mask: torch.Tensor, K: torch.Tensor,
                 min_iou: float = MIN_START_IOU) -> tuple[Initialization, float]:
    """The learned start `init` where its silhouette fits `mask: [H, W]` (IoU ≥ `min_iou`), else only its camera
    (no offsets, colors or lighting: the fit builds its own template on the mask).

    Returns:
        the start and the learned start's IoU.
    """
    iou = start_iou(init, mask, K)
    if iou >= min_iou:
        return init, iou
    return Initialization(level=init.level, distance=init.distance, elevation=init.elevation), iou


def learned_fit_settings(base: FitSettings, level: int, steps: int = LEARNED_STEPS) -> FitSettings:
    """`base` turned into the short fit after a learned start: `steps` steps, one stage at `level`,
    deformation prior `LEARNED_LAPLACIAN`."""
    return replace(base, steps=steps, levels=(level,), stage_fractions=(1.0,), half_res_stages=0,
                   w_laplacian=LEARNED_LAPLACIAN)


def learned_start(base: FitSettings, steps: int | None = None,
                  weights: str | None = None) -> tuple[Callable[[torch.Tensor, torch.Tensor, torch.Tensor],
                                                                Initialization], FitSettings]:
    """What `neurender reconstruct --learned` needs: a function of the working (image, mask, K) giving the
    start (`choose_start` of the learned `Initialization`), and the short fit's settings (`steps`, default
    `LEARNED_STEPS`).

    Raises:
        ToolError: missing or unusable weights (checked now, before any work).
    """
    from tools.invgraphics.weights import load_model

    model, _ = load_model(weights)
    settings = learned_fit_settings(base, model.config.level, LEARNED_STEPS if steps is None else steps)

    def start(image: torch.Tensor, mask: torch.Tensor, K: torch.Tensor) -> Initialization:
        return choose_start(learned_initialization(model, image.cpu(), mask.cpu(), K.cpu()), mask.cpu(), K.cpu())[0]

    return start, settings
