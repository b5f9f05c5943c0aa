"""Point rasterizer and renderer modules: settings held once, the math lives in the functions."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from render3d.backends import Request, select_backend
from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.fragments import PointFragments
from render3d.output import RenderOutput
from render3d.points.composite import alpha_composite, norm_weighted_composite
from render3d.points.image import points_image
from render3d.points.settings import PointsRasterSettings
from render3d.structures import Pointclouds

_DEFAULT_SETTINGS = PointsRasterSettings()

_COMPOSITORS = {"alpha": alpha_composite, "norm_weighted": norm_weighted_composite}


class PointsRasterizer(nn.Module):
    """`rasterize_points` with its settings held.

    Args:
        settings: K, znear and chunk size.
        backend: a registered point rasterizer backend ("torch", "pytorch3d") or "auto" (the fastest available
            for the inputs' device, logged; see `render3d.backends`).

    Example:
        >>> from render3d import Cameras, Pointclouds, intrinsics_from_fov, look_at
        >>> R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
        >>> cams = Cameras(intrinsics_from_fov(60, 32, 32)[None], R, t, 32, 32)
        >>> frags = PointsRasterizer(PointsRasterSettings(points_per_pixel=4))(Pointclouds(torch.zeros(1, 1, 3)), cams)
        >>> frags.idx.shape
        torch.Size([1, 32, 32, 4])
    """

    def __init__(self, settings: PointsRasterSettings = _DEFAULT_SETTINGS, backend: str = "torch") -> None:
        super().__init__()
        self.settings = settings
        self.backend = backend

    def forward(self, clouds: Pointclouds, cameras: Cameras) -> PointFragments:
        """See `rasterize_points`.

        Raises:
            BackendUnavailable: the named backend is missing or cannot serve these settings.
        """
        request = Request.for_points(self.settings, cameras.device.type, differentiable=torch.is_grad_enabled())
        return select_backend(request, self.backend).backend.rasterize_points(clouds, cameras, self.settings)


class PointsRenderer(nn.Module):
    """Rasterize points, composite their colors (and normals) and put them over a background.

    Args:
        rasterizer: the `PointsRasterizer` to splat with.
        compositing: "alpha" (front-to-back over) or "norm_weighted" (alpha-normalized blend).
        background: RGB in [0, 1] behind the points.

    Raises:
        ShapeError: unknown compositing or a background that is not 3 numbers in [0, 1].

    Example:
        >>> from render3d import Cameras, Pointclouds, intrinsics_from_fov, look_at
        >>> R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
        >>> cams = Cameras(intrinsics_from_fov(60, 32, 32)[None], R, t, 32, 32)
        >>> renderer = PointsRenderer(PointsRasterizer(), "alpha", background=(1.0, 1.0, 1.0))
        >>> out = renderer(Pointclouds(torch.zeros(1, 1, 3), features=torch.zeros(1, 1, 3), radius=0.2), cams)
        >>> out.rgb.shape, out.rgb[0, 0, 0].tolist(), out.alpha[0, 16, 16].item() > 0.5
        (torch.Size([1, 32, 32, 3]), [1.0, 1.0, 1.0], True)
    """

    def __init__(
        self,
        rasterizer: PointsRasterizer,
        compositing: Literal["alpha", "norm_weighted"] = "alpha",
        background: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ) -> None:
        super().__init__()
        if compositing not in _COMPOSITORS:
            raise ShapeError(f"compositing must be one of {sorted(_COMPOSITORS)}, got {compositing!r}")
        bg = torch.as_tensor(background, dtype=torch.float32)
        if bg.shape != (3,) or not bool(((bg >= 0) & (bg <= 1)).all()):
            raise ShapeError(f"background must be 3 numbers in [0, 1], got {background!r}")
        self.rasterizer = rasterizer
        self.compositing = compositing
        self._composite = _COMPOSITORS[compositing]
        self.register_buffer("background", bg)

    def forward(self, clouds: Pointclouds, cameras: Cameras) -> RenderOutput:
        """Render B images.

        Args:
            clouds: B clouds (or one for all cameras); colors are the first 3 feature channels
                (a 1-channel feature is gray), white when the clouds have no features.
            cameras: B cameras.

        Returns:
            `RenderOutput` with rgb `[B, H, W, 3]` over the background, alpha `[B, H, W]`, depth
            `[B, H, W]` (z of the nearest point, 0 on background), unit world normals
            `[B, H, W, 3]` blended like the colors (None when the clouds have none; 0 on
            background) and the fragments.

        Raises:
            ShapeError: features with 2 channels, or any error of `rasterize_points`.
        """
        return points_image(self.rasterizer(clouds, cameras), clouds, self._composite, self.background)
