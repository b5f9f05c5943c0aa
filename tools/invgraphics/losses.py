"""Training losses as named terms: image terms per view, multi-view consistency, camera, mesh regularizers.

Each function returns `{name: scalar}` so the task logs every term and weighs them by name
(`LossWeights`). Image terms compare a render with a photo: soft silhouette IoU, L1 color of the
render composited over the photo's own background (so a wrong silhouette also costs color), and
optionally a VGG perceptual term. Multi-view consistency renders the prediction made from view A at the
cameras of views B, C… of the same object and applies the image terms there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from render3d.cameras import Cameras
from render3d.losses import silhouette_iou_loss
from tools.errors import ToolError
from tools.imageconv import render_to_gan
from tools.invgraphics.camera import transfer
from tools.invgraphics.model import Prediction
from tools.invgraphics.render import DEFAULT_RENDER, SoftRenderSettings
from tools.invgraphics.template import SphereTemplate


@dataclass(frozen=True)
class LossWeights:
    """Weights of the named terms.

    Attributes:
        silhouette: soft IoU at the input view.
        color: L1 color at the input view.
        mv_silhouette: soft IoU at the other views.
        mv_color: L1 color at the other views.
        perceptual: VGG perceptual (input and other views), when a VGG is given.
        camera: camera supervision of the input view.
        moments: projected mean/spread against the mask's (keeps far-off meshes in reach).
        laplacian: smoothness of the deformation (Laplacian of the offsets).
        edge: spread of edge lengths (keeps triangles even).
        normal: normal consistency of neighbouring faces.
        refine: how strongly the jointly refined cameras stay at their labels.
    """

    silhouette: float = 1.0
    color: float = 1.0
    mv_silhouette: float = 1.0
    mv_color: float = 1.0
    perceptual: float = 0.1
    camera: float = 0.5
    moments: float = 0.2
    laplacian: float = 0.5
    edge: float = 1.0
    normal: float = 0.05
    refine: float = 0.05

    def get(self, name: str) -> float:
        return getattr(self, name)


def image_terms(rgb: torch.Tensor, alpha: torch.Tensor, image: torch.Tensor, mask: torch.Tensor,
                perceptual: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
    """Silhouette and color terms of B renders against B photos.

    Args:
        rgb: `[B, H, W, 3]` renders over each photo's background.
        alpha: `[B, H, W]` soft silhouettes.
        image: `[B, H, W, 3]` photos in [0, 1].
        mask: `[B, H, W]` their masks.
        perceptual: a `gan2d.losses.perceptual.PerceptualLoss`, or None.

    Returns:
        {"silhouette", "color"} (+ "perceptual").
    """
    terms = {"silhouette": silhouette_iou_loss(alpha, mask), "color": (rgb - image).abs().mean()}
    if perceptual is not None:
        terms["perceptual"] = perceptual(render_to_gan(rgb), render_to_gan(image))
    return terms


def multiview_terms(pred: Prediction, source: torch.Tensor, targets: torch.Tensor, K: torch.Tensor,
                    images: torch.Tensor, masks: torch.Tensor, background: torch.Tensor,
                    settings: SoftRenderSettings = DEFAULT_RENDER,
                    perceptual: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
    """Multi-view consistency: render each prediction at the cameras of the other views of its object.

    Args:
        pred: B predictions made from view A of B objects.
        source: `[B, 4]` view A's labelled orbit camera (in the dataset's frame).
        targets: `[B, M, 4]` the M other views' labelled cameras.
        K: `[B, M, 3, 3]` their intrinsics.
        images: `[B, M, H, W, 3]` their photos.
        masks: `[B, M, H, W]` their masks.
        background: `[B, M, 3]` their background colors.
        settings: soft rasterization settings.
        perceptual: optional perceptual loss.

    Returns:
        {"mv_silhouette", "mv_color"} (+ "mv_perceptual"): the image terms over all B·M views.

    Example:
        see tests/tools/invgraphics/test_losses.py (a sphere seen from two views: zero at the true
        radius, larger elsewhere).
    """
    B, M = targets.shape[:2]
    if source.shape != (B, 4) or K.shape != (B, M, 3, 3) or masks.shape[:2] != (B, M):
        raise ToolError(f"multiview_terms: {B} predictions need source [B, 4], targets [B, M, 4], K [B, M, 3, 3]; "
                        f"got {list(source.shape)}, {list(targets.shape)}, {list(K.shape)}")
    R, t = transfer(targets.reshape(B * M, 4), source.repeat_interleave(M, 0), pred.camera.repeat_interleave(M, 0))
    H, W = masks.shape[2:]
    cams = Cameras(K.reshape(B * M, 3, 3), R, t, W, H)
    rgb, alpha = pred.repeat(M).render(cams, background.reshape(B * M, 3), settings)
    terms = image_terms(rgb, alpha, images.reshape(B * M, H, W, 3), masks.reshape(B * M, H, W), perceptual)
    return {f"mv_{k}": v for k, v in terms.items()}


def moment_terms(pred: Prediction, cameras: Cameras, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Where and how large the object is: projected-vertex mean and spread against the mask's.

    Contour silhouettes pass gradients only within a few pixels of the rendered outline, so a mesh
    far off the mask (or out of the frame) gets none; this term always pulls it back. Units: image
    sides. (Surface points of a sphere project with a spread 1.15× that of its disc; the weight is
    small, so the silhouette term settles the exact outline.)

    Args:
        pred: B predictions.
        cameras: their B cameras.
        mask: `[B, H, W]` masks.

    Returns:
        {"moments"}.
    """
    H, W = mask.shape[1:]
    side = mask.new_tensor([W, H])
    uv = cameras.project(pred.verts)[..., :2] / side
    v, u = torch.meshgrid(torch.arange(H, device=mask.device) + 0.5, torch.arange(W, device=mask.device) + 0.5,
                          indexing="ij")
    pix = torch.stack([u, v], -1).reshape(1, -1, 2) / side
    w = mask.reshape(mask.shape[0], -1, 1)
    area = w.sum(1).clamp(min=1.0)
    m_mean = (w * pix).sum(1) / area
    m_std = ((w * (pix - m_mean[:, None]) ** 2).sum(1) / area).sqrt()
    p_mean, p_std = uv.mean(1), uv.std(1)
    return {"moments": (p_mean - m_mean).abs().mean() + (p_std - m_std).abs().mean()}


