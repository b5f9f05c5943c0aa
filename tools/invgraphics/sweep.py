"""The same reconstruction of a photo shown over a yaw sweep by two renderers: the mesh, and the GAN.

`mesh_sweep` renders the encoder's textured, lit mesh through render3d at cameras turned about the
object; `gan_sweep` sends the encoder's camera-swapped properties through the attribute mapping into
the generator (`neural_renderer.NeuralRenderer`). Both take requested yaws in degrees (the data
engine's convention: camera azimuth about +Y, 0 = the object's front) and keep the predicted pitch
and distance unless told otherwise. `neurender invgraphics PHOTO --renderer mesh|gan|both` and the
faces job's `--from-photo --renderer` show them; `sweep_sheet` puts the rows one above the other
(mesh, then GAN), so the same reconstruction can be compared view by view.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from render3d.cameras import Cameras
from tools.errors import ToolError
from tools.imageconv import gan_to_render
from tools.invgraphics.camera import orbit_extrinsics
from tools.invgraphics.model import InverseGraphicsModel
from tools.invgraphics.neural_renderer import NeuralRenderer
from tools.invgraphics.predict import input_crop, predict
from tools.invgraphics.task import network_input


def sweep_cameras(predicted: torch.Tensor, yaws: Sequence[float], pitch: float | None = None) -> torch.Tensor:
    """`[N, 4]` cameras: the predicted `[4]` camera turned to each yaw, roll 0, pitch kept unless given."""
    if not yaws:
        raise ToolError("a yaw sweep needs at least one yaw")
    out = predicted.detach().reshape(1, 4).repeat(len(yaws), 1)
    out[:, 0] = torch.tensor([float(y) for y in yaws])
    out[:, 2] = 0.0
    if pitch is not None:
        out[:, 1] = float(pitch)
    return out


@torch.no_grad()
def mesh_sweep(model: InverseGraphicsModel, image: torch.Tensor, mask: torch.Tensor, K: torch.Tensor,
               yaws: Sequence[float], size: int = 128, pitch: float | None = None,
               supersample: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """The predicted mesh rendered at each requested yaw.

    Args:
        model: the encoder.
        image: `[H, W, 3]` photo in [0, 1].
        mask: `[H, W]` its mask.
        K: `[3, 3]` its intrinsics.
        yaws: degrees.
        size: output side.
        pitch: requested pitch (None: the predicted one).
        supersample: antialiasing factor.

    Returns:
        `images [N, size, size, 3]` in [0, 1] over white and `alpha [N, size, size]`.
    """
    pred, Kc = predict(model, image, mask, K)
    cams = sweep_cameras(pred.camera[0], yaws, pitch)
    n, s = len(yaws), size * supersample
    Ks = Kc.clone()
    Ks[:2] *= s / model.resolution
    R, t = orbit_extrinsics(cams)
    rgb, alpha = pred.repeat(n).render(Cameras(Ks[None].expand(n, 3, 3), R, t, s, s), torch.ones(n, 3))
    if supersample > 1:
        rgb = F.avg_pool2d(rgb.permute(0, 3, 1, 2), supersample).permute(0, 2, 3, 1)
        alpha = F.avg_pool2d(alpha[:, None], supersample)[:, 0]
    return rgb.clamp(0, 1), alpha


@torch.no_grad()
def gan_sweep(renderer: NeuralRenderer, image: torch.Tensor, mask: torch.Tensor, K: torch.Tensor,
              yaws: Sequence[float], pitch: float | None = None) -> torch.Tensor:
    """The generator's renders of the photo's encoded object at each requested yaw.

    Returns:
        `[N, S, S, 3]` in [0, 1] at the generator's resolution.
    """
    enc = renderer.encoder
    crop, cmask, _, _ = input_crop(image.float().cpu(), mask.float().cpu(), K.float().cpu(), enc.resolution)
    camera, shape, texture = enc.attributes(network_input(crop[None], cmask[None]))
    cams = sweep_cameras(camera[0], yaws, pitch)
    n = len(yaws)
    return gan_to_render(renderer.render(cams, shape.expand(n, -1), texture.expand(n, -1)))


def sweep_sheet(rows: Sequence[torch.Tensor], size: int) -> torch.Tensor:
    """Sweeps `[N, S_i, S_i, 3]` (one per renderer, the same N yaws) → one `[len(rows)·size, N·size, 3]` sheet.

    Example:
        >>> sweep_sheet([torch.zeros(3, 8, 8, 3), torch.ones(3, 4, 4, 3)], 8).shape
        torch.Size([16, 24, 3])
    """
    if not rows or len({len(r) for r in rows}) != 1:
        raise ToolError("a sweep sheet needs sweeps of the same yaws")
    out = []
    for r in rows:
        x = r.permute(0, 3, 1, 2)
        if x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="area" if x.shape[-1] > size else "bilinear",
                              align_corners=None if x.shape[-1] > size else False)
        out.append(torch.cat(list(x.permute(0, 2, 3, 1)), 1))
    return torch.cat(out, 0).clamp(0, 1)
