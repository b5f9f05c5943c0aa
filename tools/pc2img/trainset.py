"""Training and test data for pc2img, made by the data engine: GT renders + the clouds sampled from GT meshes.

One sample is a data-engine scene (`scenes.samples.make_sample`: a head, a shape, or 2–4 shapes on a
floor) built and rendered at V views, plus a dense surface sampling of every object in it (the floor
included, which the renders show too). Each point carries its position, smooth normal, and its color:
the texture or vertex color at that spot lit by the scene's lights with the view-independent Lambert
terms (ambient + diffuse), as a photogrammetric cloud would carry. Per view the sample stores which
points the ground-truth depth map says are visible, so the learned visibility stage has a target.

The full cloud (100% density) is sized from the cameras: `POINTS_PER_PIXEL` points per square pixel
of surface at the orbit distance. Lower densities are random subsets drawn at training time.

Stored as one `.npz` per sample (written atomically, so an interrupted run resumes):

    points [N, 3] f32, colors [N, 3] f16, normals [N, 3] f16,
    K [V, 3, 3], R [V, 3, 3], t [V, 3] f32, rgb [V, H, W, 3] u8, alpha [V, H, W] u8,
    depth [V, H, W] f16 (0 = background), visible [V, ceil(N/8)] u8 (packed bits), background [3] f32,
    kind (str), seed (int)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from render3d.cameras import Cameras
from render3d.errors import Render3DError
from render3d.geometry.surface import sample_surface
from render3d.io import atomic_write
from render3d.shading.functional import lambert
from render3d.structures import Meshes
from render3d.texture import sample_texture
from scenes.build import BuiltScene, build_scene
from scenes.datagen import sample_seed
from scenes.render import render_built
from scenes.samples import make_sample

POINTS_PER_PIXEL = 2.0
MAX_POINTS = 150_000
# the ground-truth depth test: a point is visible when no surface lies in front of it by more than
# this fraction of its depth plus this many pixel footprints (slanted surfaces change depth within a pixel)
VIS_REL_TOL, VIS_PIXEL_TOL = 0.01, 2.0


@dataclass(frozen=True)
class Sample:
    """One loaded sample (numpy arrays as stored; see the module docstring)."""

    points: np.ndarray
    colors: np.ndarray
    normals: np.ndarray
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    rgb: np.ndarray
    alpha: np.ndarray
    depth: np.ndarray
    visible: np.ndarray
    background: np.ndarray
    kind: str
    seed: int

    @property
    def num_views(self) -> int:
        return self.K.shape[0]

    def cameras(self, views: list[int] | None = None) -> Cameras:
        """The render3d cameras of `views` (all by default)."""
        v = list(range(self.num_views)) if views is None else views
        H, W = self.rgb.shape[1:3]
        return Cameras(torch.from_numpy(self.K[v]).float(), torch.from_numpy(self.R[v]).float(),
                       torch.from_numpy(self.t[v]).float(), W, H)

    def visible_mask(self, view: int) -> np.ndarray:
        """`[N]` bool: the points the ground truth sees in `view`."""
        return np.unpackbits(self.visible[view], count=self.points.shape[0]).astype(bool)


def load_sample(path: str | os.PathLike) -> Sample:
    """Read one stored sample."""
    with np.load(path, allow_pickle=False) as z:
        return Sample(**{k: z[k] for k in ("points", "colors", "normals", "K", "R", "t", "rgb", "alpha", "depth",
                                           "visible", "background")},
                      kind=str(z["kind"]), seed=int(z["seed"]))


def _barycentric(p: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
    """`p: [n, 3]` on triangles `tri: [n, 3, 3]` → `[n, 3]` barycentric weights."""
    a, b, c = tri.unbind(1)
    v0, v1, v2 = b - a, c - a, p - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    den = (d00 * d11 - d01 * d01).clamp(min=1e-20)
    w1, w2 = (d11 * d20 - d01 * d21) / den, (d00 * d21 - d01 * d20) / den
    return torch.stack([1 - w1 - w2, w1, w2], 1)


def _albedo(mesh: Meshes, faces: torch.Tensor, bary: torch.Tensor, base_color: torch.Tensor) -> torch.Tensor:
    """Surface color at sampled spots, as the renderer's `fragment_albedo` picks it."""
    if mesh.has_texture:
        uv = (mesh.verts_uvs_list()[0][mesh.faces_uvs_list()[0][faces]] * bary[..., None]).sum(1)
        return sample_texture(uv, mesh.textures_list()[0])[:, :3]
    if mesh.has_vert_colors:
        return (mesh.vert_colors_list()[0][mesh.faces_list()[0][faces]][..., :3] * bary[..., None]).sum(1)
    return base_color[:3].expand(faces.shape[0], 3)


