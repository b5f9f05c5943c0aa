"""The GAN as a 3D neural renderer ("StyleGAN-R"): train and run the attribute mapping of a generator.

The inverse-graphics encoder reads camera, shape code and texture code off generated images; the
mapping (`gan2d.nets.attribute_mapping`) learns to turn them back into the generator's styles, so the
generator renders "this object from that camera". Two kinds of generator, one code path:

- a W-space generator: the mapping turns (camera, codes) into its W+, and has to find the camera there;
- a pose-conditioned one (`tools.faces.condition.is_pose_conditioned`): the mapping turns the codes
  into its label-free styles (the identity) and the requested (yaw, pitch) goes in through the
  generator's own view label, `G.mapping.view(ws, encode_pose(pose))`, so camera control is the
  generator's and the mapping carries only the object.

`NeuralRenderer.styles` (the mapping's output) and `NeuralRenderer.place` (that output at a camera)
are where the two differ. One phase, `M_main`, of `gan2d.train.loop`, with the generator and the
encoder frozen; every step, for latents drawn from the step's seed:

- latent and image reconstruction: `M(IG(G(w)))` ≈ `w` (per layer, in units of the spread of w; the
  label-free w for a conditioned generator) and its image ≈ `G(w)` (a conditioned generator's sample
  is drawn at a random pose label, and the reconstruction is rendered at that ground-truth label);
- camera cycle: the same shape and texture codes with a random requested camera are rendered by the
  generator, read back by the encoder (through a differentiable background-key mask), and must show
  that camera and the same codes;
- pose critic (optional, `w_pose`): a head analyzer of the faces job reads the (yaw, pitch) of those renders,
  which must be the requested ones. The encoder's camera is a coarse reader of the generator's pose; the bench
  measures the renderer's pose with the faces analyzer, so a second analyzer (not the measuring one) holds the
  mapping's styles where the generator's view label turns them as asked.

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
from tools.errors import ToolError
from tools.faces.condition import is_pose_conditioned
from tools.faces.pose_labels import encode_pose
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
        w_latent, w_image, w_camera, w_codes, w_pose: loss weights (`w_pose` needs a pose critic).
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
    w_pose: float = 0.0

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
        G: the generator (frozen), W-space or pose-conditioned.
        mapping: the attribute mapping (label-free for a pose-conditioned generator).
        encoder: the inverse-graphics model whose codes the mapping reads (frozen).
        settings: background/key settings.

    Raises:
        ToolError: a mapping of the other kind than the generator (camera head vs label-free).
    """

    def __init__(self, G: Generator, mapping: AttributeMapping, encoder: InverseGraphicsModel,
                 settings: NeuralRendererSettings | None = None) -> None:
        super().__init__()
        self.G, self.mapping, self.encoder = G, mapping, encoder
        self.settings = settings or NeuralRendererSettings()
        self.conditioned = is_pose_conditioned(G)
        if self.conditioned != mapping.label_free:
            raise ToolError("the attribute mapping is " + ("label-free (made for a pose-conditioned generator)"
                            if mapping.label_free else "a W+ mapping with a camera head (made for a W-space "
                            "generator)") + f", the generator is {'' if self.conditioned else 'not '}pose-conditioned")

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Generated (or photo) images `[B, 3, S, S]` in [-1, 1] → camera, shape code, texture code."""
        s = self.settings
        return self.encoder.attributes(encoder_input(images, self.encoder.resolution, s.background, s.tolerance))

    def styles(self, camera: torch.Tensor, shape: torch.Tensor, texture: torch.Tensor) -> torch.Tensor:
        """`[B, num_ws, w_dim]` the mapping's output for cameras `[B, 4]` and codes: W+ at that camera, or the
        label-free styles of a pose-conditioned generator (which do not depend on the camera)."""
        if self.conditioned:
            return self.mapping(shape, texture)
        return self.mapping(shape, texture, camera_features(camera, self.encoder.config.distance0))

    def place(self, styles: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
        """Generator input `[B, num_ws, w_dim]`: a conditioned generator's label-free `styles` at the view label of
        `camera [B, 4]`'s (yaw, pitch); W+ `styles` already hold their camera."""
        return self.G.mapping.view(styles, encode_pose(camera[:, :2])) if self.conditioned else styles

    def ws(self, camera: torch.Tensor, shape: torch.Tensor, texture: torch.Tensor) -> torch.Tensor:
        """`[B, num_ws, w_dim]` what the synthesis network takes for the requested cameras `[B, 4]` and codes."""
        return self.place(self.styles(camera, shape, texture), camera)

    def render(self, camera: torch.Tensor, shape: torch.Tensor, texture: torch.Tensor) -> torch.Tensor:
        """`[B, 3, S, S]` generator images in [-1, 1] of the codes at the requested cameras."""
        return self.G.synthesis(self.ws(camera, shape, texture), noise_mode="const")


