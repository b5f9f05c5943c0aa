"""What a fit optimizes: `FitState` (object pose, lighting, camera) and `StageShape` (one stage's mesh).

World vertices are `exp(log_scale) · (base + offsets) + translation`, `base` the stage's starting
shape in the object frame. A stage optimizes `offsets` and per-vertex color logits against its
`base`; `StageShape.finish` folds them in, and the next stage starts from there (subdivided or
refined). The pose, lighting and camera carry over from stage to stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from render3d.cameras import Cameras
from render3d.losses import mesh_laplacian
from render3d.structures import Meshes
from render3d.topology import MeshTopology
from tools.reconstruct.render import view_camera
from tools.reconstruct.templates import Template, mirror_index, with_verts


@dataclass
class FitState:
    """The parameters shared by all stages (optimized in each).

    Attributes:
        log_scale: scalar, log object scale.
        translation: `[3]` object position.
        sh: `[9, 3]` SH lighting.
        log_distance: scalar, log camera distance to the origin.
        elevation: scalar, camera elevation in degrees.
        history: per step: {"step", "loss", "iou", "color", and every weighted loss term}.
    """

    log_scale: torch.Tensor
    translation: torch.Tensor
    sh: torch.Tensor
    log_distance: torch.Tensor
    elevation: torch.Tensor
    history: list[dict] = field(default_factory=list)

    @classmethod
    def create(cls, scale: float, translation: torch.Tensor, sh: torch.Tensor, distance: float,
               elevation: float) -> FitState:
        dev = translation.device
        return cls(torch.tensor(math.log(scale), device=dev), translation.clone().float(), sh.clone(),
                   torch.tensor(math.log(distance), device=dev), torch.tensor(float(elevation), device=dev))

    @property
    def step(self) -> int:
        return len(self.history)

    def tensors(self) -> list[torch.Tensor]:
        return [self.log_scale, self.translation, self.sh, self.log_distance, self.elevation]

    def requires_grad_(self, flag: bool) -> None:
        for t in self.tensors():
            t.requires_grad_(flag)

    def parameter_groups(self, lr: float, fit_camera: bool) -> list[tuple[list[torch.Tensor], float]]:
        """Adam groups `(tensors, step size)`; the step sizes scale from the offsets' `lr`."""
        groups = [([self.sh], 2 * lr), ([self.log_scale, self.translation], 0.5 * lr)]
        if fit_camera:
            groups += [([self.log_distance], 0.5 * lr), ([self.elevation], 50 * lr)]
        return groups

    def world(self, local: torch.Tensor) -> torch.Tensor:
        """`[V, 3]` world positions of object-frame `local: [V, 3]`."""
        return self.log_scale.exp() * local + self.translation

    def camera(self, K: torch.Tensor, width: int, height: int) -> Cameras:
        return view_camera(K, width, height, self.log_distance.exp(), self.elevation)

    def clamp_(self) -> None:
        with torch.no_grad():
            self.elevation.clamp_(-89.0, 89.0)


@dataclass
class StageShape:
    """One stage's mesh: a fixed base, the offsets and color logits optimized on top of it.

    Attributes:
        template: the stage's starting mesh (object frame) with its albedo in `colors`.
        topology: edge topology of its faces.
        lap0: `[V, 3]` Laplacian of the base (the shape prior keeps it).
        edge0: mean base edge length (normalizes the shape terms).
        rest: `[E]` rest length of every edge.
        mirror: `[V]` mirror partner of every vertex, or None without a symmetry prior.
        flip: `[3]` sign flip of the mirror plane's normal axis.
        offsets: `[V, 3]` optimized displacements.
        color_logit: `[V, 3]` optimized albedo logits.
    """

    template: Template
    topology: MeshTopology
    lap0: torch.Tensor
    edge0: float
    rest: torch.Tensor
    mirror: torch.Tensor | None
    flip: torch.Tensor
    offsets: torch.Tensor
    color_logit: torch.Tensor

    @classmethod
    def start(cls, template: Template, symmetry: str, keep_edge_lengths: bool = False) -> StageShape:
        """Offsets at zero and colors at the template's, mirror partners for the `symmetry` prior.

        The edge term pulls every edge toward the base's mean length (evening out the triangles
        of an icosphere stretched onto the mask), or with `keep_edge_lengths` toward its own base
        length (a mesh graded on purpose, finer where the detail is).
        """
        base = template.verts
        ref = Meshes([base], [template.faces])
        topo = MeshTopology.from_meshes(ref)
        e = topo.edges
        rest = (base[e[:, 0]] - base[e[:, 1]]).norm(dim=1)
        if not keep_edge_lengths:
            rest = rest.mean().expand_as(rest)
        axis = {"x": 0, "z": 2}.get(symmetry)
        flip = torch.ones(3, device=base.device)
        if axis is not None:
            flip[axis] = -1.0
        return cls(template=template, topology=topo, lap0=mesh_laplacian(ref, topo).detach(),
                   edge0=float(rest.mean()), rest=rest, mirror=None if axis is None else
                   mirror_index(template.sphere, axis), flip=flip,
                   offsets=torch.zeros_like(base, requires_grad=True),
                   color_logit=torch.logit(template.colors.clamp(0.02, 0.98)).clone().requires_grad_())

    @property
    def faces(self) -> torch.Tensor:
        return self.template.faces

    def parameter_groups(self, lr: float) -> list[tuple[list[torch.Tensor], float]]:
        return [([self.offsets], lr), ([self.color_logit], 5 * lr)]

    def local(self) -> torch.Tensor:
        """`[V, 3]` current object-frame positions."""
        return self.template.verts + self.offsets

    def albedo(self) -> torch.Tensor:
        return torch.sigmoid(self.color_logit)

    def finish(self) -> Template:
        """The stage's result as a template: positions and albedo folded in, detached."""
        return with_verts(self.template, self.local().detach(), self.albedo().detach())
