"""The fit's objective as named terms: what the photo says (`image_terms`) and what the priors say (`shape_terms`).

Each function returns `{name: scalar tensor}`; `FitSettings.weights()` weighs them by the same
names and `weighted_total` sums them, so the history can log every term on its own.
"""

from __future__ import annotations

import torch

from render3d.losses import mesh_laplacian, normal_consistency, silhouette_iou_loss
from render3d.structures import Meshes
from tools.imageconv import render_to_gan
from tools.reconstruct.state import StageShape


def image_terms(rgb: torch.Tensor, covered: torch.Tensor, alpha: torch.Tensor, image: torch.Tensor,
                mask: torch.Tensor, perceptual: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
    """Silhouette (soft IoU), color (masked L1) and optionally perceptual terms.

    Args:
        rgb: `[1, H, W, 3]` the fit's render.
        covered: `[1, H, W]` bool hard coverage of that render.
        alpha: `[1, H, W]` its soft silhouette.
        image: `[H, W, 3]` the photo.
        mask: `[H, W]` its mask.
        perceptual: a `gan2d.losses.perceptual.PerceptualLoss`, or None.

    Returns:
        {"silhouette", "color"} (+ "perceptual").
    """
    both = mask * covered[0]
    terms = {"silhouette": silhouette_iou_loss(alpha, mask[None]),
             "color": ((rgb[0] - image).abs().mean(-1) * both).sum() / both.sum().clamp(min=1)}
    if perceptual is not None:
        # Outside the covered pixels the photo itself: the loss then only judges the object.
        shown = torch.where(covered[0][..., None], rgb[0], image)
        terms["perceptual"] = perceptual(render_to_gan(shown[None]), render_to_gan(image[None]))
    return terms


def shape_terms(shape: StageShape, local: torch.Tensor, albedo: torch.Tensor, prior: str = "inflation",
                unseen: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Deformation smoothness, edge length, normal consistency and optionally mirror symmetry.

    Args:
        shape: the stage (its base Laplacian, rest edge lengths, mirror partners).
        local: `[V, 3]` current object-frame positions.
        albedo: `[V, 3]` current albedo.
        prior: "inflation" keeps the base's Laplacian everywhere; "smooth" keeps it where the photo
            sees the surface and asks the `unseen` vertices' Laplacian to vary smoothly instead (the
            Laplacian of the Laplacian → 0: a thin-plate surface closing the visible part).
        unseen: `[V]` bool, vertices the input view does not see (needed by "smooth").

    Returns:
        {"laplacian", "edge", "normal"} (+ "symmetry" with mirror partners). Lengths are relative
        to the base's mean edge, so the weights do not depend on the object's size or resolution.
    """
    mesh = Meshes([local], [shape.faces])
    topo = shape.topology
    e0 = shape.edge0
    lap = mesh_laplacian(mesh, topo)
    residual = lap - shape.lap0
    if prior == "smooth" and unseen is not None:
        bilap = mesh_laplacian(Meshes([lap], [shape.faces]), topo)
        residual = torch.where(unseen[:, None], bilap, residual)
    e = topo.edges
    length = (local[e[:, 0]] - local[e[:, 1]]).norm(dim=1)
    terms = {"laplacian": residual.norm(dim=1).mean() / e0,
             "edge": ((length - shape.rest) ** 2).mean() / e0**2,
             "normal": normal_consistency(mesh, topo)}
    if shape.mirror is not None:
        sym = (local[shape.mirror] * shape.flip - local).norm(dim=1).mean() / e0
        if shape.flip[0] < 0:  # left-right symmetric objects share colors across the plane too
            sym = sym + (albedo[shape.mirror] - albedo).abs().mean()
        terms["symmetry"] = sym
    return terms


def weighted_total(terms: dict[str, torch.Tensor], weights: dict[str, float]) -> torch.Tensor:
    """`Σ weights[name] · term` over the terms present.

    Example:
        >>> float(weighted_total({"a": torch.tensor(2.0), "b": torch.tensor(1.0)}, {"a": 0.5, "b": 3.0}))
        4.0
    """
    return sum(weights[name] * value for name, value in terms.items())
