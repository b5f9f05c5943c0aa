"""Point cloud + cameras → photo-like images: splat, learned visibility, coarse, refined, composited.

`PreparedCloud` holds what is computed once per cloud (the k-NN splat radius); `render_views`
runs every stage for a batch of cameras and returns all intermediate buffers, so the CLI, the
benchmark and the per-scene fit share one code path.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from render3d.cameras import Cameras
from render3d.errors import InvalidMeshError
from render3d.points.multichannel import MultiChannelSettings, SplatBuffers, splat_multichannel
from render3d.points.spacing import knn_spacing
from tools.errors import ToolError
from tools.pc2img.model import Pc2ImgModel, Stages, composite


@dataclass(frozen=True)
class PreparedCloud:
    """A cloud ready to splat.

    Attributes:
        points: `[N, 3]`.
        features: `[N, C]`: colors in [0, 1] first, then any learned descriptors.
        normals: `[N, 3]` or None.
        radius: `[N]` world splat radius (`radius_scale · knn_spacing`, before the screen floor).
    """

    points: torch.Tensor
    features: torch.Tensor
    normals: torch.Tensor | None
    radius: torch.Tensor

    @property
    def num_points(self) -> int:
        return self.points.shape[0]

    def with_features(self, features: torch.Tensor) -> PreparedCloud:
        return PreparedCloud(self.points, features, self.normals, self.radius)


def prepare_cloud(points: torch.Tensor, colors: torch.Tensor | None, normals: torch.Tensor | None,
                  settings: MultiChannelSettings, spacing_k: int = 4) -> PreparedCloud:
    """Validate a cloud and measure its spacing once.

    Uncolored clouds get mid-grey points (the nets then render shape only).

    Raises:
        ToolError: no points, non-finite coordinates, or attribute rows that do not match.
    """
    if points.dim() != 2 or points.shape[1] != 3:
        raise ToolError(f"points must be [N, 3], got {list(points.shape)}")
    if points.shape[0] == 0:
        raise ToolError("the point cloud is empty")
    finite = torch.isfinite(points).all(1)
    if not bool(finite.any()):
        raise ToolError("every point of the cloud has NaN/inf coordinates")
    if not bool(finite.all()):
        raise ToolError(f"{int((~finite).sum())} of {points.shape[0]} points have NaN/inf coordinates")
    points = points.float()
    if colors is None:
        colors = torch.full((points.shape[0], 3), 0.5)
    for name, a in (("colors", colors), ("normals", normals)):
        if a is not None and (a.dim() != 2 or a.shape[0] != points.shape[0]):
            raise ToolError(f"{name} must have one row per point ({points.shape[0]}), got {list(a.shape)}")
    try:
        spacing = knn_spacing(points, spacing_k)
    except InvalidMeshError as e:
        raise ToolError(str(e)) from e
    features = colors.float().clamp(0, 1)
    n = None if normals is None else torch.nn.functional.normalize(normals.float(), dim=1, eps=1e-12)
    return PreparedCloud(points, features, n, settings.radius_scale * spacing)


def net_input(buffers: SplatBuffers, color_channels: int = 3) -> torch.Tensor:
    """The model's input: `buffers.channels()` with any features past the colors moved to the end.

    The feed-forward nets are trained on colors only; a per-scene model appends learned
    descriptors as extra trailing input channels (zero-initialized weights), so its first layers
    start as the feed-forward ones.
    """
    x = buffers.channels()
    C = buffers.features.shape[-1]
    if color_channels == C:
        return x
    start = 2
    head = [x[:, :start + color_channels], x[:, start + C:]]
    return torch.cat([*head, x[:, start + color_channels:start + C]], 1)


@dataclass(frozen=True)
class ViewsOutput:
    """Per-view results of `render_views` (render3d layout `[B, H, W, C]` in [0, 1])."""

    image: torch.Tensor
    splat: torch.Tensor
    visibility: torch.Tensor
    coarse: torch.Tensor
    alpha: torch.Tensor
    buffers: SplatBuffers
    stages: Stages


def splat(cloud: PreparedCloud, cameras: Cameras, settings: MultiChannelSettings) -> SplatBuffers:
    """The multi-channel splat of a prepared cloud in every camera."""
    return splat_multichannel(cloud.points, cloud.features, cameras, cloud.radius, cloud.normals, settings)


def naive_image(buffers: SplatBuffers, background: torch.Tensor) -> torch.Tensor:
    """`[B, H, W, 3]`: the z-buffered splat colors over the background (the classical baseline)."""
    bg = background.to(buffers.features).reshape(1, 1, 1, 3)
    return torch.where(buffers.mask[..., None], buffers.features[..., :3].clamp(0, 1), bg)


def render_views(model: Pc2ImgModel, cloud: PreparedCloud, cameras: Cameras,
                 background: torch.Tensor) -> ViewsOutput:
    """Run the whole pipeline for B cameras.

    Raises:
        ToolError: a camera sees none of the points.
    """
    buffers = splat(cloud, cameras, model.config.splat)
    empty = (~buffers.mask.flatten(1).any(1)).nonzero()[:, 0].tolist()
    if empty:
        raise ToolError(f"camera {empty[0]} sees none of the {cloud.num_points} points")
    stages = model(net_input(buffers))
    image = composite(stages.rgb, stages.alpha, background)
    coarse = composite(stages.coarse_rgb, stages.coarse_alpha, background)

    def hwc(x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1)

    return ViewsOutput(hwc(image).clamp(0, 1), naive_image(buffers, background), hwc(stages.visibility)[..., 0],
                       hwc(coarse).clamp(0, 1), hwc(stages.alpha)[..., 0], buffers, stages)
