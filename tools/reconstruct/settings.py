"""How a fit runs: `FitSettings` and the named choices it takes (the CLI lists the same choices)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tools.errors import ToolError

if TYPE_CHECKING:
    from tools.reconstruct.contacts import GroundSupport
    from tools.reconstruct.pairs import LegPairs
    from tools.reconstruct.panels import UprightPanel


class Symmetry(enum.StrEnum):
    """Mirror-symmetry prior of the shape (see `FitSettings.symmetry`)."""

    none = "none"
    x = "x"
    z = "z"


class Prior(enum.StrEnum):
    """What shapes the side the photo does not show.

    `inflation` keeps the starting surface's depth profile (its Laplacian) where the image says
    nothing; `smooth` lets the side the input view does not see follow the seen side with the
    least change of curvature (a thin-plate surface: the Laplacian of the Laplacian → 0).
    """

    inflation = "inflation"
    smooth = "smooth"


class TemplateKind(enum.StrEnum):
    """Built-in starting shapes; `--template` also takes a mesh file."""

    auto = "auto"
    silhouette = "silhouette"
    revolution = "revolution"
    sphere = "sphere"
    ellipsoid = "ellipsoid"


class RasterBackend(enum.StrEnum):
    """Rasterizers the fit can run on: they must list faces within a blur radius."""

    auto = "auto"
    torch = "torch"
    pytorch3d = "pytorch3d"


TEMPLATE_KINDS = tuple(k.value for k in TemplateKind)


@dataclass(frozen=True)
class FitSettings:
    """How `fit` runs.

    Attributes:
        steps: total optimization steps over all stages.
        levels: icosphere level of each stage (a mesh template is never subdivided; an `Initialization`
            with offsets starts at its own level and is subdivided once per further stage).
        stage_fractions: share of the steps each stage gets (same length as levels).
        half_res_stages: how many leading stages run at half the working resolution.
        template: a `TemplateKind` name or a mesh path. "auto": a surface of revolution when every
            row of the mask is one run and it has no holes (vases, eggs, lamps): "sphere", or
            "revolution" when a fifth of the rows are thinner than a tenth of the object (a pole
            the sphere's edges cannot follow); else "silhouette". "silhouette": the mask's own
            outline, holes included, inflated into a closed surface (`tools.reconstruct.silhouette`);
            "revolution": the same outline with every row's cross-section a circle; "sphere": an
            icosphere placed on a surface of revolution fitting the mask; "ellipsoid": the mask's box
            ellipsoid; a mesh file is stretched onto that ellipsoid.
        symmetry: "x" adds a mirror-symmetry prior across the object's x = 0 plane (the vertical plane
            through the viewing direction: left-right symmetric objects seen from the front); "z"
            across its z = 0 plane (facing the camera: the unseen back mirrors the front); "none" adds none.
            Shape only for "z" (the back's colors come from the texture bake), shape and albedo for "x".
        prior: the unseen side's shape prior (`Prior`).
        rings: the ring prior of the outline templates: a hole whose outline is an ellipse is a
            circular ring seen at a slant (`tools.reconstruct.rings`).
        contacts: the ground-contact prior of the silhouette template: when three or four of the
            outline's feet are a rigid support's footprint (a tripod, legs at a rectangle's corners),
            they stand on a horizontal floor (`tools.reconstruct.contacts`); other outlines are left alone.
            On by default: on the bench it moves only the shapes with such feet, each for the better.
        legs: the rigid-legs prior on such feet (`tools.reconstruct.support`): each leg a straight rod,
            upright or leaning towards the footprint's centre, and the rest of the object moved by the
            legs' upper ends' depths rather than the feet's (what legs hold up is where they end).
        panels: the upright-panel prior on such legs (`tools.reconstruct.panels`): a large part rising
            above what the legs hold up (a backrest) is a thin upright slab on a side of the footprint,
            as thick as the legs are wide.
        pairs: the leg-pairs prior of the silhouette template where the contact prior found no support
            (`tools.reconstruct.pairs`): two long legs holding up a body between them are as deep as that
            body (an animal's leg pairs one behind the other, a bench's boards).
        ground_elevation: the camera's elevation above that floor in degrees, when known; None: the
            elevation at which the feet are that footprint.
        refine: split the faces where the silhouette or color error concentrates between stages
            (silhouette template; icosphere templates are subdivided uniformly instead).
        edge_px: target edge length, in working-resolution pixels, of the silhouette template.
        fit_camera: optimize camera distance and elevation.
        elevation: starting camera elevation in degrees.
        sigma: silhouette edge softness in pixels at full resolution.
        lr: Adam step size of vertex offsets (world units); others scale from it.
        backend: rasterizer backend (`RasterBackend`; "auto" picks through `render3d.backends`).
        perceptual_weights: optional local torchvision VGG16 weights file; enables a VGG perceptual
            loss (relu1_2 and relu2_2 features) between the render and the photo.
        w_silhouette, w_color, w_laplacian, w_edge, w_normal, w_symmetry, w_perceptual: loss weights.
    """

    steps: int = 200
    levels: tuple[int, ...] = (2, 3)
    stage_fractions: tuple[float, ...] = (0.5, 0.5)
    half_res_stages: int = 1
    template: str = "auto"
    symmetry: str = "none"
    prior: str = "inflation"
    rings: bool = True
    contacts: bool = True
    legs: bool = True
    panels: bool = True
    pairs: bool = True
    ground_elevation: float | None = None
    refine: bool = True
    edge_px: float = 4.0
    fit_camera: bool = True
    elevation: float = 0.0
    sigma: float = 0.7
    lr: float = 0.01
    backend: str = "auto"
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
        for name, kind in (("symmetry", Symmetry), ("prior", Prior), ("backend", RasterBackend)):
            value = getattr(self, name)
            allowed = [k.value for k in kind]
            if value not in allowed:
                raise ToolError(f"--{name} must be one of {', '.join(allowed)}; got {value!r}")
        if self.template not in TEMPLATE_KINDS and not Path(self.template).is_file():
            raise ToolError(f"--template must be one of {', '.join(TEMPLATE_KINDS)} or a mesh file; "
                            f"{self.template!r} is none of these")
        if self.ground_elevation is not None and not 0 < self.ground_elevation <= 89:
            raise ToolError(f"--ground-elevation must be within 0..89 degrees (above 0), got {self.ground_elevation}")
        if not -89 <= self.elevation <= 89:
            raise ToolError(f"elevation must be within -89..89 degrees, got {self.elevation}")
        if not 1.0 <= self.edge_px <= 32.0:
            raise ToolError(f"edge_px must be within 1..32 pixels, got {self.edge_px}")

    def weights(self) -> dict[str, float]:
        """Weight of every named loss term (`tools.reconstruct.losses`)."""
        return {"silhouette": self.w_silhouette, "color": self.w_color, "laplacian": self.w_laplacian,
                "edge": self.w_edge, "normal": self.w_normal, "symmetry": self.w_symmetry,
                "perceptual": self.w_perceptual}


def describe_priors(settings: FitSettings, template: str | None = None, rings: int = 0,
                    support: GroundSupport | None = None, panel: UprightPanel | None = None,
                    pairs: LegPairs | None = None) -> str:
    """The priors that shaped the unseen side, in words (the report and metrics.json name them).

    Args:
        settings: the fit's settings.
        template: the template the fit resolved "auto" to (default: `settings.template`).
        rings: holes the ring prior slanted.
        support: the feet the contact prior stood on the floor (`FitResult.support`).
        panel: the panel the panel prior made thin (`FitResult.panel`).
        pairs: the legs the leg-pairs prior deepened (`FitResult.pairs`).

    Example:
        >>> describe_priors(FitSettings(template="silhouette", symmetry="x", contacts=False), rings=1)
        ... # doctest: +NORMALIZE_WHITESPACE
        'silhouette inflation (round cross-sections, 1 elliptical hole a slanted circle)
         + keep its depth profile + left-right symmetry'
    """
    template = template or settings.template
    slanted = f", {rings} elliptical hole{'s' if rings > 1 else ''} a slanted circle" if rings else ""
    start = {"silhouette": f"silhouette inflation (round cross-sections{slanted})",
             "revolution": "surface of revolution on the outline", "sphere": "surface of revolution",
             "ellipsoid": "box ellipsoid"}.get(template, f"template {Path(template).name}")
    unseen = {"inflation": "keep its depth profile", "smooth": "thin-plate smooth back"}[settings.prior]
    ground = ""
    if settings.contacts and template == "silhouette":
        ground = f" + {support.describe()}" if support is not None else " + no feet on one floor (contact prior unused)"
        if support is not None and settings.legs:
            ground += " + rigid legs (upright or leaning in, the rest where they end)"
            if settings.panels:
                ground += f" + {panel.describe()}" if panel is not None else " + no upright panel"
    if settings.pairs and template == "silhouette" and support is None and pairs is not None:
        ground += " + 2 legs as deep as the body they hold up (leg pairs or boards)"
    sym = {"none": "", "x": " + left-right symmetry", "z": " + front-back symmetry"}[settings.symmetry]
    return f"{start}{ground} + {unseen}{sym}"
