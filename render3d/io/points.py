"""Point-cloud files ⇄ `Pointclouds`: PLY (trimesh), PCD (ascii/binary, own reader), XYZ, NPY."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from render3d.errors import InvalidMeshError, MeshIOError
from render3d.io.interrupts import deferred_interrupt, import_trimesh
from render3d.io.meshes import _atomic_export
from render3d.points.neighbours import Neighbours, nearest_neighbours
from render3d.points.normals import pca_normals
from render3d.points.spacing import knn_spacing
from render3d.structures import Pointclouds

POINT_SUFFIXES = (".ply", ".pcd", ".xyz", ".npy")
# Default splat radius over the measured point spacing: disks overlap their neighbours' with room to spare
# for the gaps of a random sampling (a unit sphere of 10k random points renders hole-free).
RADIUS_SCALE = 1.5
# Radius of points without neighbours to measure (a single point, or copies of one); Pointclouds' default.
FALLBACK_RADIUS = 0.01


def load_pointcloud(path: str | os.PathLike, radius: float | None = None,
                    device: str | torch.device = "cpu", estimate_normals: bool = False) -> Pointclouds:
    """Read a point cloud into a batch of one cloud.

    Colors (PLY red/green/blue, PCD rgb, XYZ/NPY columns 4-6) become features `[N, 3]` in [0, 1];
    normals (PLY/PCD nx, ny, nz; XYZ/NPY columns 7-9) become normals. A `[N, 3|6|9]` array is expected in
    XYZ and NPY files.

    The splat radius defaults, per point, to `RADIUS_SCALE` (1.5) times the cloud's own spacing there
    (`knn_spacing`: mean distance to the 4 nearest distinct neighbours, median-smoothed), so neighbouring
    disks overlap even across the gaps of a random sampling. A cloud of one point (or of copies of one
    point) has no spacing and gets `FALLBACK_RADIUS`; renderers keep it visible with a screen-space
    minimum radius (`PointsRasterSettings.min_radius_px`).

    Args:
        path: a .ply, .pcd, .xyz or .npy file.
        radius: one world radius for every point instead of the measured spacing.
        device: where the tensors go.
        estimate_normals: when the file has no normals, estimate them from the points' neighbourhoods
            (`render3d.points.normals.pca_normals`, oriented away from the centroid), so splats can lie
            in the surface (`PointsRasterSettings.oriented`) and uncolored clouds can be shaded.

    Raises:
        MeshIOError: missing/unreadable file or unknown suffix.
        InvalidMeshError: no points, NaN/inf coordinates.

    Example:
        >>> pc = load_pointcloud("cloud.ply")  # doctest: +SKIP
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in POINT_SUFFIXES:
        raise MeshIOError(f"{path}: unsupported point-cloud format {suffix!r} (use one of {', '.join(POINT_SUFFIXES)})")
    if not path.is_file():
        raise MeshIOError(f"{path}: no such file")
    try:
        pts, colors, normals = {".ply": _read_ply, ".pcd": _read_pcd, ".xyz": _read_columns,
                                ".npy": _read_columns}[suffix](path)
    except (MeshIOError, InvalidMeshError):
        raise
    except Exception as e:
        raise MeshIOError(f"{path}: cannot read point cloud ({type(e).__name__}: {e})") from e
    if pts.shape[0] == 0:
        raise InvalidMeshError(f"{path}: file holds no points")
    if not np.isfinite(pts).all():
        raise InvalidMeshError(f"{path}: point coordinates contain NaN or inf")
    points = torch.as_tensor(pts, dtype=torch.float32)
    wants_normals = normals is None and estimate_normals
    # the radius and the normals look at the same few neighbours: one k-d tree and query serve both
    shared = nearest_neighbours(points) if radius is None and wants_normals else None
    radii = default_radius(points, shared) if radius is None else radius
    if wants_normals:
        estimated = pca_normals(points, neighbours=shared)
        normals = None if estimated is None else estimated.numpy()

    def t(a):
        return None if a is None else [torch.as_tensor(a, dtype=torch.float32, device=device)]

    return Pointclouds(t(pts), features=t(colors), normals=t(normals),
                       radius=[radii.to(device)] if isinstance(radii, torch.Tensor) else radii)


