"""`Shader`: per-fragment colors (unlit, Lambert or Blinn-Phong) blended into an RGBA image."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

from render3d.blend import SoftBlendSettings, hard_rgb_blend, softmax_rgb_blend
from render3d.cameras import Cameras
from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.render_settings import SHADINGS, Shading
from render3d.shading.functional import shade_fragments
from render3d.shading.materials import Materials
from render3d.structures import Meshes
from render3d.texture import FilterMode, WrapMode

if TYPE_CHECKING:
    from render3d.lights import Light

Blend = Literal["hard", "soft"]


class Shader(nn.Module):
    """Colors every fragment and blends the K fragments of each pixel.

    Albedo comes from the mesh texture if there is one, else its vertex colors, else
    `materials.base_color`. "unlit" outputs the albedo as is (any channel count C, not clamped);
    "lambert" and "phong" (Blinn-Phong, see `render3d.shading.functional`) need RGB albedo and
    clamp the shaded color to [0, 1] before blending. "hard" blending keeps the nearest
    fragment; "soft" is the SoftRas softmax blend (needs `fragments.dists`, i.e. a rasterizer
    with `faces_per_pixel > 1` and a blur radius).

    Args:
        shading: "unlit", "lambert" or "phong", fixed at construction.
        blend: "hard" or "soft", fixed at construction.
        lights: the lights (a `render3d.lights.Lights` for several); required unless unlit.
        materials: material colors and shininess (stored as buffers).
        blend_settings: background color (both blends) and soft-blend parameters, all in pixels
            of the image the fragments were rasterized at.
        flat_normals: faceted (face normals) instead of smooth (interpolated vertex normals).
        texture_filter: "bilinear", "trilinear" (mipmapped) or "supersample".
        texture_wrap: "repeat" or "clamp".

    Raises:
        ShapeError: unknown shading/blend/filter name, or lit shading without lights.

    Example:
        >>> from render3d.lights import DirectionalLight
        >>> shader = Shader("phong", "hard", DirectionalLight((0.0, 0.0, 1.0)))
        >>> shader.background.tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(
        self,
        shading: Shading = "phong",
        blend: Blend = "hard",
        lights: Light | None = None,
        materials: Materials | None = None,
        blend_settings: SoftBlendSettings | None = None,
        flat_normals: bool = False,
        texture_filter: FilterMode = "bilinear",
        texture_wrap: WrapMode = "repeat",
    ) -> None:
        super().__init__()
        if shading not in SHADINGS:
            raise ShapeError(f"shading must be 'unlit', 'lambert' or 'phong', got {shading!r}")
        if blend not in ("hard", "soft"):
            raise ShapeError(f"blend must be 'hard' or 'soft', got {blend!r}")
        if texture_filter not in ("bilinear", "trilinear", "supersample"):
            raise ShapeError(f"texture_filter must be 'bilinear', 'trilinear' or 'supersample', got {texture_filter!r}")
        if texture_wrap not in ("repeat", "clamp"):
            raise ShapeError(f"texture_wrap must be 'repeat' or 'clamp', got {texture_wrap!r}")
        if shading != "unlit" and lights is None:
            raise ShapeError(f"{shading!r} shading needs lights")
        self.shading = shading
        self.blend = blend
        self.lights = lights
        self.blend_settings = blend_settings or SoftBlendSettings()
        self.flat_normals = flat_normals
        self.texture_filter = texture_filter
        self.texture_wrap = texture_wrap
        for name, value in (materials or Materials()).tensors().items():
            self.register_buffer(name, value)
        self.register_buffer("background", torch.tensor(self.blend_settings.background, dtype=torch.float32))

    @property
    def materials(self) -> Materials:
        """The material, backed by this module's buffers (so it follows `.to(device)`)."""
        return Materials(base_color=self.base_color, ambient_color=self.ambient_color,
                         diffuse_color=self.diffuse_color, specular_color=self.specular_color,
                         shininess=self.shininess.reshape(-1))

    def fragment_colors(self, fragments: Fragments, meshes: Meshes, cameras: Cameras) -> torch.Tensor:
        """`[B, H, W, K, C]` shaded color of every fragment, before blending (see `shade_fragments`)."""
        return shade_fragments(fragments, meshes, cameras, self.shading, self.lights, self.materials, self.base_color,
                               self.flat_normals, self.texture_filter, self.texture_wrap)

    def forward(self, fragments: Fragments, meshes: Meshes, cameras: Cameras) -> torch.Tensor:
        """Shade and blend.

        Args:
            fragments: rasterization of `meshes` seen by `cameras`, `[B, H, W, K]`.
            meshes: B meshes (image b shows mesh b).
            cameras: the B cameras (for view directions).

        Returns:
            `[B, H, W, C + 1]` color and alpha.

        Raises:
            ShapeError: batch mismatch, non-RGB albedo with lit shading, background of the wrong
                width.
        """
        if len(cameras) != len(meshes):
            raise ShapeError(f"{len(cameras)} cameras for {len(meshes)} meshes")
        colors = self.fragment_colors(fragments, meshes, cameras)
        if self.background.shape[0] != colors.shape[-1]:
            raise ShapeError(f"background has {self.background.shape[0]} channels, colors {colors.shape[-1]}")
        if self.blend == "hard":
            return hard_rgb_blend(colors, fragments, self.background)
        return softmax_rgb_blend(colors, fragments, self.blend_settings)
