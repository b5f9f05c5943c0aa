"""The GAN as a 3D neural renderer ("StyleGAN-R"): train and run the attribute mapping of a generator.

The inverse-graphics encoder reads camera, shape code and texture code off generated images; the
mapping (`gan2d.nets.attribute_mapping`) learns to turn them back into the generator's W+, so the
generator renders "this object from that camera". One phase, `M_main`, of `gan2d.train.loop`, with the
generator and the encoder frozen; every step, for latents drawn from the step's seed:

- latent and image reconstruction: `M(IG(G(w)))` ≈ `w` (per-layer, in units of the W spread) and
  its image ≈ `G(w)`;
- camera cycle: the same shape and texture codes with a random requested camera are rendered by the
  generator, read back by the encoder (through a differentiable background-key mask), and must show
  that camera and the same codes.

Requested cameras are (yaw, pitch) on the faces rig; roll 0; the encoder's distance is kept.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gan2d.nets.attribute_mapping import AttributeMapping, AttributeMappingConfig
from gan2d.nets.stylegan2 import Generator
from gan2d.train.config import TrainConfig
from gan2d.train.loop import Batch, Phase
from tools.invgraphics.losses import angle_difference
from tools.invgraphics.model import InverseGraphicsModel

# The faces job's generated heads sit on this plain background (tools.faces.headset.BACKGROUND).
HEAD_BACKGROUND = (0.92, 0.92, 0.92)


@dataclass(frozen=True)
class NeuralRendererSettings:
    """How the mapping is trained.

    Attributes:
        yaw: (low, high) requested yaw in degrees.
        pitch: (low, high) requested pitch.
        truncation: ψ of the latents the mapping learns from.
        background: the generator's plain background color (for the key mask).
        tolerance: key-mask color tolerance.
        w_latent, w_image, w_camera, w_codes: loss weights.
    """

    yaw: tuple[float, float] = (-45.0, 45.0)
    pitch: tuple[float, float] = (-15.0, 15.0)
    truncation: float = 0.7
    background: tuple[float, float, float] = HEAD_BACKGROUND
    tolerance: float = 0.06
    w_latent: float = 1.0
    w_image: float = 1.0
    w_camera: float = 1.0
    w_codes: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)


def soft_key_mask(images: torch.Tensor, background: tuple[float, float, float], tolerance: float) -> torch.Tensor:
    """`[B, 3, H, W]` in [-1, 1] → `[B, H, W]` differentiable foreground: the distance from the background
    color ramped from `tolerance/2` to `1.5·tolerance`."""
    rgb = (images + 1) / 2
    d = (rgb - images.new_tensor(background)[None, :, None, None]).abs().amax(1)
    return ((d - tolerance / 2) / tolerance).clamp(0, 1)


def camera_features(camera: torch.Tensor, distance0: float) -> torch.Tensor:
    """`[B, 4]` (yaw°, pitch°, roll°, distance) → `[B, 4]` mapping input of unit scale."""
    return torch.stack([camera[:, 0] / 60, camera[:, 1] / 30, camera[:, 2] / 10,
                        4 * torch.log(camera[:, 3] / distance0)], 1)


def encoder_input(images: torch.Tensor, resolution: int, background: tuple[float, float, float],
                  tolerance: float) -> torch.Tensor:
    """Generated images `[B, 3, S, S]` → the encoder's `[B, 4, R, R]` (RGB + key mask, in [-1, 1])."""
    if images.shape[-1] != resolution:
        images = F.interpolate(images, size=(resolution, resolution), mode="area" if images.shape[-1] > resolution
                               else "bilinear")
    mask = soft_key_mask(images, background, tolerance)
    return torch.cat([images, mask[:, None] * 2 - 1], 1)


class NeuralRenderer(nn.Module):
    """Generator + attribute mapping + encoder: renders encoded objects at requested cameras.

    Args:
        G: the generator (frozen).
        mapping: the attribute mapping.
        encoder: the inverse-graphics model whose codes the mapping reads (frozen).
        settings: background/key settings.
    """

    def __init__(self, G: Generator, mapping: AttributeMapping, encoder: InverseGraphicsModel,
                 settings: NeuralRendererSettings | None = None) -> None:
        super().__init__()
        self.G, self.mapping, self.encoder = G, mapping, encoder
        self.settings = settings or NeuralRendererSettings()

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Generated (or photo) images `[B, 3, S, S]` in [-1, 1] → camera, shape code, texture code."""
        s = self.settings
        return self.encoder.attributes(encoder_input(images, self.encoder.resolution, s.background, s.tolerance))

    def ws(self, camera: torch.Tensor, shape: torch.Tensor, texture: torch.Tensor) -> torch.Tensor:
        """`[B, num_ws, w_dim]` for the requested cameras `[B, 4]` and codes."""
        return self.mapping(camera_features(camera, self.encoder.config.distance0), shape, texture)

    def render(self, camera: torch.Tensor, shape: torch.Tensor, texture: torch.Tensor) -> torch.Tensor:
        """`[B, 3, S, S]` generator images in [-1, 1] of the codes at the requested cameras."""
        return self.G.synthesis(self.ws(camera, shape, texture), noise_mode="const")


def random_cameras(n: int, settings: NeuralRendererSettings, distance: torch.Tensor) -> torch.Tensor:
    """`[n, 4]` requested cameras: uniform yaw and pitch in the settings' ranges, roll 0, `distance: [n]`."""
    yaw = torch.empty(n).uniform_(*settings.yaw)
    pitch = torch.empty(n).uniform_(*settings.pitch)
    return torch.stack([yaw, pitch, torch.zeros(n), distance.detach().cpu()], 1).to(distance.device)


