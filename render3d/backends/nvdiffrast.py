"""nvdiffrast backend (CUDA only): hardware-speed rasterize / interpolate / texture / antialias.

Conventions converted here:
  * Clip space. Our OpenCV camera (K in pixels, x right, y down, z forward) becomes an OpenGL clip
    transform with `w = z_cam`: `x_ndc = 2u/W - 1`, `y_ndc = 1 - 2v/H` (up), and
    `z_ndc ∈ [-1, 1]` between `znear` and `zfar` (nvdiffrast clips triangles there, so `znear`
    is a true near plane). `zfar` defaults to just beyond the farthest vertex, so nothing is lost.
  * Rows. nvdiffrast writes row 0 at `y_ndc = -1` (bottom-up); every image is flipped to our
    row-0-top order on the way out and back on the way in (antialias).
  * Triangle ids. Its 4th channel holds `triangle_id + 1` (0 = empty) as a float, with ids above
    2^24 stored bit-cast; `decode_triangle_id` undoes both. In range mode the id indexes the packed
    triangle tensor, i.e. our packed faces.
  * Barycentrics. Channels (u, v) weight the face's first and second vertex, `1 - u - v` the third
    (as its `interpolate` kernel does); they are perspective-correct (clip-space interpolation).
  * Depth. `zbuf` is the camera z interpolated with those barycentrics, not its z/w.

Back-face culling removes faces before rasterization (nvdiffrast has no culling). K > 1 faces per
pixel come from its depth peeler. `dists` is not computed (None), no soft rasterization.
The package is imported lazily; `RasterizeCudaContext`s are created once per device and reused.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

import torch

from render3d.backends.capabilities import OUTPUT_FIELDS, SHADING_MODELS, Capabilities, Task
from render3d.backends.info import BackendInfo, pip_install_hint
from render3d.backends.raster_render import render_meshes_by_rasterizing
from render3d.cameras import Cameras
from render3d.errors import BackendUnavailable, ShapeError
from render3d.fragments import Fragments
from render3d.output import RenderOutput
from render3d.raster.settings import RasterSettings
from render3d.render_settings import RenderSettings
from render3d.shading.materials import Materials
from render3d.structures import Meshes

if TYPE_CHECKING:
    from render3d.lights import Light


def _dr() -> Any:
    import nvdiffrast.torch as dr

    return dr


def _probe() -> str | None:
    # CUDA first: importing nvdiffrast.torch loads torch.utils.cpp_extension, which warns
    # "No CUDA runtime is found" on every CPU-only machine that merely lists the backends.
    if importlib.util.find_spec("nvdiffrast") is None:
        raise ModuleNotFoundError("No module named 'nvdiffrast'")
    if not torch.cuda.is_available():
        return "needs a CUDA GPU (torch.cuda.is_available() is False)"
    dr = _dr()
    dr.RasterizeCudaContext()  # compiles nvdiffrast's CUDA plugin on first use (needs nvcc)
    return None


def clip_projection(cameras: Cameras, znear: float, zfar: float) -> torch.Tensor:
    """`[B, 4, 4]` OpenGL projection P with `clip = P @ [x_cam, y_cam, z_cam, 1]` for our cameras.

    Perspective: `w = z_cam`; orthographic: `w = 1`. NDC x = 2u/W - 1, y = 1 - 2v/H (up), z from
    -1 at `znear` to +1 at `zfar`.

    Raises:
        ShapeError: not `0 < znear < zfar`.

    Example:
        >>> K = torch.tensor([[[10.0, 0, 5], [0, 10, 5], [0, 0, 1]]])
        >>> cams = Cameras(K, torch.eye(3)[None], torch.zeros(1, 3), 10, 10)
        >>> (clip_projection(cams, 1.0, 3.0)[0] @ torch.tensor([0.0, 0, 1, 1])).tolist()
        [0.0, 0.0, -1.0, 1.0]
    """
    if not 0 < znear < zfar:
        raise ShapeError(f"need 0 < znear < zfar, got znear={znear}, zfar={zfar}")
    K = cameras.K
    B, W, H = len(cameras), float(cameras.width), float(cameras.height)
    P = torch.zeros(B, 4, 4, dtype=K.dtype, device=K.device)
    P[:, 0, 0] = 2.0 * K[:, 0, 0] / W
    P[:, 0, 1] = 2.0 * K[:, 0, 1] / W
    P[:, 1, 1] = -2.0 * K[:, 1, 1] / H
    if cameras.orthographic:
        P[:, 0, 3] = 2.0 * K[:, 0, 2] / W - 1.0
        P[:, 1, 3] = 1.0 - 2.0 * K[:, 1, 2] / H
        P[:, 2, 2] = 2.0 / (zfar - znear)
        P[:, 2, 3] = -(zfar + znear) / (zfar - znear)
        P[:, 3, 3] = 1.0
    else:
        P[:, 0, 2] = 2.0 * K[:, 0, 2] / W - 1.0
        P[:, 1, 2] = 1.0 - 2.0 * K[:, 1, 2] / H
        P[:, 2, 2] = (zfar + znear) / (zfar - znear)
        P[:, 2, 3] = -2.0 * zfar * znear / (zfar - znear)
        P[:, 3, 2] = 1.0
    return P


def decode_triangle_id(channel: torch.Tensor) -> torch.Tensor:
    """nvdiffrast's float triangle-id channel → long 0-based face index, -1 where empty.

    Ids up to 2^24 are stored as exact floats, larger ones bit-cast (offset 0x4a800000).

    Example:
        >>> decode_triangle_id(torch.tensor([0.0, 1.0, 7.0])).tolist()
        [-1, 0, 6]
    """
    as_int = channel.contiguous().view(torch.int32).long() - 0x4A800000
    ids = torch.where(channel <= 16777216.0, channel.long(), as_int)
    return ids - 1


def fragments_from_rast(
    layers: list[torch.Tensor], faces: torch.Tensor, verts_z: torch.Tensor, face_map: torch.Tensor | None,
    perspective_correct: bool,
) -> Fragments:
    """Raw nvdiffrast outputs → our Fragments (rows flipped to top-first).

    Args:
        layers: K tensors `[B, H, W, 4]` (u, v, z/w, triangle_id + 1), rows bottom-up, nearest first.
        faces: `[F', 3]` long, the triangles that were rasterized (packed vertex indices).
        verts_z: `[V]` camera z of the packed vertices.
        face_map: `[F']` long, index of each rasterized triangle among the mesh's packed faces
            (after culling), or None when all faces were rasterized in order.
        perspective_correct: keep nvdiffrast's perspective-correct barycentrics; False converts
            them to screen-space ones (`b_i z_i / Σ b_j z_j`).

    Returns:
        Fragments `[B, H, W, K]`, `dists=None`. Differentiable through (u, v) to vertex depth.
    """
    rast = torch.stack(layers, 3).flip(1)  # [B, H, W, K, 4], row 0 at the top
    tri = decode_triangle_id(rast[..., 3])
    empty = tri < 0
    safe = tri.clamp(min=0)
    u, v = rast[..., 0], rast[..., 1]
    bary = torch.stack([u, v, 1.0 - u - v], -1)
    zc = verts_z[faces[safe]]  # [B, H, W, K, 3]
    zbuf = (bary * zc).sum(-1)
    if not perspective_correct:
        bz = bary * zc
        bary = bz / bz.sum(-1, keepdim=True).clamp(min=1e-12)
    pix_to_face = tri if face_map is None else torch.where(empty, tri, face_map[safe])
    return Fragments(
        pix_to_face=pix_to_face,
        bary=bary.masked_fill(empty[..., None], 0.0),
        zbuf=zbuf.masked_fill(empty, -1.0),
        dists=None,
    )


def _camera_verts(meshes: Meshes, cameras: Cameras) -> torch.Tensor:
    owner = meshes.vert_to_mesh_idx
    return (meshes.verts_packed().unsqueeze(1) @ cameras.R[owner].transpose(1, 2)).squeeze(1) + cameras.t[owner]


def clip_positions(meshes: Meshes, cameras: Cameras, znear: float = 1e-3,
                   zfar: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Packed vertices in OpenGL clip space, each through its own mesh's camera (nvdiffrast range mode).

    Args:
        meshes: B meshes.
        cameras: B cameras.
        znear: near plane (camera z).
        zfar: far plane; default just beyond the farthest vertex.

    Returns:
        `pos: [V, 4]` float32 contiguous clip coordinates and `cam_z: [V]` camera depths.
    """
    cam = _camera_verts(meshes, cameras)
    if zfar is None:
        zfar = max(float(cam[:, 2].max()) * 1.01 + 1e-3, znear * 2.0)
    P = clip_projection(cameras, znear, zfar)[meshes.vert_to_mesh_idx]
    pos = (P @ torch.cat([cam, torch.ones_like(cam[:, :1])], 1).unsqueeze(-1)).squeeze(-1)
    return pos.float().contiguous(), cam[:, 2]


