"""What the network's numbers mean: `Prediction` (a textured, lit mesh and a camera) and `InverseGraphicsModel`.

Units. The mesh lives in the object's canonical frame, centred on the point the cameras look at. Its
size is measured in `κ = distance · (R/2) / f`, half the input image's side at the object's
distance, so the same prediction fits the image whatever the focal length and distance: the network
sizes the object relative to the frame and the camera head only decides perspective and viewpoint.
`verts = κ · (scale · (template/2 + offsets) + translation)`; with radial offsets (one number o per
vertex) `template/2 + offsets = exp(o) · template/2`.

Camera head → (yaw, pitch, roll) in degrees and distance (see `tools.invgraphics.camera`): yaw =
60·c₀, pitch = 30·c₁, roll = 10·c₂, distance = `distance0 · exp(c₃ / 4)`; lighting: SH radiance
around a uniform white environment (`L₀₀ = 1/Y₀₀` gives albedo × 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gan2d.nets.invgraphics import InverseGraphicsConfig, InverseGraphicsNet
from render3d.cameras import Cameras
from render3d.topology import MeshTopology
from tools.invgraphics.camera import orbit_extrinsics
from tools.invgraphics.render import DEFAULT_RENDER, SoftRenderSettings, render_textured_batch
from tools.invgraphics.template import SphereTemplate, symmetrize_texture

# Scales of the raw camera head, in degrees (yaw, pitch, roll).
CAMERA_SCALE = (60.0, 30.0, 10.0)
SH_Y00 = 0.282095


@dataclass(frozen=True)
class ModelConfig:
    """The network plus what its numbers mean.

    Attributes:
        net: the gan2d network's config (its `num_verts` must match `level`).
        level: icosphere level of the template.
        symmetric: predict left-right (x = 0) symmetric shapes and textures.
        distance0: camera distance the camera head is centred on.
    """

    net: InverseGraphicsConfig
    level: int = 3
    symmetric: bool = False
    distance0: float = 2.75

    def to_dict(self) -> dict:
        return {"net": self.net.to_dict(), "level": self.level, "symmetric": self.symmetric,
                "distance0": self.distance0}

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        return cls(InverseGraphicsConfig.from_dict(data["net"]), int(data["level"]), bool(data["symmetric"]),
                   float(data["distance0"]))


@dataclass
class Prediction:
    """A batch of B predicted objects, each seen by its input camera.

    Attributes:
        verts: `[B, V, 3]` canonical-frame positions.
        faces: `[F, 3]` shared faces.
        topology: their `MeshTopology`.
        dirs: `[V, 3]` template directions (texture coordinates).
        texture: `[B, 3, th, tw]` albedo maps.
        sh: `[B, 9, 3]` lighting.
        camera: `[B, 4]` the input view's (yaw°, pitch°, roll°, distance) in the canonical frame.
        shape_code: `[B, S]`.
        texture_code: `[B, T]`.
    """

    verts: torch.Tensor
    faces: torch.Tensor
    topology: MeshTopology
    dirs: torch.Tensor
    texture: torch.Tensor
    sh: torch.Tensor
    camera: torch.Tensor
    shape_code: torch.Tensor
    texture_code: torch.Tensor

    def __len__(self) -> int:
        return self.verts.shape[0]

    def render(self, cameras: Cameras, background: torch.Tensor,
               settings: SoftRenderSettings = DEFAULT_RENDER) -> tuple[torch.Tensor, torch.Tensor]:
        """Soft render of object b by camera b (`rgb [B, H, W, 3]`, `alpha [B, H, W]`)."""
        return render_textured_batch(self.verts, self.faces, self.topology, self.dirs, self.texture, self.sh,
                                     cameras, background, settings)

    def repeat(self, n: int) -> Prediction:
        """Each object repeated n times in a row (to render n views of it in one batch)."""
        r = lambda x: x.repeat_interleave(n, 0)  # noqa: E731
        return Prediction(r(self.verts), self.faces, self.topology, self.dirs, r(self.texture), r(self.sh),
                          r(self.camera), r(self.shape_code), r(self.texture_code))

    def input_cameras(self, K: torch.Tensor, size: int) -> Cameras:
        """The predicted input-view cameras with intrinsics `K: [B, 3, 3]`."""
        R, t = orbit_extrinsics(self.camera)
        return Cameras(K, R, t, size, size)


class InverseGraphicsModel(nn.Module):
    """`InverseGraphicsNet` + the template: images → `Prediction`.

    Example:
        >>> from gan2d.nets.invgraphics import InverseGraphicsConfig
        >>> cfg = ModelConfig(InverseGraphicsConfig(num_verts=42, resolution=16, base_channels=8, max_channels=16,
        ...                                         texture_size=(8, 16)), level=1)
        >>> model = InverseGraphicsModel(cfg).eval()
        >>> K = torch.tensor([[[20.0, 0, 8], [0, 20, 8], [0, 0, 1]]])
        >>> pred = model(torch.zeros(1, 4, 16, 16), K)
        >>> pred.verts.shape, pred.camera[0, 3].item() > 0
        (torch.Size([1, 42, 3]), True)
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.net.num_verts != 10 * 4**config.level + 2:
            from tools.errors import ToolError

            raise ToolError(f"the network predicts {config.net.num_verts} vertices; level {config.level} has "
                            f"{10 * 4**config.level + 2}")
        self.config = config
        self.net = InverseGraphicsNet(config.net)
        self.template = SphereTemplate.build(config.level)
        self.register_buffer("dirs", self.template.verts.clone(), persistent=False)
        self.register_buffer("faces", self.template.faces.clone(), persistent=False)

    @property
    def resolution(self) -> int:
        return self.config.net.resolution

    def decode(self, out: dict[str, torch.Tensor], K: torch.Tensor) -> Prediction:
        """Raw network outputs (`InverseGraphicsNet.forward`) → `Prediction`, for inputs seen through `K: [B, 3, 3]`."""
        camera = self.decode_camera(out["camera"])
        distance = camera[:, 3:]
        offsets, texture = out["offsets"], out["texture"]
        if offsets.shape[-1] == 1:  # log-radius along the template's directions: star-shaped, never inverted
            offsets = 0.5 * torch.expm1(offsets) * self.dirs
        if self.config.symmetric:
            offsets, texture = self.template.symmetrize_offsets(offsets), symmetrize_texture(texture)
        place = out["placement"]
        kappa = distance * (self.resolution / 2) / K[:, 0, 0:1]
        local = torch.exp(place[:, :1, None] / 2) * (0.5 * self.dirs + offsets) + 0.3 * place[:, None, 1:]
        sh = out["light"] * 0.3
        sh = torch.cat([sh[:, :1] + 1.0 / SH_Y00, sh[:, 1:]], 1)
        return Prediction(kappa[..., None] * local, self.faces, self.template.topology.to(self.faces.device),
                          self.dirs, texture, sh, camera,
                          out["shape_code"], out["texture_code"])

    def decode_camera(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw camera head `[B, 4]` → (yaw°, pitch°, roll°, distance) `[B, 4]`."""
        distance = self.config.distance0 * torch.exp(raw[:, 3:4] / 4)
        return torch.cat([raw[:, :3] * raw.new_tensor(CAMERA_SCALE), distance], 1)

    def attributes(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """What the GAN's attribute mapping consumes: camera `[B, 4]` (degrees, distance), shape code
        `[B, S]` and texture code `[B, T]` of images `[B, 4, R, R]` (no intrinsics needed)."""
        h = self.net.encode(images)
        return self.decode_camera(h["camera"]), h["shape"], h["texture"]

    def forward(self, images: torch.Tensor, K: torch.Tensor) -> Prediction:
        """images `[B, 4, R, R]` (RGB and mask in [-1, 1]) seen through `K: [B, 3, 3]` → `Prediction`."""
        return self.decode(self.net(images), K)
