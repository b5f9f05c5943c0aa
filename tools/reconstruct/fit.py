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

import torch
import torch.nn.functional as F

from render3d.structures import Meshes
from render3d.topology import MeshTopology
from tools.errors import ToolError
from tools.reconstruct.adam import Adam
from tools.reconstruct.contacts import GroundSupport
from tools.reconstruct.init import Initialization, bbox_ellipsoid, inflate
from tools.reconstruct.losses import image_terms, shape_terms, weighted_total
from tools.reconstruct.pairs import LegPairs
from tools.reconstruct.panels import UprightPanel
from tools.reconstruct.refine import face_errors, refine, worst_faces
from tools.reconstruct.render import fit_render, hard_fragments, hard_mask, shade_vertices, view_camera
from tools.reconstruct.rows import row_convex, thin_rows
from tools.reconstruct.settings import TEMPLATE_KINDS, FitSettings
from tools.reconstruct.silhouette import SilhouetteMesh, silhouette_mesh
from tools.reconstruct.state import FitState, StageShape
from tools.reconstruct.templates import Template, icosphere, load_template, subdivide, with_verts

WARMUP_STEPS = 10
# "auto" leaves the sphere template for the revolution on the outline when this share of rows is thin.
THIN_ROWS = 0.2


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
        template: the template the fit started from ("auto" resolved).
        rings: holes the ring prior slanted (see `tools.reconstruct.rings`).
        support: the feet the ground-contact prior stood on a floor and its elevation (None: off or none found).
        panel: the upright panel the panel prior made a thin slab (None: off or none found).
        pairs: the two legs holding up a body the leg-pairs prior found, deepened where that body is deeper
            (None: off or none found).
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
    template: str = ""
    rings: int = 0
    support: GroundSupport | None = None
    panel: UprightPanel | None = None
    pairs: LegPairs | None = None

    def meshes(self) -> Meshes:
        return Meshes([self.verts], [self.faces], vert_colors=[self.albedo])

    def camera(self):
        return view_camera(self.K, self.width, self.height, self.distance, self.elevation)


def _start_template(settings: FitSettings, init: Initialization | None, image: torch.Tensor, mask: torch.Tensor,
                    K: torch.Tensor, distance: float, elevation: float,
                    ) -> tuple[Template, str, SilhouetteMesh | None]:
    """The first stage's template in world units, how later stages add resolution ("subdivide"
    (icospheres), "refine" (silhouette templates: where the error is) or "fixed" (mesh files)), and
    the outline template with what its priors found (None for the other templates)."""
    cam = view_camera(K, mask.shape[1], mask.shape[0], distance, elevation)
    kind = resolve_template(settings.template, mask)
    if init is not None and init.offsets is not None:
        t = icosphere(init.level)
        translation = torch.zeros(3) if init.translation is None else init.translation
        start = with_verts(t, (init.scale or 1.0) * init.start_verts() + translation, init.colors)
        return start, "subdivide", None
    if kind in ("silhouette", "revolution"):
        sm = silhouette_mesh(mask, cam, settings.edge_px, image, rings=settings.rings,
                             profile="rows" if kind == "revolution" else "disk",
                             contacts=settings.contacts and kind == "silhouette",
                             ground_elevation=settings.ground_elevation, legs=settings.legs,
                             panels=settings.panels, pairs=settings.pairs and kind == "silhouette")
        return sm.template, "refine", sm
    if kind in ("sphere", "ellipsoid"):
        t = icosphere(settings.levels[0])
        place = inflate if kind == "sphere" else bbox_ellipsoid
        return with_verts(t, place(t.sphere, mask, cam)), "subdivide", None
    t = load_template(settings.template, settings.levels[0])
    # Stretch the mesh per axis onto the mask's box ellipsoid, so its outline starts near the mask's.
    unit_box = t.verts / t.verts.abs().amax(0).clamp(min=1e-8)
    return with_verts(t, bbox_ellipsoid(unit_box, mask, cam)), "fixed", None


def resolve_template(template: str, mask: torch.Tensor) -> str:
    """The template "auto" stands for on this mask (see `FitSettings.template`); others unchanged."""
    if template != "auto":
        return template
    m = mask.detach().cpu().numpy() > 0.5
    if not row_convex(m):
        return "silhouette"
    # The icosphere's edges are about a tenth of the object across: a long part thinner than that
    # (a lamp's pole) it cannot follow, the revolution on the exact outline can.
    return "revolution" if thin_rows(m) > THIN_ROWS else "sphere"


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
    state, template, growth, sm = _start(image, mask, K, settings, init)
    n_stages = len(settings.levels) if growth != "fixed" else 1
    fractions = settings.stage_fractions[:n_stages]
    budget = [max(1, round(settings.steps * f / sum(fractions))) for f in fractions]
    budget[-1] = max(1, settings.steps - sum(budget[:-1]))
    perceptual = _perceptual_loss(settings.perceptual_weights, image.device)
    for stage in range(n_stages):
        if stage > 0 and growth == "subdivide":
            template = subdivide(template)
        elif stage > 0 and settings.refine:
            template = _refine_where_wrong(state, template, image, mask, K, settings)
        # The silhouette template is exact at full resolution from the start: no coarse warm-up.
        half = stage < settings.half_res_stages and min(H, W) >= 32 and growth == "subdivide"
        target = StageTarget.at(image, mask, K, 2 if half else 1, settings.sigma)
        shape = StageShape.start(template, settings.symmetry, keep_edge_lengths=growth == "refine")
        template = run_stage(state, shape, target, settings, budget[stage], progress, perceptual)
    res = _result(state, template, image, mask, K, settings, time.perf_counter() - t0)
    if sm is not None:
        res.rings, res.support, res.panel, res.pairs = sm.rings, sm.support, sm.panel, sm.pairs
    return res


