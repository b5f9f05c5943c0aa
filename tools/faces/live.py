"""The faces job as a `(seed, yaw_deg, pitch_deg) -> FaceView` callable for the viewer's live faces page.

Example:
    >>> from tools.faces.bundle import load_models  # doctest: +SKIP
    >>> gen = face_generator(load_models())  # doctest: +SKIP
    >>> view = gen(3, 30.0, -10.0)  # doctest: +SKIP
    >>> view.image.shape, round(view.yaw)  # doctest: +SKIP
    ((64, 64, 3), 30)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from tools.errors import ToolError
from tools.faces.bundle import FacesModels
from tools.faces.control import closed_loop, seed_ws
from tools.faces.readers import analyzer_reader


def face_generator(models: FacesModels, method: str = "direction", truncation: float = 0.7
                   ) -> Callable[[int, float, float], object]:
    """A callable rendering one identity at a requested pose (closed loop) and reporting the measured pose.

    Raises:
        ToolError: the bundle lacks the analyzer or the generator's pose control.
    """
    from tools.view.pages.faces import FaceView

    if models.analyzer is None or models.control is None:
        raise ToolError("the live faces page needs the bundle's analyzer and a pose control for the generator")
    reader = analyzer_reader(models.analyzer)

    @torch.no_grad()
    def generate(seed: int, yaw: float, pitch: float) -> FaceView:
        ws = seed_ws(models.G, [int(seed)], truncation)
        result = closed_loop(models.G, reader, models.control, ws, torch.tensor([[yaw, pitch]]), method)
        img = (result.images[0].permute(1, 2, 0) * 127.5 + 128).clamp(0, 255).to(torch.uint8).numpy()
        measured = result.measured[0].tolist()
        return FaceView(np.ascontiguousarray(img), measured[0], measured[1])

    return generate


def condition_generator(G: torch.nn.Module, analyzer: object, truncation: float = 0.7
                        ) -> Callable[[int, float, float], object]:
    """The same callable for a pose-conditioned generator (`faces --method condition`): the pose label,
    corrected in closed loop by the analyzer's reading.

    Raises:
        ToolError: the bundle lacks the analyzer.
    """
    from tools.faces import condition
    from tools.view.pages.faces import FaceView

    if analyzer is None:
        raise ToolError("the live faces page needs the bundle's analyzer")
    reader = analyzer_reader(analyzer)

    @torch.no_grad()
    def generate(seed: int, yaw: float, pitch: float) -> FaceView:
        ws = condition.seed_identity_ws(G, [int(seed)], truncation)
        result = condition.closed_loop(G, reader, ws, torch.tensor([[yaw, pitch]]))
        img = (result.images[0].permute(1, 2, 0) * 127.5 + 128).clamp(0, 255).to(torch.uint8).numpy()
        measured = result.measured[0].tolist()
        return FaceView(np.ascontiguousarray(img), measured[0], measured[1])

    return generate