def default_radius(points: torch.Tensor, neighbours: Neighbours | None = None) -> torch.Tensor:
    """`[N]` splat radii: `RADIUS_SCALE · knn_spacing(points)`, `FALLBACK_RADIUS` where there is no spacing.

    `neighbours` (`render3d.points.neighbours.nearest_neighbours(points)`) saves the spacing its own k-d tree.

    Example:
        >>> default_radius(torch.tensor([[0.0, 0, 0], [1, 0, 0]])).tolist()
        [1.5, 1.5]
        >>> [round(r, 6) for r in default_radius(torch.zeros(3, 3)).tolist()]
        [0.01, 0.01, 0.01]
    """
    radius = RADIUS_SCALE * knn_spacing(points, neighbours=neighbours)
    return torch.where(radius > 0, radius, torch.full_like(radius, FALLBACK_RADIUS))


def _read_ply(path: Path):
    trimesh = import_trimesh()

    with deferred_interrupt():  # trimesh's loaders would swallow a Ctrl-C
        cloud = trimesh.load(path, process=False)
    if isinstance(cloud, trimesh.Trimesh):  # a PLY with faces: use its vertices
        pts, colors = np.asarray(cloud.vertices), cloud.visual.vertex_colors if cloud.visual.kind == "vertex" else None
    elif isinstance(cloud, trimesh.PointCloud):
        pts, colors = np.asarray(cloud.vertices), cloud.colors if len(cloud.colors) else None
    else:
        raise MeshIOError(f"{path}: PLY holds neither points nor a mesh")
    raw = cloud.metadata.get("_ply_raw", {}).get("vertex", {}).get("data")
    normals = None
    # trimesh keeps binary PLY vertex data as a structured array and ASCII PLY data as a dict of columns
    fields = () if raw is None else (raw.keys() if isinstance(raw, dict) else raw.dtype.names)
    if all(k in fields for k in ("nx", "ny", "nz")):
        normals = np.stack([np.asarray(raw[k]).reshape(-1) for k in ("nx", "ny", "nz")], 1).astype(np.float32)
    colors = None if colors is None else np.asarray(colors, dtype=np.float32)[:, :3] / 255.0
    return np.asarray(pts, dtype=np.float32), colors, normals


def _read_columns(path: Path):
    arr = np.load(path, allow_pickle=False) if path.suffix.lower() == ".npy" else np.loadtxt(path, ndmin=2)
    if arr.ndim != 2 or arr.shape[1] not in (3, 6, 9):
        raise MeshIOError(f"{path}: expected an [N, 3|6|9] array (xyz, rgb, normals), got shape {list(arr.shape)}")
    arr = arr.astype(np.float32)
    colors = arr[:, 3:6] if arr.shape[1] >= 6 else None
    if colors is not None and colors.max() > 1.0:
        colors = colors / 255.0
    return arr[:, :3], colors, arr[:, 6:9] if arr.shape[1] == 9 else None


_PCD_TYPES = {("F", 4): "<f4", ("F", 8): "<f8", ("U", 1): "u1", ("U", 2): "<u2", ("U", 4): "<u4",
              ("I", 1): "i1", ("I", 2): "<i2", ("I", 4): "<i4"}