def sample_points(built: BuiltScene, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`count` area-uniform points over every mesh of a built scene, lit with the scene's lights.

    Returns:
        `points [count, 3]`, `colors [count, 3]` in [0, 1], `normals [count, 3]` (smooth, unit).
    """
    meshes = [o for o in built.objects if isinstance(o.geometry, Meshes)]
    areas = []
    for o in meshes:
        fv = o.geometry.faces_verts_packed()
        areas.append(float(torch.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=1).norm(dim=1).sum() / 2))
    total = sum(areas)
    counts = [round(count * a / total) for a in areas]
    counts[int(np.argmax(areas))] += count - sum(counts)
    pts, cols, nrms = [], [], []
    for i, (o, n) in enumerate(zip(meshes, counts, strict=True)):
        if n <= 0:
            continue
        m = o.geometry
        verts, faces = m.verts_list()[0], m.faces_list()[0]
        p, f, _ = sample_surface(verts, faces, n, seed=seed * 31 + i)
        bary = _barycentric(p, verts[faces[f]])
        normal = torch.nn.functional.normalize(
            (m.verts_normals_packed()[faces[f]] * bary[..., None]).sum(1), dim=1, eps=1e-12)
        albedo = _albedo(m, f, bary, o.materials.tensors()["base_color"].reshape(-1))
        lit = lambert(albedo[None], p[None], normal[None], built.lights, o.materials)[0]
        pts.append(p)
        cols.append(lit.clamp(0, 1))
        nrms.append(normal)
    return torch.cat(pts), torch.cat(cols), torch.cat(nrms)


def visible_points(points: torch.Tensor, cameras: Cameras, depth: torch.Tensor) -> torch.Tensor:
    """`[V, N]` bool: points inside each view whose depth passes the ground-truth depth test.

    Args:
        points: `[N, 3]` world positions.
        cameras: V cameras.
        depth: `[V, H, W]` ground-truth camera z, 0 on the background (nothing in front).
    """
    V, H, W = depth.shape
    uvz = cameras.project(points[None].expand(V, -1, -1))
    u, v, z = uvz.unbind(-1)
    inside = (u >= 0) & (u < W) & (v >= 0) & (v < H) & (z > 0)
    col, row = u.clamp(0, W - 1).long(), v.clamp(0, H - 1).long()
    d = depth.reshape(V, -1).gather(1, row * W + col)
    footprint = z / cameras.K[:, 0, 0, None].abs()
    ok = (d <= 0) | (z <= d * (1 + VIS_REL_TOL) + VIS_PIXEL_TOL * footprint)
    return inside & ok


def full_count(cameras: Cameras, built: BuiltScene) -> int:
    """Points of the 100% cloud: `POINTS_PER_PIXEL` per square pixel of surface at the mean camera distance."""
    area = 0.0
    for o in built.objects:
        if isinstance(o.geometry, Meshes):
            fv = o.geometry.faces_verts_packed()
            area += float(torch.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=1).norm(dim=1).sum() / 2)
    distance = float(cameras.centers().norm(dim=1).mean())
    footprint = distance / float(cameras.K[:, 0, 0].abs().mean())
    return int(min(MAX_POINTS, max(1000, round(POINTS_PER_PIXEL * area / footprint**2))))


def make_training_sample(kind: str, seed: int, views: int, size: int) -> dict[str, np.ndarray]:
    """Render one data-engine sample and sample its cloud; the arrays `write_sample` stores.

    Raises:
        Render3DError: the data engine cannot build this seed.
    """
    spec = make_sample(kind, seed, views, size).spec
    built = build_scene(spec)
    result = render_built(built, spec)
    cams = result.cameras
    points, colors, normals = sample_points(built, full_count(cams, built), seed)
    vis = visible_points(points, cams, result.depth)
    return {
        "points": points.numpy().astype(np.float32), "colors": colors.numpy().astype(np.float16),
        "normals": normals.numpy().astype(np.float16), "K": cams.K.numpy(), "R": cams.R.numpy(),
        "t": cams.t.numpy(), "rgb": (result.rgb.clamp(0, 1) * 255).round().byte().numpy(),
        "alpha": (result.alpha.clamp(0, 1) * 255).round().byte().numpy(),
        "depth": result.depth.numpy().astype(np.float16), "visible": np.packbits(vis.numpy(), axis=1),
        "background": np.asarray(spec.render.background, dtype=np.float32), "kind": np.asarray(kind),
        "seed": np.asarray(seed),
    }


def write_split(out: str | os.PathLike, kind: str, count: int, views: int, size: int, seed: int,
                progress: bool = True) -> list[Path]:
    """Generate (or resume) `count` samples of one kind into `out/<kind>_<i>.npz`.

    Seeds follow the data engine (`sample_seed(seed, i)`); a seed the engine cannot build is skipped
    and the next index is tried, so the split still holds `count` samples.

    Returns:
        The sample files, in index order.
    """
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    index = 0
    bar = tqdm(total=count, unit="sample", desc=f"pc2img data {kind}", disable=not progress)
    while len(files) < count:
        path = out / f"{kind}_{index:05d}.npz"
        skip = out / f"{kind}_{index:05d}.skip"
        if not path.is_file() and not skip.is_file():
            try:
                arrays = make_training_sample(kind, sample_seed(seed, index), views, size)
            except Render3DError as e:
                # the data engine's known crash-by-seed (issue 9, item 4): remember and move on
                skip.write_text(f"{e}\n")
                index += 1
                continue
            atomic_write(path, lambda p, a=arrays: _savez(p, a))
        if path.is_file():
            files.append(path)
            bar.update(1)
        index += 1
    bar.close()
    return files


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