def sample_objects(G: Generator, z: torch.Tensor, truncation: float, pose: torch.Tensor | None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """The generator's objects of latents `z [B, z_dim]`: (styles the mapping should give, `[B, num_ws, w_dim]`;
    images `[B, 3, S, S]`). A pose-conditioned generator's styles are label-free and its images drawn at
    `pose [B, 2]` (yaw, pitch) degrees; a W-space generator's are W+ and `pose` is not used."""
    with torch.no_grad():
        if is_pose_conditioned(G):
            ws = G.mapping.shared(z, None, truncation_psi=truncation)
            return ws, G.synthesis(G.mapping.view(ws, encode_pose(pose)), noise_mode="const")
        ws = G.mapping(z, None, truncation_psi=truncation)
        return ws, G.synthesis(ws, noise_mode="const")


def random_poses(n: int, settings: NeuralRendererSettings) -> torch.Tensor:
    """`[n, 2]` (yaw, pitch) degrees uniform in the settings' ranges."""
    return torch.stack([torch.empty(n).uniform_(*settings.yaw), torch.empty(n).uniform_(*settings.pitch)], 1)


def random_cameras(n: int, settings: NeuralRendererSettings, distance: torch.Tensor) -> torch.Tensor:
    """`[n, 4]` requested cameras: uniform yaw and pitch in the settings' ranges, roll 0, `distance: [n]`."""
    return pose_cameras(random_poses(n, settings), distance)


def pose_cameras(pose: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
    """`[n, 4]` cameras of `pose [n, 2]` (yaw, pitch) degrees, roll 0, `distance [n]`."""
    n = pose.shape[0]
    return torch.cat([pose.float().cpu(), torch.zeros(n, 1), distance.detach().cpu().reshape(n, 1)],
                     1).to(distance.device)


class NeuralRendererTask:
    """Networks `M`, `M_ema`, the Adam optimizer and the `M_main` phase (see the module docstring).

    Args:
        G: frozen generator.
        encoder: frozen inverse-graphics model.
        mapping: the mapping being trained.
        train: loop settings (`lr_g`, `betas_g`).
        settings: losses and camera ranges.
        sample_count: identities shown in sample grids (rows: original, then a yaw sweep).
        pose_critic: a frozen head analyzer (`tools.faces.analyzer.HeadAnalyzer`: `.pose(images [B, 3, S, S])` →
            `[B, 2]` (yaw, pitch) degrees) for `settings.w_pose`.

    Raises:
        ToolError: `w_pose` > 0 without a pose critic.
    """

    def __init__(self, G: Generator, encoder: InverseGraphicsModel, mapping: AttributeMapping, train: TrainConfig,
                 settings: NeuralRendererSettings, sample_count: int = 6, pose_critic: nn.Module | None = None
                 ) -> None:
        if settings.w_pose > 0 and pose_critic is None:
            raise ToolError("w_pose > 0 needs a pose critic (a head analyzer)")
        self.pose_critic = None if pose_critic is None else pose_critic.eval().requires_grad_(False)
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
            z = torch.randn(2048, G.z_dim, generator=torch.Generator().manual_seed(7))
            mapping_of_z = G.mapping.shared if is_pose_conditioned(G) else G.mapping
            w = mapping_of_z(z, None, truncation_psi=settings.truncation)
        self.w_std = w.std(0).mean(-1).clamp(min=1e-6)  # [num_ws]

    def _renderer(self, mapping: AttributeMapping) -> NeuralRenderer:
        return NeuralRenderer(self.G, mapping, self.encoder, self.settings)

    def _main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        (index,) = batch
        s = self.settings
        nr = self._renderer(self.M)
        n = index.shape[0]
        z = torch.randn(n, self.G.z_dim, device=index.device)
        pose = random_poses(n, s).to(index.device)
        ws, x = sample_objects(self.G, z, s.truncation, pose)
        with torch.no_grad():
            camera, shape, texture = nr.encode(x)
        styles = nr.styles(camera, shape, texture)
        std = self.w_std.to(ws.device)[None, :, None]
        # A conditioned sample is reconstructed at the label it was drawn with (its ground truth), W+ at its own camera.
        shown = pose_cameras(pose, camera[:, 3]) if nr.conditioned else camera
        terms = {"latent": (((styles - ws) / std) ** 2).mean(),
                 "image": (self.G.synthesis(nr.place(styles, shown), noise_mode="const") - x).abs().mean()}
        want = random_cameras(n, s, camera[:, 3])
        turned = nr.render(want, shape, texture)
        seen_cam, seen_shape, seen_texture = nr.encode(turned)
        err = angle_difference(seen_cam[:, :2], want[:, :2]) / 10.0
        terms["camera"] = F.smooth_l1_loss(err, torch.zeros_like(err))
        if s.w_pose > 0:
            miss = angle_difference(self.pose_critic.pose(turned), want[:, :2]) / 10.0
            terms["pose"] = F.smooth_l1_loss(miss, torch.zeros_like(miss))
        spread = torch.cat([shape, texture], 1).std(0).clamp(min=1e-3)
        codes = torch.cat([seen_shape, seen_texture], 1) - torch.cat([shape, texture], 1)
        terms["codes"] = ((codes / spread) ** 2).mean()
        loss = (s.w_latent * terms["latent"] + s.w_image * terms["image"] + s.w_camera * terms["camera"]
                + s.w_codes * terms["codes"] + s.w_pose * terms.get("pose", 0.0))
        stats = {**terms, "yaw_error": angle_difference(seen_cam[:, 0], want[:, 0]).abs().mean().detach()}
        return loss, stats

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """Columns of identities; rows: the generated image (a conditioned one frontal), then the mapping's renders
        at yaw -40…40."""
        nr = self._renderer(self.M_ema)
        z = self.sample_z.to(self.M_ema.w_avg.device)
        _, x = sample_objects(self.G, z, self.settings.truncation, torch.zeros(len(z), 2, device=z.device))
        camera, shape, texture = nr.encode(x)
        rows = [x]
        for yaw in (-40.0, -20.0, 0.0, 20.0, 40.0):
            want = camera.clone()
            want[:, 0], want[:, 2] = yaw, 0.0
            rows.append(nr.render(want, shape, texture))
        return torch.cat(rows).clamp(-1, 1)


def build_mapping(G: Generator, encoder: InverseGraphicsModel, camera_layers: int = 4, hidden: int = 256
                  ) -> AttributeMapping:
    """A fresh mapping sized for `G` and `encoder`, centred on `G`'s average (label-free) w; label-free for a
    pose-conditioned `G` (`camera_layers` then unused)."""
    c = encoder.config.net
    layers = 0 if is_pose_conditioned(G) else min(camera_layers, G.num_ws - 1)
    cfg = AttributeMappingConfig(camera_dim=4 if layers else 0, shape_dim=c.shape_dim, texture_dim=c.texture_dim,
                                 w_dim=G.w_dim, num_ws=G.num_ws, camera_layers=layers, hidden=hidden)
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
