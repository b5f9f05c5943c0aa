"""Mesh files ⇄ `Meshes` through trimesh: OBJ (+MTL/texture), PLY, GLB/GLTF, STL, OFF."""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from render3d.errors import InvalidMeshError, MeshIOError
from render3d.io.interrupts import deferred_interrupt, import_trimesh
from render3d.structures import Meshes

MESH_SUFFIXES = (".obj", ".ply", ".glb", ".gltf", ".stl", ".off")
#: The PBR material GLB/GLTF meshes are written with: a matte dielectric whose base color is the texture or
#: the vertex colors unchanged (renders here are Lambert/Phong of those colors, not metal).
GLTF_MATERIAL = dict(baseColorFactor=[255, 255, 255, 255], metallicFactor=0.0, roughnessFactor=1.0)


def load_mesh(path: str | os.PathLike, device: str | torch.device = "cpu") -> Meshes:
    """Read one triangle mesh file into a batch of one mesh.

    Vertex colors (PLY/OFF/GLB) become `vert_colors` `[V, 3]` in [0, 1]; an OBJ/GLB UV texture becomes
    `verts_uvs`/`faces_uvs`/`textures`. Scenes with several geometries are concatenated in world space.

    Args:
        path: a file with one of the suffixes in `MESH_SUFFIXES`.
        device: where the tensors go.

    Returns:
        `Meshes` with one mesh.

    Raises:
        MeshIOError: missing or unreadable file, unknown suffix, no triangles in it, OBJ face indices
            that are 0 or out of range.
        InvalidMeshError: empty mesh or NaN/inf vertices.

    Example:
        >>> m = load_mesh("scenes/examples/assets/knot.ply")  # doctest: +SKIP
    """
    trimesh = import_trimesh()

    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise MeshIOError(f"{path}: unsupported mesh format {path.suffix!r} (use one of {', '.join(MESH_SUFFIXES)})")
    if not path.is_file():
        raise MeshIOError(f"{path}: no such file")
    if path.suffix.lower() == ".obj":
        check_obj_indices(path)
    try:
        with deferred_interrupt():
            scene = trimesh.load(path, force="scene", process=False)
            _colors_as_vertex_visuals(scene)
            loaded = scene.to_mesh()  # what force="mesh" does: every geometry in world space, concatenated
    except Exception as e:  # trimesh raises many unrelated types on malformed files
        raise MeshIOError(f"{path}: cannot read mesh ({type(e).__name__}: {e})") from e
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0 or len(loaded.vertices) == 0:
        raise InvalidMeshError(f"{path}: file holds no triangles")
    verts = torch.as_tensor(np.asarray(loaded.vertices, dtype=np.float32), device=device)
    faces = torch.as_tensor(np.asarray(loaded.faces, dtype=np.int64), device=device)
    if not torch.isfinite(verts).all():
        raise InvalidMeshError(f"{path}: vertex coordinates contain NaN or inf")
    kwargs: dict = {}
    visual = loaded.visual
    if visual.kind == "texture" and getattr(visual, "uv", None) is not None and _texture_image(visual) is not None:
        uv = torch.as_tensor(np.asarray(visual.uv, dtype=np.float32), device=device)
        tex = torch.as_tensor(_texture_image(visual), device=device)
        # trimesh stores one UV per vertex, so the UV faces are the position faces.
        kwargs = dict(verts_uvs=[uv], faces_uvs=[faces], textures=[tex])
    elif visual.kind == "vertex":
        colors = np.asarray(visual.vertex_colors, dtype=np.float32)[:, :3] / 255.0
        kwargs = dict(vert_colors=[torch.as_tensor(colors, device=device)])
    elif visual.kind == "face":
        # Per-face colors: split vertices so each face owns its corners (flat colors stay flat).
        colors = np.asarray(visual.face_colors, dtype=np.float32)[:, :3] / 255.0
        verts = verts[faces.reshape(-1)]
        faces = torch.arange(verts.shape[0], device=device).reshape(-1, 3)
        kwargs = dict(vert_colors=[torch.as_tensor(np.repeat(colors, 3, axis=0), device=device)])
    return Meshes([verts], [faces], **kwargs)


_OBJ_FACES = re.compile(rb"(?m)^f[ \t]+([^\r\n#]*)")
# Per face corner `v`, `v/vt`, `v//vn` or `v/vt/vn`: the vertex, UV and normal index of each corner.
_OBJ_SLOTS = [re.compile(rb"(?:^|\s)(-?\d+)(?=[/\s]|$)"), re.compile(rb"(?:^|\s)-?\d+/(-?\d+)"),
              re.compile(rb"(?:^|\s)-?\d+/-?\d*/(-?\d+)")]


