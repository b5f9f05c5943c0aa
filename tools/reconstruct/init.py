"""Where fitting starts: the silhouette inflation prior and the learned-initialization hook.

One photo says nothing about depth. The inflation prior builds a starting surface whose
silhouette matches the mask and whose depth at every image row equals the object's width there
(a surface of revolution about the image's vertical axis, the usual guess for a rounded object);
the fit then keeps that depth profile except where the image says otherwise.

`Initialization` is what an image encoder predicts (shape, texture, lighting, camera). Every
field is optional; the fitter uses what is given and falls back to the inflation prior for the
rest. `Initialization.from_vector` decodes a flat network output with a fixed layout, so an
encoder with `Initialization.vector_size(level)` outputs can fill it directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan2d.nets.encoder import ImageEncoder
from render3d.cameras import Cameras
from tools.errors import ToolError
from tools.imageconv import render_to_gan
from tools.reconstruct.templates import icosphere


@dataclass(frozen=True)
class Initialization:
    """A starting point for `fit`, e.g. an encoder's prediction from the photo.

    Attributes:
        offsets: `[V, 3]` displacements of the unit icosphere of `level`'s vertices, in the object
            frame (+Y up, the camera at azimuth 0 on +Z), before `scale` and `translation`.
        level: the icosphere level `offsets` and `colors` refer to.
        colors: `[V, 3]` albedo in [0, 1] per icosphere vertex.
        sh_coeffs: `[9, 3]` SH radiance coefficients of the lighting (`render3d.shading.sh` order).
        scale: object scale (world = scale · (sphere + offsets) + translation).
        translation: `[3]` object position.
        distance: camera distance from the world origin.
        elevation: camera elevation in degrees.

    Raises:
        ToolError: tensors of the wrong shape for `level`, or non-finite values.

    Example:
        >>> init = Initialization(level=2, offsets=torch.zeros(162, 3), distance=3.0)
        >>> init.offsets.shape
        torch.Size([162, 3])
    """

    level: int = 3
    offsets: torch.Tensor | None = None
    colors: torch.Tensor | None = None
    sh_coeffs: torch.Tensor | None = None
    scale: float | None = None
    translation: torch.Tensor | None = None
    distance: float | None = None
    elevation: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.level <= 6:
            raise ToolError(f"Initialization.level must be within 0..6, got {self.level}")
        V = 10 * 4**self.level + 2
        for name, shape in (("offsets", (V, 3)), ("colors", (V, 3)), ("sh_coeffs", (9, 3)), ("translation", (3,))):
            x = getattr(self, name)
            if x is None:
                continue
            if tuple(x.shape) != shape:
                raise ToolError(f"Initialization.{name} must be {list(shape)} for level {self.level}, "
                                f"got {list(x.shape)}")
            if not torch.isfinite(x).all():
                raise ToolError(f"Initialization.{name} holds non-finite values")
        for name in ("scale", "distance"):
            x = getattr(self, name)
            if x is not None and not (np.isfinite(x) and x > 0):
                raise ToolError(f"Initialization.{name} must be a positive number, got {x}")

    @staticmethod
    def vector_size(level: int) -> int:
        """Length of the flat layout `from_vector` reads: offsets, color logits, SH, translation,
        log scale, log distance, elevation."""
        V = 10 * 4**level + 2
        return 6 * V + 27 + 3 + 3

    @classmethod
    def from_vector(cls, vec: torch.Tensor, level: int) -> Initialization:
        """Decode a flat prediction `vec: [vector_size(level)]` (e.g. an encoder head's output).

        Colors go through a sigmoid, scale and distance through exp, so any real vector is valid.

        Raises:
            ToolError: wrong length.
        """
        n = cls.vector_size(level)
        if vec.dim() != 1 or vec.shape[0] != n:
            raise ToolError(f"an Initialization vector for level {level} has {n} values, got {list(vec.shape)}")
        V = 10 * 4**level + 2
        vec = vec.detach().float().cpu()
        off, col, rest = vec[:3 * V].view(V, 3), vec[3 * V:6 * V].view(V, 3), vec[6 * V:]
        return cls(level=level, offsets=off, colors=torch.sigmoid(col), sh_coeffs=rest[:27].view(9, 3),
                   translation=rest[27:30], scale=float(rest[30].exp()), distance=float(rest[31].exp()),
                   elevation=float(rest[32]))

    def to_vector(self) -> torch.Tensor:
        """The inverse of `from_vector` (training targets for an encoder); every field must be set.

        Raises:
            ToolError: a field is missing.
        """
        missing = [k for k, v in vars(self).items() if v is None]
        if missing:
            raise ToolError(f"to_vector needs every field; missing: {', '.join(missing)}")
        col = torch.logit(self.colors.clamp(1e-4, 1 - 1e-4))
        tail = torch.tensor([np.log(self.scale), np.log(self.distance), self.elevation], dtype=torch.float32)
        return torch.cat([self.offsets.reshape(-1), col.reshape(-1), self.sh_coeffs.reshape(-1),
                          self.translation.reshape(-1), tail]).float()

    def start_verts(self) -> torch.Tensor | None:
        """`[V, 3]` unit icosphere + offsets (before scale/translation), or None without offsets."""
        return None if self.offsets is None else icosphere(self.level).verts + self.offsets


@torch.no_grad()
def predict_initialization(encoder: ImageEncoder, image: torch.Tensor, mask: torch.Tensor,
                           level: int) -> Initialization:
    """Run an image encoder on the photo and decode its output as an `Initialization`.

    The encoder sees the working photo resized to its square resolution, as gan2d images
    (`tools.imageconv`), with the mask as a 4th channel when it takes 4 channels. Its output must
    follow `Initialization.from_vector`'s layout (`out_dim = Initialization.vector_size(level)`).

    Args:
        encoder: a `gan2d.nets.encoder.ImageEncoder` (trained on multi-view renders).
        image: `[H, W, 3]` photo in [0, 1].
        mask: `[H, W]` foreground mask.
        level: icosphere level the encoder predicts for.

    Returns:
        the decoded initialization.

    Raises:
        ToolError: the encoder's input channels or output size do not fit.
    """
    c = encoder.config
    if c.out_dim != Initialization.vector_size(level):
        raise ToolError(f"encoder predicts {c.out_dim} values; level {level} needs {Initialization.vector_size(level)}")
    if c.in_channels not in (3, 4):
        raise ToolError(f"encoder must take 3 (RGB) or 4 (RGB + mask) channels, got {c.in_channels}")
    rgba = torch.cat([image, mask[..., None].to(image)], -1).permute(2, 0, 1)[None]
    small = torch.nn.functional.interpolate(rgba, size=(c.resolution, c.resolution), mode="area")
    x = render_to_gan(small[:, :3].permute(0, 2, 3, 1))
    if c.in_channels == 4:
        x = torch.cat([x, small[:, 3:] * 2 - 1], 1)
    return Initialization.from_vector(encoder(x)[0], level)


def _row_extents(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows holding foreground and their left/right pixel edges (outermost foreground pixels)."""
    rows = np.nonzero(mask.any(1))[0]
    left = np.array([np.argmax(mask[r]) for r in rows], dtype=np.float64)
    right = np.array([mask.shape[1] - np.argmax(mask[r, ::-1]) for r in rows], dtype=np.float64)
    return rows.astype(np.float64), left, right


def inflate(sphere: torch.Tensor, mask: torch.Tensor, camera: Cameras, depth_ratio: float = 1.0) -> torch.Tensor:
    """Place template vertices on a surface whose silhouette is the mask and whose depth follows its width.

    The camera must look at the world origin, which becomes the object's depth center. A vertex
    with camera-frame unit direction (sx, sy, sz) goes to image row `top + (sy + 1)/2 · height` of
    the mask's vertical span; there the mask spans [left, right] and the vertex lands at
    `center + sx/ρ · halfwidth` across and `sz/ρ · halfwidth · depth_ratio` in depth (ρ the radius
    of its ring), all back-projected at the camera's distance to the origin.

    Args:
        sphere: `[V, 3]` unit directions of the template vertices (world frame).
        mask: `[H, W]` binary mask at the camera's resolution.
        camera: one camera looking at the origin.
        depth_ratio: depth extent relative to width.

    Returns:
        `[V, 3]` world positions.

    Raises:
        ToolError: an empty mask.
    """
    m = mask.detach().cpu().numpy() > 0.5
    if not m.any():
        raise ToolError("cannot inflate an empty mask")
    rows, left, right = _row_extents(m)
    R, t, K = camera.R[0].detach(), camera.t[0].detach(), camera.K[0].detach()
    d = float(t.norm())
    s = (sphere @ R.T).double().numpy()
    top, bottom = rows[0], rows[-1] + 1.0
    v = top + (s[:, 1] + 1.0) * 0.5 * (bottom - top)
    centers = rows + 0.5
    lv = np.interp(v, centers, left)
    rv = np.interp(v, centers, right)
    c, w = 0.5 * (lv + rv), 0.5 * (rv - lv)
    rho = np.sqrt(np.maximum(s[:, 0] ** 2 + s[:, 2] ** 2, 1e-12))
    u = c + s[:, 0] / rho * w
    fx, fy, cx, cy = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
    dz = s[:, 2] / rho * w * d / fx * depth_ratio
    # Back-project at the depth of the object's center plane, then push along the optical axis.
    cam = np.stack([(u - cx) / fx * d, (v - cy) / fy * d, d + dz], 1)
    cam_t = torch.from_numpy(cam).float()
    return (cam_t - t) @ R


def bbox_ellipsoid(sphere: torch.Tensor, mask: torch.Tensor, camera: Cameras) -> torch.Tensor:
    """`[V, 3]` vertices on the ellipsoid spanning the mask's bounding box (depth = its mean half-extent)."""
    m = mask.detach().cpu().numpy() > 0.5
    ys, xs = np.nonzero(m)
    R, t, K = camera.R[0].detach(), camera.t[0].detach(), camera.K[0].detach()
    d = float(t.norm())
    fx, fy, cx, cy = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
    u0, u1, v0, v1 = xs.min(), xs.max() + 1.0, ys.min(), ys.max() + 1.0
    ax, ay = 0.5 * (u1 - u0) / fx * d, 0.5 * (v1 - v0) / fy * d
    center = torch.tensor([(0.5 * (u0 + u1) - cx) / fx * d, (0.5 * (v0 + v1) - cy) / fy * d, d])
    s = sphere @ R.T
    cam = center + s * torch.tensor([ax, ay, 0.5 * (ax + ay)])
    return (cam.float() - t) @ R