def _refine_where_wrong(state: FitState, template: Template, image: torch.Tensor, mask: torch.Tensor,
                        K: torch.Tensor, settings: FitSettings) -> Template:
    """The template with its worst faces (silhouette and color error) split."""
    H, W = mask.shape
    with torch.no_grad():
        verts = state.world(template.verts)
        mesh = Meshes([verts], [template.faces])
        cam = state.camera(K, W, H)
        rgb, _, _ = fit_render(mesh, MeshTopology.from_meshes(mesh), shade_vertices(mesh, template.colors, state.sh),
                               cam, settings.sigma, settings.backend)
        errors = face_errors(verts, template.faces, rgb[0], image, mask, cam)
    return refine(template, worst_faces(errors, template.faces))


@dataclass(frozen=True)
class StageTarget:
    """What one stage fits to: the photo, mask and intrinsics at the stage's resolution, and its blur.

    Attributes:
        image: `[h, w, 3]`.
        mask: `[h, w]`.
        K: `[3, 3]`.
        sigma: silhouette softness in pixels of this resolution.
    """

    image: torch.Tensor
    mask: torch.Tensor
    K: torch.Tensor
    sigma: float

    @classmethod
    def at(cls, image: torch.Tensor, mask: torch.Tensor, K: torch.Tensor, factor: int, sigma: float) -> StageTarget:
        """The inputs box-filtered down by `factor` (1 = as given)."""
        if factor == 1:
            return cls(image, mask, K, sigma)
        chw = torch.cat([image, mask[..., None]], -1).permute(2, 0, 1)[None]
        small = F.avg_pool2d(chw, factor)[0].permute(1, 2, 0)
        K2 = K.clone()
        K2[:2] /= factor
        return cls(small[..., :3], small[..., 3], K2, sigma / factor)


def _start(image: torch.Tensor, mask: torch.Tensor, K: torch.Tensor, settings: FitSettings,
           init: Initialization | None
           ) -> tuple[FitState, Template, str, SilhouetteMesh | None]:
    """The pose/lighting/camera state, the first stage's template (object frame, with albedo), how
    it grows and the outline template's findings (see `_start_template`)."""
    ys, xs = torch.nonzero(mask > 0.5, as_tuple=True)
    r_px = 0.5 * max(float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))
    # Convention: the object has radius about 1, so the camera sits at f / r_px.
    distance = init.distance if init is not None and init.distance else float(K[0, 0]) / r_px
    dev = image.device
    el0 = init.elevation if init is not None and init.elevation is not None else settings.elevation
    template, growth, sm = _start_template(settings, init, image.cpu(), mask.cpu(), K.cpu(), distance, el0)
    template = Template(*(None if x is None else x.to(dev) for x in (template.verts, template.faces, template.sphere,
                                                                       template.colors)))
    world0 = template.verts
    center = init.translation.to(dev) if init is not None and init.translation is not None else \
        0.5 * (world0.min(0).values + world0.max(0).values)
    scale0 = init.scale if init is not None and init.scale else 1.0
    base = (world0 - center) / scale0
    albedo = template.colors if template.colors is not None else _mean_color(image, mask).expand_as(base).clone()
    sh = torch.zeros(9, 3, device=dev)
    sh[0] = 1.0 / 0.282095
    if init is not None and init.sh_coeffs is not None:
        sh = init.sh_coeffs.clone().to(dev)
    state = FitState.create(scale0, center.float().to(dev), sh, distance, el0)
    return state, with_verts(template, base, albedo), growth, sm


def _result(state: FitState, template: Template, image: torch.Tensor, mask: torch.Tensor, K: torch.Tensor,
            settings: FitSettings, seconds: float) -> FitResult:
    H, W = mask.shape
    with torch.no_grad():
        verts = state.world(template.verts)
    res = FitResult(verts=verts, faces=template.faces, albedo=template.colors.clamp(0, 1),
                    sh_coeffs=state.sh.detach(), distance=float(state.log_distance.exp()),
                    elevation=float(state.elevation), K=K.clone(), width=W, height=H, history=state.history,
                    template=resolve_template(settings.template, mask))
    cam = res.camera()
    mesh = res.meshes()
    pred = hard_mask(mesh, cam)[0]
    inter = (pred * mask).sum()
    res.iou = float(inter / (pred + mask - pred * mask).sum().clamp(min=1))
    with torch.no_grad():
        rgb, covered, _ = fit_render(mesh, MeshTopology.from_meshes(mesh), shade_vertices(mesh, res.albedo,
                                     res.sh_coeffs), cam, settings.sigma, settings.backend)
    res.psnr = masked_psnr(rgb[0], image, mask * covered[0])
    res.seconds = seconds
    return res


