"""Single-image 3D reconstruction by inverse rendering (`neurender reconstruct`).

Pipeline: read the photo and its mask (`segment`), start from a template inflated to the
silhouette or from a learned `Initialization` (`templates`, `init`), fit shape, albedo, SH
lighting and camera coarse to fine (`fit`, `render`), bake the photo into a UV texture (`bake`)
and write the run directory (`outputs`). `cli.reconstruct` is the library entry point.
"""

from tools.reconstruct.cli import ReconstructJob, reconstruct, register
from tools.reconstruct.fit import FitResult, FitSettings, fit
from tools.reconstruct.init import Initialization, predict_initialization

__all__ = [
    "FitResult", "FitSettings", "Initialization", "ReconstructJob", "fit", "predict_initialization", "reconstruct",
    "register",
]
