"""Single-image mesh fitting by inverse rendering, coarse to fine.

Parameters: vertex offsets of the template (in its own frame), a global scale and translation,
per-vertex albedo, 2nd-order SH lighting, and the camera's distance and elevation. Losses: soft
silhouette IoU, masked L1 color, deformation smoothness (the Laplacian of the offsets, so the
starting shape's depth profile is kept where the image says nothing), edge length, normal
consistency, and optionally mirror symmetry across the object's x = 0 plane (left-right) or z = 0
plane (front-back, which carries what the photo shows onto the side it does not).

The mesh is subdivided (icosphere level 2 → 3 by default) and the image resolution doubled
as the stages go; each stage restarts the optimizer from the previous stage's result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F

from render3d.losses import edge_length_loss, mesh_laplacian, normal_consistency, silhouette_iou_loss
from render3d.structures import Meshes
from render3d.topology import MeshTopology
from tools.errors import ToolError
from tools.imageconv import render_to_gan
from tools.reconstruct.init import Initialization, bbox_ellipsoid, inflate
from tools.reconstruct.render import fit_render, hard_mask, shade_vertices, view_camera
from tools.reconstruct.templates import Template, icosphere, load_template, mirror_index, subdivide, with_verts


@dataclass(frozen=True)
class FitSettings:
    """How `fit` runs.

    Attributes:
        steps: total optimization steps over all stages.
        levels: icosphere level of each stage (a mesh template is never subdivided; an `Initialization`
            with offsets starts at its own level and is subdivided once per further stage).
        stage_fractions: share of the steps each stage gets (same length as levels).
        half_res_stages: how many leading stages run at half the working resolution.
        template: "sphere" (inflated to the silhouette), "ellipsoid" (the mask's box ellipsoid) or a mesh path.
        symmetry: "x" adds a mirror-symmetry prior across the object's x = 0 plane (the vertical plane
            through the viewing direction: left-right symmetric objects seen from the front); "z"
            across its z = 0 plane (facing the camera: the unseen back mirrors the front); "none" adds none.
            Shape only for "z" (the back's colors come from the texture bake), shape and albedo for "x".
        fit_camera: optimize camera distance and elevation.
        elevation: starting camera elevation in degrees.
        sigma: silhouette edge softness in pixels at full resolution.
        lr: Adam step size of vertex offsets (world units); others scale from it.
        perceptual_weights: optional local torchvision VGG16 weights file; enables a VGG perceptual
            loss (relu1_2 and relu2_2 features) between the render and the photo.
        w_silhouette, w_color, w_laplacian, w_edge, w_normal, w_symmetry, w_perceptual: loss weights.
    """

    steps: int = 200
    levels: tuple[int, ...] = (2, 3)
    stage_fractions: tuple[float, ...] = (0.5, 0.5)
    half_res_stages: int = 1
    template: str = "sphere"
    symmetry: Literal["none", "x", "z"] = "none"
    fit_camera: bool = True
    elevation: float = 0.0
    sigma: float = 0.7
    lr: float = 0.01
    w_silhouette: float = 1.0
    w_color: float = 1.0
    w_laplacian: float = 20.0
    w_edge: float = 0.05
    w_normal: float = 0.02
    w_symmetry: float = 1.0
    perceptual_weights: str | None = None
    w_perceptual: float = 0.05

    def __post_init__(self) -> None:
        if not 1 <= self.steps <= 100000:
            raise ToolError(f"--steps must be within 1..100000, got {self.steps}")
        if len(self.levels) != len(self.stage_fractions) or not self.levels:
            raise ToolError("levels and stage_fractions must be non-empty and of equal length")
        if any(not 0 <= lv <= 6 for lv in self.levels):
            raise ToolError(f"levels must be within 0..6, got {self.levels}")
        if self.symmetry not in ("none", "x", "z"):
            raise ToolError(f"--symmetry must be 'none', 'x' or 'z', got {self.symmetry!r}")
        if self.template not in ("sphere", "ellipsoid") and not Path(self.template).is_file():
            raise ToolError(f"--template must be 'sphere', 'ellipsoid' or a mesh file; {self.template!r} is none "
                            "of these")
        if not -89 <= self.elevation <= 89:
            raise ToolError(f"elevation must be within -89..89 degrees, got {self.elevation}")


@dataclass
class FitResult:
    """What `fit` found. World frame: +Y up, object near the origin; camera looks at the origin.

    Attributes:
        verts: `[V, 3]` world positions.
        faces: `[F, 3]` long.
        albedo: `[V, 3]` in [0, 1].
        sh_coeffs: `[9, 3]` lighting.
        distance: camera distance.
        elevation: camera elevation in degrees.
        K: `[3, 3]` intrinsics at the working resolution.
        width: working image width.
        height: working image height.
        history: per logged step: {"step", "loss", "iou", "color"}.
        iou: hard silhouette IoU at the input view (working resolution).
        psnr: color PSNR (dB) of the shaded fit on the mask.
        seconds: wall time of the fit.
    """

    verts: torch.Tensor
    faces: torch.Tensor
    albedo: torch.Tensor
    sh_coeffs: torch.Tensor
    distance: float
    elevation: float
    K: torch.Tensor
    width: int
    height: int
    history: list[dict] = field(default_factory=list)
    iou: float = 0.0
    psnr: float = 0.0
    seconds: float = 0.0

    def meshes(self) -> Meshes:
        return Meshes([self.verts], [self.faces], vert_colors=[self.albedo])

    def camera(self):
        return view_camera(self.K, self.width, self.height, self.distance, self.elevation)


def _downsample(image: torch.Tensor, mask: torch.Tensor, K: torch.Tensor, factor: int):
    if factor == 1:
        return image, mask, K
    chw = torch.cat([image, mask[..., None]], -1).permute(2, 0, 1)[None]
    small = F.avg_pool2d(chw, factor)[0].permute(1, 2, 0)
    K2 = K.clone()
    K2[:2] /= factor
    return small[..., :3], small[..., 3], K2


def _start_template(settings: FitSettings, init: Initialization | None, mask: torch.Tensor, K: torch.Tensor,
                    distance: float, elevation: float) -> tuple[Template, bool]:
    """The first stage's template in world units; the flag says whether it can be subdivided."""
    cam = view_camera(K, mask.shape[1], mask.shape[0], distance, elevation)
    if init is not None and init.offsets is not None:
        t = icosphere(init.level)
        translation = torch.zeros(3) if init.translation is None else init.translation
        return with_verts(t, (init.scale or 1.0) * init.start_verts() + translation, init.colors), True
    if settings.template in ("sphere", "ellipsoid"):
        t = icosphere(settings.levels[0])
        place = inflate if settings.template == "sphere" else bbox_ellipsoid
        return with_verts(t, place(t.sphere, mask, cam)), True
    t = load_template(settings.template, settings.levels[0])
    # Stretch the mesh per axis onto the mask's box ellipsoid, so its outline starts near the mask's.
    unit_box = t.verts / t.verts.abs().amax(0).clamp(min=1e-8)
    return with_verts(t, bbox_ellipsoid(unit_box, mask, cam)), False


def _mean_color(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    w = mask[..., None]
    return (image * w).sum((0, 1)) / w.sum().clamp(min=1.0)


def fit(image: torch.Tensor, mask: torch.Tensor, K: torch.Tensor, settings: FitSettings,
        init: Initialization | None = None, progress: Callable[[int, dict], None] | None = None) -> FitResult:
    """Fit a textured mesh to one photo.

    Args:
        image: `[H, W, 3]` photo in [0, 1] at the working resolution (even H and W).
        mask: `[H, W]` binary foreground mask.
        K: `[3, 3]` intrinsics in pixels of that image.
        settings: see `FitSettings`.
        init: optional starting point (e.g. an encoder's prediction); missing fields use the priors.
        progress: called after every step with (step, {"loss", "iou"}).

    Returns:
        the fitted mesh, albedo, lighting and camera.

    Raises:
        ToolError: bad shapes or an empty mask.

    Example:
        >>> res = fit(img, mask, K, FitSettings(steps=60))  # doctest: +SKIP
        >>> res.iou > 0.9  # doctest: +SKIP
    """
    H, W = mask.shape
    if image.shape != (H, W, 3) or K.shape != (3, 3):
        raise ToolError(f"fit needs image [H, W, 3], mask [H, W], K [3, 3]; got {list(image.shape)}, "
                        f"{list(mask.shape)}, {list(K.shape)}")
    if mask.sum() < 4:
        raise ToolError("fit needs a mask with an object in it")
    t0 = time.perf_counter()
    ys, xs = torch.nonzero(mask > 0.5, as_tuple=True)
    r_px = 0.5 * max(float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))
    # Convention: the object has radius about 1, so the camera sits at f / r_px.
    distance = init.distance if init is not None and init.distance else float(K[0, 0]) / r_px
    dev = image.device
    el0 = init.elevation if init is not None and init.elevation is not None else settings.elevation
    template, can_subdivide = _start_template(settings, init, mask.cpu(), K.cpu(), distance, el0)
    template = Template(*(None if x is None else x.to(dev) for x in (template.verts, template.faces, template.sphere,
                                                                       template.colors)))
    world0 = template.verts
    center = init.translation.to(dev) if init is not None and init.translation is not None else \
        0.5 * (world0.min(0).values + world0.max(0).values)
    base = world0 - center
    scale0 = init.scale if init is not None and init.scale else 1.0
    base = base / scale0
    albedo = template.colors if template.colors is not None else _mean_color(image, mask).expand_as(base).clone()
    sh = torch.zeros(9, 3, device=dev)
    sh[0] = 1.0 / 0.282095
    if init is not None and init.sh_coeffs is not None:
        sh = init.sh_coeffs.clone().to(dev)
    state = dict(log_scale=torch.tensor(math.log(scale0), device=dev), translation=center.clone().float().to(dev),
                 sh=sh, log_distance=torch.tensor(math.log(distance), device=dev),
                 elevation=torch.tensor(float(el0), device=dev))
    history: list[dict] = []
    step = 0
    n_stages = len(settings.levels) if can_subdivide else 1
    fractions = settings.stage_fractions[:n_stages]
    budget = [max(1, round(settings.steps * f / sum(fractions))) for f in fractions]
    budget[-1] = max(1, settings.steps - sum(budget[:-1]))
    perceptual = _perceptual_loss(settings.perceptual_weights, dev)
    for stage in range(n_stages):
        if stage > 0:
            template = subdivide(with_verts(template, base.detach(), albedo.detach()))
            base, albedo = template.verts, template.colors
        factor = 2 if stage < settings.half_res_stages and min(H, W) >= 32 else 1
        img_s, mask_s, K_s = _downsample(image, mask, K, factor)
        base, albedo, step = _run_stage(template.faces, base, albedo, template.sphere, state, img_s, mask_s, K_s,
                                        settings, settings.sigma / factor, budget[stage], step, history, progress,
                                        perceptual)
        template = with_verts(template, base, albedo)
    scale = float(state["log_scale"].exp())
    verts = (scale * base + state["translation"]).detach()
    res = FitResult(verts=verts, faces=template.faces, albedo=albedo.detach().clamp(0, 1),
                    sh_coeffs=state["sh"].detach(),
                    distance=float(state["log_distance"].exp()), elevation=float(state["elevation"]), K=K.clone(),
                    width=W, height=H, history=history)
    cam = res.camera()
    mesh = res.meshes()
    pred = hard_mask(mesh, cam)[0]
    inter = (pred * mask).sum()
    res.iou = float(inter / (pred + mask - pred * mask).sum().clamp(min=1))
    with torch.no_grad():
        rgb, covered, _ = fit_render(mesh, MeshTopology.from_meshes(mesh), shade_vertices(mesh, res.albedo,
                                     res.sh_coeffs), cam, settings.sigma)
    res.psnr = masked_psnr(rgb[0], image, mask * covered[0])
    res.seconds = time.perf_counter() - t0
    return res


def _perceptual_loss(path: str | None, device: torch.device):
    """The VGG perceptual loss on relu1_2/relu2_2 from a local weights file, or None without one."""
    if path is None:
        return None
    from gan2d.losses.perceptual import PerceptualLoss
    from gan2d.nets.vgg import VGGConfig, VGGFeatures

    vgg = VGGFeatures.from_file(path, VGGConfig(16, ("relu1_2", "relu2_2")))
    return PerceptualLoss(vgg, (0.5, 1.0)).to(device)


def masked_psnr(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR in dB of `pred` vs `target` (`[H, W, 3]` in [0, 1]) over pixels where `mask: [H, W]` > 0.5."""
    m = mask > 0.5
    mse = float(((pred - target) ** 2)[m].mean()) if m.any() else 0.0
    return 10.0 * math.log10(1.0 / max(mse, 1e-10))


class _Adam:
    """Plain Adam over parameter groups `[(tensors, lr)]`.

    `torch.optim` imports `torch._dynamo` on first use, several seconds on a small CPU: more than
    a whole small fit. The update is the textbook one (Kingma & Ba), betas (0.9, 0.999).
    """

    def __init__(self, groups: list[tuple[list[torch.Tensor], float]], betas=(0.9, 0.999), eps: float = 1e-8):
        self.groups = groups
        self.b1, self.b2, self.eps = betas[0], betas[1], eps
        self.m = [[torch.zeros_like(p) for p in ps] for ps, _ in groups]
        self.v = [[torch.zeros_like(p) for p in ps] for ps, _ in groups]
        self.t = 0

    def zero_grad(self) -> None:
        for ps, _ in self.groups:
            for p in ps:
                p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        for (ps, lr), ms, vs in zip(self.groups, self.m, self.v, strict=True):
            for p, m, v in zip(ps, ms, vs, strict=True):
                if p.grad is None:
                    continue
                m.mul_(self.b1).add_(p.grad, alpha=1 - self.b1)
                v.mul_(self.b2).addcmul_(p.grad, p.grad, value=1 - self.b2)
                p.sub_(lr * (m / c1) / ((v / c2).sqrt() + self.eps))


def _run_stage(faces, base, albedo, sphere, state, image, mask, K, settings: FitSettings, sigma: float, steps: int,
               step: int, history: list[dict], progress, perceptual) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Optimize one resolution level; updates `state` (globals) in place and returns (base, albedo, step)."""
    H, W = mask.shape
    ref = Meshes([base], [faces])
    topo = MeshTopology.from_meshes(ref)
    lap0 = mesh_laplacian(ref, topo).detach()
    e = topo.edges
    edge0 = float((base[e[:, 0]] - base[e[:, 1]]).norm(dim=1).mean())
    axis = {"x": 0, "z": 2}.get(settings.symmetry)
    mirror = None if axis is None else mirror_index(sphere, axis)
    offsets = torch.zeros_like(base, requires_grad=True)
    color_logit = torch.logit(albedo.clamp(0.02, 0.98)).clone().requires_grad_()
    for v in state.values():
        v.requires_grad_(True)
    groups = [([offsets], settings.lr), ([color_logit], 5 * settings.lr), ([state["sh"]], 2 * settings.lr),
              ([state["log_scale"], state["translation"]], 0.5 * settings.lr)]
    if settings.fit_camera:
        groups += [([state["log_distance"]], 0.5 * settings.lr), ([state["elevation"]], 50 * settings.lr)]
    opt = _Adam(groups)
    mirror_flip = torch.ones(3, device=base.device)
    if axis is not None:
        mirror_flip[axis] = -1.0
    for _ in range(steps):
        opt.zero_grad()
        local = base + offsets
        verts = state["log_scale"].exp() * local + state["translation"]
        mesh = Meshes([verts], [faces])
        cam = view_camera(K, W, H, state["log_distance"].exp(), state["elevation"])
        col = torch.sigmoid(color_logit)
        rgb, covered, alpha = fit_render(mesh, topo, shade_vertices(mesh, col, state["sh"]), cam, sigma)
        l_sil = silhouette_iou_loss(alpha, mask[None])
        both = mask * covered[0]
        l_col = ((rgb[0] - image).abs().mean(-1) * both).sum() / both.sum().clamp(min=1)
        local_mesh = Meshes([local], [faces])
        l_lap = (mesh_laplacian(local_mesh, topo) - lap0).norm(dim=1).mean() / edge0
        l_edge = edge_length_loss(local_mesh, topo, edge0) / edge0**2
        l_norm = normal_consistency(local_mesh, topo)
        loss = (settings.w_silhouette * l_sil + settings.w_color * l_col + settings.w_laplacian * l_lap
                + settings.w_edge * l_edge + settings.w_normal * l_norm)
        if perceptual is not None:
            # Outside the covered pixels the photo itself: the loss then only judges the object.
            shown = torch.where(covered[0][..., None], rgb[0], image)
            loss = loss + settings.w_perceptual * perceptual(render_to_gan(shown[None]), render_to_gan(image[None]))
        if mirror is not None:
            l_sym = (local[mirror] * mirror_flip - local).norm(dim=1).mean() / edge0
            if axis == 0:
                l_sym = l_sym + (col[mirror] - col).abs().mean()
            loss = loss + settings.w_symmetry * l_sym
        loss.backward()
        opt.step()
        with torch.no_grad():
            state["elevation"].clamp_(-89.0, 89.0)
        step += 1
        record = {"step": step, "loss": float(loss.detach()), "iou": 1.0 - float(l_sil.detach()),
                  "color": float(l_col.detach())}
        history.append(record)
        if progress is not None:
            progress(step, record)
    for v in state.values():
        v.requires_grad_(False)
    return (base + offsets).detach(), torch.sigmoid(color_logit).detach(), step