def _perceptual_loss(path: str | None, device: torch.device):
    """The VGG perceptual loss on relu1_2/relu2_2 from a local weights file, or None without one.

    Raises:
        ToolError: the file is missing or holds no VGG16 weights (one line saying why).
    """
    if path is None:
        return None
    from gan2d.errors import Gan2DError
    from gan2d.losses.perceptual import PerceptualLoss
    from gan2d.nets.vgg import VGGConfig, VGGFeatures

    try:
        vgg = VGGFeatures.from_file(path, VGGConfig(16, ("relu1_2", "relu2_2")))
    except Gan2DError as e:
        cause = e.__cause__
        reason = f"not a readable weights file ({type(cause).__name__})" if cause is not None else \
            str(e).splitlines()[0]
        raise ToolError(f"--perceptual {path}: {reason}; it must be a local torchvision VGG16 state dict "
                        "(.pth/.pt/.safetensors)") from e
    return PerceptualLoss(vgg, (0.5, 1.0)).to(device)


def check_inputs(settings: FitSettings) -> None:
    """Read what the settings name on disk (a template mesh, VGG weights), so that a bad file fails
    before anything is written.

    Raises:
        ToolError: an unreadable or degenerate template, unreadable VGG weights.
    """
    if settings.template not in TEMPLATE_KINDS:
        load_template(settings.template, settings.levels[0])
    _perceptual_loss(settings.perceptual_weights, torch.device("cpu"))


def masked_psnr(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR in dB of `pred` vs `target` (`[H, W, 3]` in [0, 1]) over pixels where `mask: [H, W]` > 0.5."""
    m = mask > 0.5
    mse = float(((pred - target) ** 2)[m].mean()) if m.any() else 0.0
    return 10.0 * math.log10(1.0 / max(mse, 1e-10))


@torch.no_grad()
def _unseen(state: FitState, shape: StageShape, target: StageTarget) -> torch.Tensor:
    """`[V]` bool: vertices of no face the input view shows at the stage's start."""
    H, W = target.mask.shape
    mesh = Meshes([state.world(shape.local())], [shape.faces])
    p2f = hard_fragments(mesh, state.camera(target.K, W, H)).pix_to_face
    seen = torch.zeros(shape.local().shape[0], dtype=torch.bool, device=p2f.device)
    shown = p2f[p2f >= 0].unique()
    seen[shape.faces[shown].reshape(-1)] = True
    return ~seen


def run_stage(state: FitState, shape: StageShape, target: StageTarget, settings: FitSettings, steps: int,
              progress: Callable[[int, dict], None] | None = None,
              perceptual: torch.nn.Module | None = None) -> Template:
    """Optimize one stage: `shape`'s offsets and colors and `state`'s pose, lighting and camera.

    `state` is updated in place (its history grows by `steps` records); the stage's resulting
    mesh is returned as a template for the next stage.
    """
    H, W = target.mask.shape
    weights = settings.weights()
    unseen = _unseen(state, shape, target) if settings.prior == "smooth" else None
    state.requires_grad_(True)
    opt = Adam(shape.parameter_groups(settings.lr) + state.parameter_groups(settings.lr, settings.fit_camera))
    for i in range(steps):
        opt.zero_grad()
        local = shape.local()
        mesh = Meshes([state.world(local)], [shape.faces])
        albedo = shape.albedo()
        rgb, covered, alpha = fit_render(mesh, shape.topology, shade_vertices(mesh, albedo, state.sh),
                                         state.camera(target.K, W, H), target.sigma, settings.backend)
        terms = image_terms(rgb, covered, alpha, target.image, target.mask, perceptual)
        terms.update(shape_terms(shape, local, albedo, settings.prior, unseen))
        loss = weighted_total(terms, weights)
        loss.backward()
        # Adam's first updates move every parameter by its full step whatever its gradient: a short
        # ramp keeps a good start (the exact silhouette, the previous stage's result) good.
        opt.step(min(1.0, (i + 1) / WARMUP_STEPS))
        state.clamp_()
        values = {k: float(v.detach()) for k, v in terms.items()}
        record = {"step": state.step + 1, "loss": float(loss.detach()), "iou": 1.0 - values["silhouette"],
                  "color": values["color"], **{f"w_{k}": weights[k] * v for k, v in values.items()}}
        state.history.append(record)
        if progress is not None:
            progress(record["step"], record)
    state.requires_grad_(False)
    return shape.finish()
