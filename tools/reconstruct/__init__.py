"""Single-image 3D reconstruction by inverse rendering (`neurender reconstruct`).

Pipeline: read the photo and its mask (`segment`), start from a template inflated to the
silhouette or from a learned `Initialization` (`templates`, `init`), fit shape, albedo, SH
lighting and camera coarse to fine (`fit`, `render`), bake the photo into a UV texture (`bake`)
and write the run directory (`outputs`). `cli.reconstruct` is the library entry point; the package
does not import `cli`, so the modules the CLI builds on (the learned start, `tools.invgraphics`) can
import the fit without importing the CLI back.
"""

from tools.reconstruct.fit import FitResult, FitSettings, fit
from tools.reconstruct.init import Initialization, predict_initialization

__all__ = [
    "FitResult", "FitSettings", "Initialization", "fit", "predict_initialization",
]
