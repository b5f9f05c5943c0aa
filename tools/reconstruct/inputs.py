"""From a photo file to what the fit needs: the object's mask (given, alpha, or segmented) and the intrinsics.

The mask comes from `--mask`, else the photo's alpha, else segmentation: the plain-backdrop
model when the border is uniform, GrabCut otherwise (or as `--segment` says; `--box` seeds
GrabCut). Whatever its source, the largest connected region is the object; when there are
several, the run says so. The focal length comes from `--K`, else `--fov`, else the photo's EXIF
(35 mm-equivalent focal length, or focal length and focal-plane resolution), else a 40° field of view.
"""

from __future__ import annotations

import enum
import math
import os

import torch

from tools.errors import ToolError
from tools.reconstruct.segment import check_mask, largest_component, plain_background, segment_foreground

DEFAULT_FOV = 40.0
_EXIF_IFD = 0x8769
_FOCAL_LENGTH, _FOCAL_35MM = 0x920A, 0xA405
_FOCAL_PLANE_XRES, _FOCAL_PLANE_UNIT = 0xA20E, 0xA210
_UNIT_MM = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}


class Segmenter(enum.StrEnum):
    """How the mask is found when none is given."""

    auto = "auto"
    plain = "plain"
    grabcut = "grabcut"


def exif_focal_px(path: str | os.PathLike, width: int, height: int) -> float | None:
    """The focal length in pixels recorded in a photo's EXIF, or None without one.

    Uses the 35 mm-equivalent focal length (relative to the 43.27 mm diagonal of a 36×24 mm frame),
    else the focal length with the focal-plane resolution. EXIF describes the image as the camera
    wrote it, so `width`/`height` are the photo's own pixels.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            exif = im.getexif()
    except OSError:
        return None
    tags = {**exif, **exif.get_ifd(_EXIF_IFD)}
    f35 = tags.get(_FOCAL_35MM)
    if f35 and float(f35) > 0:
        return float(f35) / math.hypot(36.0, 24.0) * math.hypot(width, height)
    f_mm, xres, unit = tags.get(_FOCAL_LENGTH), tags.get(_FOCAL_PLANE_XRES), tags.get(_FOCAL_PLANE_UNIT, 2)
    if f_mm and xres and float(f_mm) > 0 and float(xres) > 0 and unit in _UNIT_MM:
        return float(f_mm) * float(xres) / _UNIT_MM[unit]
    return None


def photo_intrinsics(path: str | os.PathLike, width: int, height: int, K: tuple[float, float, float, float] | None,
                     fov: float | None) -> tuple[torch.Tensor, str]:
    """`[3, 3]` intrinsics in the photo's pixels and where they came from ("--K", "--fov", "EXIF", "default")."""
    if K is not None:
        fx, fy, cx, cy = K
        return torch.tensor([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]), "--K"
    f, source = None, "--fov"
    if fov is None:
        f = exif_focal_px(path, width, height)
        source = "EXIF" if f is not None else "default"
    if f is None:
        f = 0.5 * height / math.tan(math.radians(DEFAULT_FOV if fov is None else fov) / 2)
    return torch.tensor([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]]), source


def photo_mask(photo: torch.Tensor, alpha: torch.Tensor | None, mask_path: str | None, segmenter: str = "auto",
               box: tuple[int, int, int, int] | None = None) -> tuple[torch.Tensor, str, list[str]]:
    """The object's mask at the photo's resolution, its source, and notes for the user.

    Raises:
        ToolError: no object found, an unreadable mask, a bad box.
    """
    from tools.reconstruct.grabcut import grabcut
    from tools.reconstruct.segment import load_mask

    H, W = photo.shape[:2]
    if mask_path is not None:
        mask, source = check_mask(load_mask(mask_path, (H, W))), "mask file"
    elif alpha is not None:
        mask, source = check_mask(alpha), "alpha channel"
    elif box is not None or segmenter == "grabcut" or (segmenter == "auto" and not plain_background(photo)):
        mask, source = check_mask(grabcut(photo, box)), "GrabCut" + (" (box)" if box is not None else " (centre)")
    else:
        mask, source = segment_foreground(photo), "segmentation"
    kept, regions = largest_component(mask.numpy() > 0.5)
    notes = []
    if regions > 1:
        share = kept.sum() / max(float(mask.sum()), 1.0)
        notes.append(f"the mask has {regions} separate regions; reconstructing the largest ({share:.0%} of the mask)")
    return check_mask(torch.from_numpy(kept.astype("float32"))), source, notes


def parse_box(text: str | None) -> tuple[int, int, int, int] | None:
    """`"x0,y0,x1,y1"` → a pixel box, or None.

    Raises:
        ToolError: not four integers.
    """
    if text is None:
        return None
    try:
        vals = tuple(round(float(v)) for v in text.split(","))
    except (ValueError, OverflowError) as e:
        raise ToolError(f"--box must be four numbers x0,y0,x1,y1, got {text!r}") from e
    if len(vals) != 4:
        raise ToolError(f"--box must be four numbers x0,y0,x1,y1, got {text!r}")
    return vals  # type: ignore[return-value]