def _read_pcd(path: Path):
    raw = path.read_bytes()
    header: dict[str, list[str]] = {}
    offset = 0
    while True:
        end = raw.index(b"\n", offset)
        line = raw[offset:end].decode("ascii", "replace").strip()
        offset = end + 1
        if not line or line.startswith("#"):
            continue
        key, *vals = line.split()
        header[key.upper()] = vals
        if key.upper() == "DATA":
            break
    fields, sizes, types = header["FIELDS"], [int(s) for s in header["SIZE"]], header["TYPE"]
    counts = [int(c) for c in header.get("COUNT", ["1"] * len(fields))]
    n = int(header["POINTS"][0])
    mode = header["DATA"][0].lower()
    starts = np.cumsum([0, *counts])[:-1]
    if mode == "ascii":
        table = np.loadtxt(raw[offset:].decode("ascii").splitlines(), ndmin=2)
        data = {f: table[:, s0] for f, s0 in zip(fields, starts, strict=True)}
        if "rgb" in data or "rgba" in data:  # ascii PCD stores packed rgb as a float or an integer
            key = "rgb" if "rgb" in data else "rgba"
            as_float = types[fields.index(key)] == "F"
            data[key] = data[key].astype(np.float32 if as_float else np.uint32)
    elif mode == "binary":
        dtype = np.dtype([(f, _PCD_TYPES[(t, s)], (c,) if c > 1 else ())
                          for f, t, s, c in zip(fields, types, sizes, counts, strict=True)])
        data = np.frombuffer(raw, dtype=dtype, count=n, offset=offset)
    else:
        raise MeshIOError(f"{path}: PCD DATA {mode!r} is not supported; save it as ascii or binary")
    pts = np.stack([data["x"], data["y"], data["z"]], 1).astype(np.float32)
    colors = None
    if "rgb" in fields or "rgba" in fields:
        key = "rgb" if "rgb" in fields else "rgba"
        packed = np.ascontiguousarray(data[key])
        u = packed.astype(np.float32).view(np.uint32) if packed.dtype.kind == "f" else packed.astype(np.uint32)
        colors = np.stack([(u >> 16) & 255, (u >> 8) & 255, u & 255], 1).astype(np.float32) / 255.0
    normals = None
    if all(k in fields for k in ("normal_x", "normal_y", "normal_z")):
        normals = np.stack([data["normal_x"], data["normal_y"], data["normal_z"]], 1).astype(np.float32)
    return pts, colors, normals


def save_pointcloud(path: str | os.PathLike, clouds: Pointclouds, index: int = 0) -> None:
    """Write cloud `index` as PLY (binary, with colors and normals when present), XYZ text or NPY `[N, 3|6|9]`.

    Raises:
        MeshIOError: unsupported suffix (PCD writing is not offered) or the write failed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".ply", ".xyz", ".npy"):
        raise MeshIOError(f"{path}: can write point clouds as .ply, .xyz or .npy, not {suffix!r}")
    pts = clouds.points_list()[index].detach().cpu().numpy()
    feats = clouds.features_list()
    norms = clouds.normals_list()
    colors = None if feats is None else feats[index].detach().cpu().clamp(0, 1).numpy()[:, :3]
    normals = None if norms is None else norms[index].detach().cpu().numpy()

    def write(tmp: Path) -> None:
        target = tmp / path.name
        if suffix == ".ply":
            _write_ply(target, pts, colors, normals)
            return
        cols = [pts] + ([colors] if colors is not None else []) + \
            ([normals] if normals is not None and colors is not None else [])
        table = np.concatenate(cols, 1)
        if suffix == ".npy":
            with open(target, "wb") as f:
                np.save(f, table)
        else:
            np.savetxt(target, table, fmt="%.7g")

    _atomic_export(path, write)


def _write_ply(target: Path, pts: np.ndarray, colors: np.ndarray | None, normals: np.ndarray | None) -> None:
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if normals is not None:
        fields += [("nx", "<f4"), ("ny", "<f4"), ("nz", "<f4")]
    if colors is not None:
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    data = np.zeros(pts.shape[0], dtype=fields)
    data["x"], data["y"], data["z"] = pts.T
    if normals is not None:
        data["nx"], data["ny"], data["nz"] = normals.T
    if colors is not None:
        rgb = (colors * 255).round().astype(np.uint8)
        data["red"], data["green"], data["blue"] = rgb.T
    ply_types = {"<f4": "float", "u1": "uchar"}
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {pts.shape[0]}"]
    header += [f"property {ply_types[t]} {n}" for n, t in fields] + ["end_header"]
    with open(target, "wb") as f:
        f.write(("\n".join(header) + "\n").encode("ascii"))
        f.write(data.tobytes())
