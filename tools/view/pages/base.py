"""What every run page is, and the scene pieces pages share (meshes, clouds, frustums with images).

A page is opened from a run directory (all files it needs are checked then, so a broken run fails
before any server starts), then either shown in a viser server (`show`) or turned into report
blocks (`report`). A run kind pairs a cheap `matches(dir)` test with the page's `open(dir)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from tools.errors import ToolError
from tools.view.cameras import RunCamera
from tools.view.report import Block

MAX_FRUSTUM_IMAGE = 256  # frustum textures are downscaled to this side: they are thumbnails


class RunPage(Protocol):
    """One run as the viewer shows it."""

    kind: str
    path: Path

    @property
    def title(self) -> str:
        """Heading of the run in the viewer and the report."""
        ...

    def home(self) -> tuple[np.ndarray, np.ndarray] | None:
        """`(eye [3], look_at [3])` the viewport starts from, or None for viser's default."""
        ...

    def show(self, server, root: str) -> None:
        """Add the run's scene nodes under `root` and its panel widgets to the current GUI container."""
        ...

    def report(self) -> list[Block]:
        """The run's content for the static HTML report."""
        ...


@dataclass(frozen=True)
class RunKind:
    """A run kind: how to recognize its directory and how to open it.

    Attributes:
        name: kind name shown to users ("reconstruct", "datagen", …).
        signature: the files that identify it, for the "not a run" message.
        matches: cheap test on a directory (file names only).
        open: builds the page; raises ToolError for a missing or broken file.
    """

    name: str
    signature: str
    matches: Callable[[Path], bool]
    open: Callable[[Path], RunPage]


def require(run: Path, kind: str, *names: str) -> list[Path]:
    """The paths `run/name`, or a ToolError naming every one that is missing."""
    paths = [run / n for n in names]
    missing = [n for n, p in zip(names, paths, strict=True) if not p.exists()]
    if missing:
        raise ToolError(f"{run}: {kind} run is missing {', '.join(missing)}")
    return paths


def read_image(path: Path) -> np.ndarray:
    """`[H, W, 3]` uint8 RGB (gray and RGBA converted; RGBA composited over white).

    Raises:
        ToolError: missing or unreadable file, or an image over render3d's pixel limit (a decompression
            bomb is refused from its header, before decoding).
    """
    from PIL import Image

    from render3d.errors import ImageIOError
    from render3d.io.images import read_image as read_bounded

    try:
        im = read_bounded(path)
    except ImageIOError as e:
        raise ToolError(str(e)) from None
    if im.mode in ("RGBA", "LA", "PA"):
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(bg, im.convert("RGBA")).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def read_depth(path: Path) -> np.ndarray:
    """`[H, W]` float32 camera z from a `.npy` file (0 = background)."""
    try:
        d = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ToolError(f"{path}: unreadable depth ({e})") from None
    if d.ndim != 2:
        raise ToolError(f"{path}: depth must be [H, W], got {list(d.shape)}")
    return np.nan_to_num(d.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)


def thumbnail(img: np.ndarray, side: int = MAX_FRUSTUM_IMAGE) -> np.ndarray:
    """`img` downscaled so its long side is at most `side` (uint8 in, uint8 out)."""
    h, w = img.shape[:2]
    if max(h, w) <= side:
        return img
    from PIL import Image

    s = side / max(h, w)
    return np.asarray(Image.fromarray(img).resize((max(1, round(w * s)), max(1, round(h * s))), Image.BILINEAR))


def colorize_depth(depth: np.ndarray) -> np.ndarray:
    """`[H, W]` depth → `[H, W, 3]` uint8 false color, as the runs write it (near = yellow)."""
    import torch

    from render3d.io import colorize_depth as colorize
    from render3d.io import to_uint8

    return to_uint8(colorize(torch.from_numpy(depth)))


def _unlit(glb: bytes) -> bytes:
    """The GLB with every material marked unlit (KHR_materials_unlit): a display choice for textures that
    already hold baked lighting."""
    import json
    import struct

    if len(glb) < 20 or glb[:4] != b"glTF":
        raise ToolError("not a GLB file (bad magic)")
    json_len, json_type = struct.unpack_from("<II", glb, 12)
    if json_type != 0x4E4F534A:
        raise ToolError("GLB without a JSON chunk")
    doc = json.loads(glb[20:20 + json_len])
    rest = glb[20 + json_len:]
    for mat in doc.get("materials", []):
        mat.setdefault("extensions", {})["KHR_materials_unlit"] = {}
    doc["extensionsUsed"] = sorted({*doc.get("extensionsUsed", []), "KHR_materials_unlit"})
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)  # chunks are 4-byte aligned; JSON pads with spaces
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + rest
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