def front_facing(meshes: Meshes, cameras: Cameras) -> torch.Tensor:
    """`[F]` bool: packed faces whose counter-clockwise normal points toward their camera."""
    cam = _camera_verts(meshes, cameras)
    fv = cam[meshes.faces_packed()]
    n = torch.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=1)
    if cameras.orthographic:
        return n[:, 2] < 0
    return (n * fv[:, 0]).sum(1) < 0


class NvdiffrastFrame:
    """One rasterization: the raw nvdiffrast tensors plus what `interpolate`/`antialias` need.

    Keep it to interpolate several attributes or antialias several images of the same raster; the
    antialias topology hash is built once, on first use.
    """

    def __init__(self, layers: list[torch.Tensor], pos: torch.Tensor, tri: torch.Tensor, ranges: torch.Tensor,
                 faces: torch.Tensor, verts_z: torch.Tensor, face_map: torch.Tensor | None,
                 orthographic: bool) -> None:
        self.layers, self.pos, self.tri, self.ranges = layers, pos, tri, ranges
        self.faces, self.verts_z, self.face_map, self.orthographic = faces, verts_z, face_map, orthographic
        self._topology_hash: Any = None

    def fragments(self, perspective_correct: bool = True) -> Fragments:
        """The raster as our `Fragments` (see `fragments_from_rast`).

        Orthographic barycentrics are screen-space already (w = 1), so `perspective_correct` is moot there.
        """
        return fragments_from_rast(self.layers, self.faces, self.verts_z, self.face_map,
                                   perspective_correct or self.orthographic)

    def interpolate(self, vert_attrs: torch.Tensor, layer: int = 0) -> torch.Tensor:
        """`vert_attrs: [V, C]` packed per-vertex attributes → `[B, H, W, C]` at the given depth layer."""
        if vert_attrs.dim() != 2 or vert_attrs.shape[0] != self.pos.shape[0]:
            raise ShapeError(f"vert_attrs must be [{self.pos.shape[0]}, C], got {list(vert_attrs.shape)}")
        out, _ = _dr().interpolate(vert_attrs.float().contiguous(), self.layers[layer], self.tri)
        return out.flip(1)

    def texture(self, tex: torch.Tensor, uv: torch.Tensor, filter_mode: str = "linear",
                boundary_mode: str = "wrap") -> torch.Tensor:
        """Sample `tex: [B, Ht, Wt, C]` (row 0 = image top) at `uv: [B, H, W, 2]` (origin bottom-left).

        nvdiffrast reads texel row `v·Ht`, counting from the tensor's first row, so v is flipped.
        `filter_mode`/`boundary_mode` are nvdiffrast's (`"nearest"`, `"linear"`; `"wrap"`,
        `"clamp"`, `"zero"`).

        Returns:
            `[B, H, W, C]`.
        """
        if tex.dim() != 4 or uv.dim() != 4 or uv.shape[-1] != 2:
            raise ShapeError(f"need tex [B, Ht, Wt, C] and uv [B, H, W, 2], got {list(tex.shape)}, {list(uv.shape)}")
        uv_dr = torch.stack([uv[..., 0], 1.0 - uv[..., 1]], -1).contiguous()
        return _dr().texture(tex.float().contiguous(), uv_dr, filter_mode=filter_mode, boundary_mode=boundary_mode)

    def antialias(self, color: torch.Tensor) -> torch.Tensor:
        """Analytic antialiasing of silhouette edges of `color: [B, H, W, C]` (row 0 top, first layer).

        Gives gradients with respect to vertex positions at silhouettes.
        """
        dr = _dr()
        if self._topology_hash is None:
            self._topology_hash = dr.antialias_construct_topology_hash(self.tri)
        out = dr.antialias(color.flip(1).contiguous(), self.layers[0], self.pos, self.tri,
                           topology_hash=self._topology_hash)
        return out.flip(1)