def _count_lines(text: bytes, tag: bytes) -> int:
    return sum(text.count(b"\n" + tag + sep) + text.startswith(tag + sep) for sep in (b" ", b"\t"))


def _slot_indices(blob: bytes, slot: int) -> np.ndarray | None:
    """The indices of one slot of every corner; None when a corner is not an integer."""
    if slot == 0 and b"/" not in blob:  # plain `f a b c` files: numpy parses them in one call
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", DeprecationWarning)  # older numpy warns on a bad token
                return np.fromstring(blob, dtype=np.int64, sep=" ")
        except (ValueError, DeprecationWarning):
            return None
    found = _OBJ_SLOTS[slot].findall(blob)
    if slot == 0 and len(found) != len(blob.split()):
        return None
    return np.array(found, dtype=np.int64) if found else np.zeros(0, np.int64)


def check_obj_indices(path: Path) -> None:
    """Refuse an OBJ whose faces use index 0 or point past the vertices, UVs or normals it defines.

    OBJ counts from 1 (negative indices count back from the end); trimesh reads a 0 as the last vertex
    and renders a silently wrong mesh, so the file is checked before it gets there (vectorized: a
    300k-face file costs a fraction of trimesh's own parse).

    Raises:
        MeshIOError: naming the first bad face line.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "t.obj"
        >>> _ = p.write_text("v 0 0 0\\nv 1 0 0\\nv 0 1 0\\nf 0 1 2\\n")
        >>> check_obj_indices(p)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        render3d.errors.MeshIOError: ...t.obj: face 'f 0 1 2' uses index 0 (OBJ indices start at 1)
    """
    text = path.read_bytes()
    blob = b" \n".join(_OBJ_FACES.findall(text))
    if not blob.strip():
        return
    for slot, tag in enumerate((b"v", b"vt", b"vn")):
        if slot and b"/" not in blob:
            break
        count, index = _count_lines(text, tag), _slot_indices(blob, slot)
        if index is None or (index == 0).any() or (np.abs(index) > count).any():
            _raise_bad_face(path, blob, slot, count)


def _raise_bad_face(path: Path, blob: bytes, slot: int, count: int) -> None:
    for line in blob.splitlines():
        shown = f"face 'f {line.decode(errors='replace').strip()}'"
        for token in line.split():
            parts = token.split(b"/")
            part = parts[slot] if slot < len(parts) else b""
            if not part:
                if slot == 0:
                    raise MeshIOError(f"{path}: {shown} has a corner without a vertex index")
                continue
            if not re.fullmatch(rb"-?\d+", part):
                raise MeshIOError(f"{path}: {shown} has a non-integer index {part.decode(errors='replace')!r}")
            if int(part) == 0:
                raise MeshIOError(f"{path}: {shown} uses index 0 (OBJ indices start at 1)")
            if abs(int(part)) > count:
                what = ("vertices", "texture coordinates", "normals")[slot]
                raise MeshIOError(f"{path}: {shown} uses index {int(part)} but the file defines {count} {what}")


def _colors_as_vertex_visuals(scene) -> None:
    """A glTF primitive with a material but no texture keeps its COLOR_0 as a vertex attribute of a
    TextureVisuals, which concatenating the scene drops: make such colors the geometry's vertex colors."""
    import trimesh

    for geom in scene.geometry.values():
        visual = getattr(geom, "visual", None)
        if (isinstance(visual, trimesh.visual.TextureVisuals) and visual.uv is None
                and "color" in visual.vertex_attributes):
            geom.visual = trimesh.visual.ColorVisuals(geom, vertex_colors=visual.vertex_attributes["color"])