def mesh_glb(path: Path, unlit: bool = False) -> bytes:
    """GLB bytes of a mesh file for display: a `.glb` read as written (`render3d.io.save_mesh` gives it a
    matte PBR material), anything `render3d.io.load_mesh` reads (OBJ+MTL+texture, PLY vertex colors)
    converted the same way; `unlit` for textures that hold baked lighting."""
    if path.suffix.lower() == ".glb":
        try:
            glb = path.read_bytes()
            if glb[:4] != b"glTF":
                raise ToolError("not a GLB file (bad magic)")
            return _unlit(glb) if unlit else glb
        except (OSError, ToolError, ValueError) as e:
            raise ToolError(f"{path}: unreadable GLB ({e})") from None
    import torch

    from render3d.errors import Render3DError
    from render3d.io import load_mesh
    from render3d.io.meshes import glb_bytes
    from render3d.structures import Meshes

    try:
        mesh = load_mesh(path)
    except Render3DError as e:
        raise ToolError(f"unreadable mesh: {e}") from None
    if mesh.has_vert_colors:
        # The project's colors are display values (sRGB); glTF vertex colors are linear, and a
        # browser shows them through an sRGB transfer, so convert or they come out washed out.
        rgb = mesh.vert_colors_packed()
        lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        mesh = Meshes(mesh.verts_list(), mesh.faces_list(), vert_colors=[lin])
    glb = glb_bytes(mesh)
    return _unlit(glb) if unlit else glb


def frustum_scale(cameras: Sequence[RunCamera], target: np.ndarray) -> float:
    """A frustum depth that reads well: an eighth of the median camera-to-target distance (the images on
    the frustums stay clear of the object in between)."""
    d = [float(np.linalg.norm(c.center - target)) for c in cameras]
    return max(0.125 * float(np.median(d)), 1e-3)


def add_frustums(server, root: str, cameras: Sequence[RunCamera], images: Sequence[np.ndarray | None],
                 scale: float, color: tuple[int, int, int] = (20, 20, 20)) -> list:
    """One viser frustum per camera at `root/cam_XXX`, each with its image (thumbnail) on the far plane."""
    handles = []
    for i, (cam, img) in enumerate(zip(cameras, images, strict=True)):
        wxyz, position = cam.viser_pose()
        handles.append(server.scene.add_camera_frustum(
            f"{root}/cam_{i:03d}", fov=cam.fov_y, aspect=cam.aspect, scale=scale, thickness=scale * 0.02,
            color=color, image=None if img is None else thumbnail(img), wxyz=wxyz, position=position))
    return handles


def scene_center(cameras: Sequence[RunCamera]) -> np.ndarray:
    """The point closest (least squares) to all cameras' optical axes; the cameras' centroid for one camera."""
    if len(cameras) == 1:
        c = cameras[0]
        return c.center + c.forward * float(c.t[2])
    A = np.zeros((3, 3))
    b = np.zeros(3)
    for c in cameras:
        P = np.eye(3) - np.outer(c.forward, c.forward)
        A += P
        b += P @ c.center
    return np.linalg.lstsq(A, b, rcond=None)[0]


def look_through(client, camera: RunCamera) -> None:
    """Put a browser's viewport at `camera` (pose and vertical field of view)."""
    wxyz, position = camera.viser_pose()
    with client.atomic():
        client.camera.wxyz = wxyz
        client.camera.position = position
        client.camera.fov = camera.fov_y


def side_view(camera: RunCamera, target: np.ndarray, turn_deg: float = 40.0,
              pull: float = 1.8) -> tuple[np.ndarray, np.ndarray]:
    """`(eye, target)`: `camera` turned by `turn_deg` about +Y around `target` and pulled back `pull` times,
    so the starting view shows the object and the camera's frustum side by side instead of through it."""
    a = np.radians(turn_deg)
    rot = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    return target + pull * rot @ (camera.center - target), target


def panel_image(img: np.ndarray, min_side: int = 240) -> np.ndarray:
    """Small images enlarged (nearest neighbour, whole factors) so the panel shows their pixels, not a stamp."""
    k = max(1, min_side // max(img.shape[:2]))
    return img if k == 1 else np.repeat(np.repeat(img, k, axis=0), k, axis=1)