class NvdiffrastBackend:
    """`Task.RASTERIZE_MESHES` and `Task.RENDER_MESHES` on CUDA with one `RasterizeCudaContext` per device, reused.

    The render task shades nvdiffrast's fragments with the reference stages
    (`render3d.backends.raster_render`).
    """

    def __init__(self) -> None:
        self._contexts: dict[torch.device, Any] = {}

    def context(self, device: torch.device) -> Any:
        """The (cached) `RasterizeCudaContext` of `device`."""
        if device.type != "cuda":
            raise BackendUnavailable(f"nvdiffrast runs on CUDA tensors only, got device {device}")
        device = torch.device("cuda", device.index if device.index is not None else torch.cuda.current_device())
        if device not in self._contexts:
            self._contexts[device] = _dr().RasterizeCudaContext(device=device)
        return self._contexts[device]

    def rasterize(self, meshes: Meshes, cameras: Cameras, faces_per_pixel: int = 1, cull_backfaces: bool = False,
                  znear: float = 1e-3, zfar: float | None = None) -> NvdiffrastFrame:
        """Rasterize B meshes (range mode: each mesh with its own camera) → `NvdiffrastFrame`.

        Args:
            meshes: B meshes on a CUDA device.
            cameras: B cameras.
            faces_per_pixel: K depth layers (depth peeling).
            cull_backfaces: drop faces whose normal (counter-clockwise winding) points away from the camera.
            znear: near clip plane (camera z).
            zfar: far clip plane; default just beyond the farthest vertex.

        Raises:
            ShapeError: batch sizes differ or bad settings.
            BackendUnavailable: inputs are not on CUDA.
        """
        if len(meshes) != len(cameras):
            raise ShapeError(f"{len(meshes)} meshes but {len(cameras)} cameras; use .extend() to match them")
        if faces_per_pixel < 1:
            raise ShapeError(f"faces_per_pixel must be >= 1, got {faces_per_pixel}")
        dr, ctx = _dr(), self.context(meshes.device)
        pos, cam_z = clip_positions(meshes, cameras, znear, zfar)
        faces, counts, face_map = meshes.faces_packed(), meshes.num_faces_per_mesh, None
        if cull_backfaces:
            face_map = front_facing(meshes, cameras).nonzero()[:, 0]
            faces = faces[face_map]
            counts = torch.bincount(meshes.face_to_mesh_idx[face_map], minlength=len(meshes))
        starts = torch.cumsum(counts, 0) - counts
        ranges = torch.stack([starts, counts], 1).to(device="cpu", dtype=torch.int32)
        tri = faces.to(torch.int32).contiguous()
        res = (cameras.height, cameras.width)
        if faces_per_pixel == 1:
            layers = [dr.rasterize(ctx, pos, tri, res, ranges=ranges)[0]]
        else:
            with dr.DepthPeeler(ctx, pos, tri, res, ranges=ranges) as peeler:
                layers = [peeler.rasterize_next_layer()[0] for _ in range(faces_per_pixel)]
        return NvdiffrastFrame(layers, pos, tri, ranges, faces, cam_z, face_map, cameras.orthographic)

    def rasterize_meshes(self, meshes: Meshes, cameras: Cameras, settings: RasterSettings) -> Fragments:
        """Hard rasterization into our `Fragments` (`dists` None).

        Raises:
            BackendUnavailable: `settings.blur_radius > 0` (no soft rasterization here).
        """
        if settings.blur_radius > 0:
            raise BackendUnavailable("nvdiffrast has no soft rasterization: use blur_radius=0 or backend 'torch'")
        frame = self.rasterize(meshes, cameras, settings.faces_per_pixel, settings.cull_backfaces, settings.znear)
        return frame.fragments(settings.perspective_correct)

    def render_meshes(self, meshes: Meshes, cameras: Cameras, lights: Light | None = None,
                      materials: Materials | None = None, settings: RenderSettings | None = None) -> RenderOutput:
        """nvdiffrast fragments, reference shading (see `render_meshes_by_rasterizing`)."""
        return render_meshes_by_rasterizing(self.rasterize_meshes, meshes, cameras, lights, materials, settings)


INFO = BackendInfo(
    name="nvdiffrast",
    capabilities=Capabilities(
        tasks=frozenset({Task.RASTERIZE_MESHES, Task.RENDER_MESHES}), differentiable=True, devices=frozenset({"cuda"}),
        fragment_fields=frozenset({"pix_to_face", "bary", "zbuf"}), outputs=OUTPUT_FIELDS, shadings=SHADING_MODELS,
        max_faces_per_pixel=16, soft=False,
    ),
    description="NVIDIA nvdiffrast CUDA rasterizer (+ interpolate, texture, antialias)",
    install=pip_install_hint("nvdiffrast") + "  (needs a CUDA GPU and nvcc; the plugin compiles on first use)",
    probe=_probe,
    factory=NvdiffrastBackend,
)
