"""One photo → a prediction: the network's input crop, the forward pass, and the mesh in the photo's camera.

The network was trained on views whose principal point is the image centre, objects around it. A
photo is therefore cut square around its principal point (exact: the crop is the same camera with a
new focal length), just large enough that the mask fills `fill` of it but no wider than the photo
allows, and resampled to the network's resolution; pixels outside the photo take its background color.

`in_photo_frame` re-expresses the prediction in the frame `tools.reconstruct` fits in: the camera on
an orbit of the origin at azimuth 0 (+Z), the predicted distance and elevation, the photo's K; the
predicted roll and azimuth become a rotation of the mesh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tools.errors import ToolError
from tools.invgraphics.camera import orbit_extrinsics
from tools.invgraphics.model import InverseGraphicsModel, Prediction
from tools.invgraphics.render import vertex_radiance
from tools.invgraphics.task import network_input
from tools.invgraphics.template import sample_texture


@dataclass(frozen=True)
class PhotoMesh:
    """A prediction in the photo's fit frame (camera at azimuth 0 looking at the origin).

    Attributes:
        verts: `[V, 3]` positions.
        faces: `[F, 3]`.
        albedo: `[V, 3]` texture sampled at the vertices.
        radiance: `[V, 3]` albedo × predicted lighting at the vertices (what the photo shows).
        distance: camera distance.
        elevation: camera elevation in degrees.
        camera: `[4]` the predicted (yaw°, pitch°, roll°, distance) in the object's canonical frame.
    """

    verts: torch.Tensor
    faces: torch.Tensor
    albedo: torch.Tensor
    radiance: torch.Tensor
    distance: float
    elevation: float
    camera: torch.Tensor


def background_color(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`[3]` median color of the pixels outside the mask (the whole image's when there are none)."""
    bg = mask < 0.05
    pix = image[bg] if bg.any() else image.reshape(-1, 3)
    return pix.median(0).values


def input_crop(image: torch.Tensor, mask: torch.Tensor, K: torch.Tensor, resolution: int,
               fill: float = 0.75) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The network's view of a photo: a square around the principal point that the mask fills to `fill`.

    Args:
        image: `[H, W, 3]` in [0, 1].
        mask: `[H, W]`.
        K: `[3, 3]` intrinsics of the photo.
        resolution: output side R.
        fill: fraction of the crop's half side the mask's farthest pixel reaches.

    Returns:
        `image [R, R, 3]`, `mask [R, R]`, `K [3, 3]` of the crop, `background [3]`.

    Raises:
        ToolError: an empty mask or bad shapes.
    """
    H, W = mask.shape
    if image.shape != (H, W, 3) or K.shape != (3, 3):
        raise ToolError(f"need image [H, W, 3], mask [H, W], K [3, 3]; got {list(image.shape)}, {list(mask.shape)}, "
                        f"{list(K.shape)}")
    ys, xs = torch.nonzero(mask > 0.5, as_tuple=True)
    if ys.numel() == 0:
        raise ToolError("the mask is empty: no object to predict")
    cx, cy = float(K[0, 2]), float(K[1, 2])
    reach = max(float((xs + 0.5 - cx).abs().max()), float((ys + 0.5 - cy).abs().max())) + 0.5
    # Never wider than the photo around its principal point: an object the frame cuts (a head's neck)
    # would otherwise shrink into a border of invented background, unlike anything seen in training.
    inside = min(cx, W - cx, cy, H - cy)
    half = max(min(reach / fill, inside) if inside >= 2.0 else reach / fill, 2.0)
    bg = background_color(image, mask)
    # Sample at an integer multiple of R and box-filter down, so a large crop does not alias.
    s = max(1, math.ceil(2 * half / resolution))
    n = resolution * s
    grid_1d = (torch.arange(n, dtype=torch.float32) + 0.5) / n * 2 * half - half
    gx = (cx + grid_1d) / W * 2 - 1
    gy = (cy + grid_1d) / H * 2 - 1
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], -1)[None].to(image)
    stack = torch.cat([image, mask[..., None], torch.ones_like(mask[..., None])], -1).permute(2, 0, 1)[None]
    out = F.grid_sample(stack, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    out = F.avg_pool2d(out, s)[0].permute(1, 2, 0)
    inside = out[..., 4:5]
    crop = out[..., :3] + (1 - inside) * bg
    f = resolution / (2 * half)
    Kc = torch.tensor([[float(K[0, 0]) * f, float(K[0, 1]) * f, resolution / 2],
                       [0.0, float(K[1, 1]) * f, resolution / 2], [0.0, 0.0, 1.0]])
    return crop.clamp(0, 1), out[..., 3].clamp(0, 1), Kc, bg


@torch.no_grad()
def predict(model: InverseGraphicsModel, image: torch.Tensor, mask: torch.Tensor, K: torch.Tensor,
            fill: float = 0.75) -> tuple[Prediction, torch.Tensor]:
    """Run the network on one photo.

    Returns:
        the prediction (B = 1, in the object's canonical frame) and the crop's `K [3, 3]`.

    Raises:
        ToolError: as `input_crop`.
    """
    model.eval()
    crop, cmask, Kc, _ = input_crop(image.float().cpu(), mask.float().cpu(), K.float().cpu(), model.resolution,
                                    fill)
    pred = model(network_input(crop[None], cmask[None]), Kc[None])
    return pred, Kc


def _rigid(R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    E = torch.eye(4)
    E[:3, :3], E[:3, 3] = R, t
    return E


def in_photo_frame(pred: Prediction) -> PhotoMesh:
    """Re-express prediction 0 of `pred` in the reconstruct fit's frame (camera at azimuth 0, no roll).

    The mesh moves by `M = E_fit⁻¹ · E_pred` (both cameras at the predicted distance and elevation
    looking at the origin), so it projects exactly as predicted.
    """
    cam = pred.camera[:1].detach()
    E_pred = _rigid(*(x[0] for x in orbit_extrinsics(cam)))
    fit_params = torch.tensor([[0.0, float(cam[0, 1]), 0.0, float(cam[0, 3])]])
    E_fit = _rigid(*(x[0] for x in orbit_extrinsics(fit_params)))
    M = torch.linalg.inv(E_fit) @ E_pred
    v = pred.verts[0].detach()
    verts = v @ M[:3, :3].T + M[:3, 3]
    albedo = sample_texture(pred.texture[:1].detach(), pred.dirs[None])[0]
    radiance = (albedo * vertex_radiance(v[None], pred.faces, pred.sh[:1].detach())[0]).clamp(0, 1)
    return PhotoMesh(verts, pred.faces, albedo.clamp(0, 1), radiance, float(cam[0, 3]), float(cam[0, 1]), cam[0])