def angle_difference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`a - b` in degrees wrapped to [-180, 180)."""
    return torch.remainder(a - b + 180.0, 360.0) - 180.0


def camera_terms(predicted: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Camera supervision: smooth-L1 of the angle errors (in units of 10°) plus log-distance error.

    Args:
        predicted: `[B, 4]` (yaw°, pitch°, roll°, distance).
        target: `[B, 4]`.

    Returns:
        {"camera"}.
    """
    ang = angle_difference(predicted[:, :3], target[:, :3]) / 10.0
    dist = torch.log(predicted[:, 3] / target[:, 3]) * 10.0
    err = torch.cat([ang, dist[:, None]], 1)
    return {"camera": torch.nn.functional.smooth_l1_loss(err, torch.zeros_like(err))}


def mesh_terms(pred: Prediction, template: SphereTemplate) -> dict[str, torch.Tensor]:
    """Regularizers of the predicted meshes, scale-free (each mesh divided by its mean radius).

    Returns:
        {"laplacian": mean |Laplacian| of the deformation from the template sphere, in template edge
        lengths, "edge": variance of edge lengths relative to their mean, "normal": mean `1 - cos`
        between the normals of faces sharing an edge (as `render3d.losses.normal_consistency`)}.
    """
    topo = template.topology.to(pred.verts.device)
    size = pred.verts.norm(dim=-1).mean(1).clamp(min=1e-6)[:, None, None]
    unit = pred.verts / size
    sphere = template.verts.to(unit)
    src, dst = topo.neighbor_sources, topo.neighbors
    degree = torch.bincount(src, minlength=unit.shape[1]).clamp(min=1).to(unit)[None, :, None]

    def laplacian(x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x).index_add(1, src, x[:, dst]) / degree - x

    lap = (laplacian(unit) - laplacian(sphere[None])).norm(dim=-1).mean() / template.edge_length
    e = topo.edges
    length = (unit[:, e[:, 0]] - unit[:, e[:, 1]]).norm(dim=-1)
    edge = ((length / length.mean(1, keepdim=True) - 1.0) ** 2).mean()
    pe = e[topo.pair_edges]
    v0, v1 = unit[:, pe[:, 0]], unit[:, pe[:, 1]]
    a, b = unit[:, topo.pair_opposite[:, 0]], unit[:, topo.pair_opposite[:, 1]]
    n0 = torch.linalg.cross(v1 - v0, a - v0, dim=-1)
    n1 = torch.linalg.cross(b - v0, v1 - v0, dim=-1)
    normal = (1.0 - torch.cosine_similarity(n0, n1, dim=-1)).mean()
    return {"laplacian": lap, "edge": edge, "normal": normal}


def weighted_total(terms: dict[str, torch.Tensor], weights: LossWeights) -> torch.Tensor:
    """`Σ weight(name) · term` over the terms present (perceptual terms share one weight)."""
    return sum(weights.get(name.removeprefix("mv_") if "perceptual" in name else name) * value
               for name, value in terms.items())