def _texture_image(visual) -> np.ndarray | None:
    """`[H, W, 3]` float32 texture in [0, 1] from a trimesh TextureVisuals, or None."""
    material = visual.material
    image = getattr(material, "image", None) or getattr(material, "baseColorTexture", None)
    if image is None:
        return None
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def save_mesh(path: str | os.PathLike, meshes: Meshes, index: int = 0) -> None:
    """Write mesh `index` of the batch; the format follows the suffix. Atomic: a failed write leaves no file.

    OBJ with a texture writes `name.obj`, `name.mtl` and `name.png` side by side; GLB embeds the texture;
    PLY/OFF/GLB keep vertex colors. GLB/GLTF get a dielectric PBR material (`GLTF_MATERIAL`): glTF's
    default material is fully metallic, which viewers without an environment map show near-black.

    Raises:
        MeshIOError: unknown suffix or the write failed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise MeshIOError(f"{path}: unsupported mesh format {suffix!r} (use one of {', '.join(MESH_SUFFIXES)})")
    mesh = _to_trimesh(meshes[index], gltf=suffix in (".glb", ".gltf"))
    _atomic_export(path, lambda tmp: _export(mesh, tmp, path))


def glb_bytes(meshes: Meshes, index: int = 0) -> bytes:
    """Mesh `index` of the batch as the bytes `save_mesh` writes to a `.glb` file (for viewers and servers).

    Example:
        >>> tri = Meshes([torch.eye(3)], [torch.tensor([[0, 1, 2]])])
        >>> glb_bytes(tri)[:4]
        b'glTF'
    """
    return _to_trimesh(meshes[index], gltf=True).export(file_type="glb")


def _to_trimesh(m: Meshes, gltf: bool):
    """One mesh as a trimesh.Trimesh with its texture or vertex colors; `gltf` gives it `GLTF_MATERIAL`."""
    trimesh = import_trimesh()
    from PIL import Image

    verts = m.verts_packed().detach().cpu().numpy()
    faces = m.faces_packed().cpu().numpy()
    colors = None
    if m.has_vert_colors:
        colors = (m.vert_colors_packed().detach().cpu().clamp(0, 1).numpy()[:, :3] * 255).round().astype(np.uint8)
    if m.has_texture:
        # trimesh wants one UV per vertex: split vertices where UV seams need it.
        uv = m.verts_uvs_list()[0].detach().cpu().numpy()
        fuv = m.faces_uvs_list()[0].cpu().numpy()
        corners = np.stack([faces.reshape(-1), fuv.reshape(-1)], 1)
        uniq, inverse = np.unique(corners, axis=0, return_inverse=True)
        tex = (m.textures_list()[0].detach().cpu().clamp(0, 1).numpy()[..., :3] * 255).round().astype(np.uint8)
        image = Image.fromarray(tex)
        material = (trimesh.visual.material.PBRMaterial(baseColorTexture=image, **GLTF_MATERIAL) if gltf
                    else trimesh.visual.material.SimpleMaterial(image=image))
        visual = trimesh.visual.TextureVisuals(uv=uv[uniq[:, 1]], material=material)
        return trimesh.Trimesh(verts[uniq[:, 0]], inverse.reshape(-1, 3), visual=visual, process=False)
    if gltf:
        # A material beside COLOR_0: glTF multiplies the vertex colors by the white base color.
        visual = trimesh.visual.TextureVisuals(material=trimesh.visual.material.PBRMaterial(**GLTF_MATERIAL))
        mesh = trimesh.Trimesh(verts, faces, visual=visual, process=False)
        if colors is not None:
            mesh.visual.vertex_attributes["color"] = np.pad(colors, ((0, 0), (0, 1)), constant_values=255)  # RGBA
        return mesh
    mesh = trimesh.Trimesh(verts, faces, process=False)
    if colors is not None:
        mesh.visual.vertex_colors = colors
    return mesh


def _export(mesh, tmp_dir: Path, final: Path) -> None:
    if final.suffix.lower() == ".obj":
        # OBJ writes sidecar files (.mtl, texture): export into a temp dir and move each into place.
        from trimesh.exchange.obj import export_obj

        obj_text, extra = export_obj(mesh, include_texture=True, return_texture=True, mtl_name=final.stem + ".mtl")
        (tmp_dir / final.name).write_text(obj_text)
        for name, data in extra.items():
            (tmp_dir / name).write_bytes(data)
    else:
        mesh.export(tmp_dir / final.name)


def _atomic_export(path: Path, write) -> None:
    """Run `write(tmp_dir)`, which must create `tmp_dir/path.name` (+ sidecars), then move all into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".tmp-") as tmp:
        try:
            write(Path(tmp))
        except Exception as e:
            raise MeshIOError(f"{path}: write failed ({type(e).__name__}: {e})") from e
        for f in sorted(Path(tmp).iterdir(), key=lambda p: p.name == path.name):
            os.replace(f, path.parent / f.name)  # the main file last, so it never points at missing sidecars