class NeuralRendererTask:
    """Networks `M`, `M_ema`, the Adam optimizer and the `M_main` phase (see the module docstring).

    Args:
        G: frozen generator.
        encoder: frozen inverse-graphics model.
        mapping: the mapping being trained.
        train: loop settings (`lr_g`, `betas_g`).
        settings: losses and camera ranges.
        sample_count: identities shown in sample grids (rows: original, then a yaw sweep).
    """

    def __init__(self, G: Generator, encoder: InverseGraphicsModel, mapping: AttributeMapping, train: TrainConfig,
                 settings: NeuralRendererSettings, sample_count: int = 6) -> None:
        self.G = G.eval().requires_grad_(False)
        self.encoder = encoder.eval().requires_grad_(False)
        self.settings = settings
        self.M = mapping
        self.M_ema = copy.deepcopy(mapping).eval().requires_grad_(False)
        self.networks: dict[str, nn.Module] = {"M": mapping, "M_ema": self.M_ema}
        self.ema_pairs = [("M", "M_ema")]
        self.aux: dict[str, nn.Module] = {}
        self.optimizers = {"M": torch.optim.Adam(mapping.parameters(), lr=train.lr_g, betas=train.betas_g)}
        self.phases = [Phase("M_main", mapping, self.optimizers["M"], self._main, mixed_precision=False)]
        self.sample_z = torch.randn(sample_count, G.z_dim, generator=torch.Generator().manual_seed(123))
        self.sample_columns = sample_count
        # The spread of w per layer: the unit the latent loss is measured in.
        with torch.no_grad():
            w = G.mapping(torch.randn(2048, G.z_dim, generator=torch.Generator().manual_seed(7)), None,
                          truncation_psi=settings.truncation)
        self.w_std = w.std(0).mean(-1).clamp(min=1e-6)  # [num_ws]

    def _renderer(self, mapping: AttributeMapping) -> NeuralRenderer:
        return NeuralRenderer(self.G, mapping, self.encoder, self.settings)

    def _main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        (index,) = batch
        s = self.settings
        nr = self._renderer(self.M)
        z = torch.randn(index.shape[0], self.G.z_dim, device=index.device)
        with torch.no_grad():
            ws = self.G.mapping(z, None, truncation_psi=s.truncation)
            x = self.G.synthesis(ws, noise_mode="const")
            camera, shape, texture = nr.encode(x)
        ws_hat = nr.ws(camera, shape, texture)
        std = self.w_std.to(ws.device)[None, :, None]
        terms = {"latent": (((ws_hat - ws) / std) ** 2).mean(),
                 "image": (self.G.synthesis(ws_hat, noise_mode="const") - x).abs().mean()}
        want = random_cameras(index.shape[0], s, camera[:, 3])
        seen_cam, seen_shape, seen_texture = nr.encode(nr.render(want, shape, texture))
        err = angle_difference(seen_cam[:, :2], want[:, :2]) / 10.0
        terms["camera"] = F.smooth_l1_loss(err, torch.zeros_like(err))
        spread = torch.cat([shape, texture], 1).std(0).clamp(min=1e-3)
        codes = torch.cat([seen_shape, seen_texture], 1) - torch.cat([shape, texture], 1)
        terms["codes"] = ((codes / spread) ** 2).mean()
        loss = (s.w_latent * terms["latent"] + s.w_image * terms["image"] + s.w_camera * terms["camera"]
                + s.w_codes * terms["codes"])
        stats = {**terms, "yaw_error": angle_difference(seen_cam[:, 0], want[:, 0]).abs().mean().detach()}
        return loss, stats

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """Columns of identities; rows: the generated image, then the mapping's renders at yaw -40…40."""
        nr = self._renderer(self.M_ema)
        dev = self.M_ema.w_avg.device
        x = self.G(self.sample_z.to(dev), None, truncation_psi=self.settings.truncation, noise_mode="const")
        camera, shape, texture = nr.encode(x)
        rows = [x]
        for yaw in (-40.0, -20.0, 0.0, 20.0, 40.0):
            want = camera.clone()
            want[:, 0], want[:, 2] = yaw, 0.0
            rows.append(nr.render(want, shape, texture))
        return torch.cat(rows).clamp(-1, 1)


def build_mapping(G: Generator, encoder: InverseGraphicsModel, camera_layers: int = 4, hidden: int = 256
                  ) -> AttributeMapping:
    """A fresh mapping sized for `G` and `encoder`, centred on `G`'s average w."""
    c = encoder.config.net
    cfg = AttributeMappingConfig(shape_dim=c.shape_dim, texture_dim=c.texture_dim, w_dim=G.w_dim, num_ws=G.num_ws,
                                 camera_layers=min(camera_layers, G.num_ws - 1), hidden=hidden)
    w_avg = getattr(G.mapping, "w_avg", None)
    return AttributeMapping(cfg, w_avg)


class SeedSet(torch.utils.data.Dataset):
    """`n` items `(index,)`: the loop needs a dataset; the latents come from each step's seed."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[torch.Tensor]:
        return (torch.tensor(i),)
