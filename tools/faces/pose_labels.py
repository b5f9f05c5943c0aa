"""The pose label of the pose-conditioned faces generator: (yaw, pitch) degrees ↔ the label vector c.

A head set (`tools.faces.headset`) stores each image's ground-truth yaw and pitch in the data engine's
convention (degrees, yaw = camera azimuth about +Y toward +X with the subject facing +Z, pitch =
elevation). The generator sees `c = (yaw / 50, pitch / 25)`, the head set's ranges scaled to about
[-1, 1]. `write_pose_labels` turns a head set's `labels.json` into the StyleGAN2-ADA `dataset.json`
beside its images (continuous labels, entry 0 negated under x-flip: a mirrored head has the
opposite yaw), which is what the generator run trains on; its `"groups"` (the head of each image) give
the view-pair discriminator its pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from render3d.io import atomic_write
from tools.errors import ToolError

POSE_SCALE = (50.0, 25.0)  # degrees of yaw, pitch per label unit
POSE_DIM = len(POSE_SCALE)
YAW_ENTRY = 0


def encode_pose(pose: torch.Tensor) -> torch.Tensor:
    """`[B, 2]` (yaw, pitch) degrees → `[B, 2]` labels.

    Example:
        >>> encode_pose(torch.tensor([[25.0, -25.0]])).tolist()
        [[0.5, -1.0]]
    """
    return pose.float() / torch.tensor(POSE_SCALE, device=pose.device)


def decode_pose(c: torch.Tensor) -> torch.Tensor:
    """Inverse of `encode_pose`: `[B, 2]` labels → degrees."""
    return c.float() * torch.tensor(POSE_SCALE, device=c.device)


def write_pose_labels(heads: Path) -> Path:
    """Write `heads/images/dataset.json` from `heads/labels.json`; returns the images folder.

    Raises:
        ToolError: the head set is missing, incomplete or has no poses.
    """
    index_path = heads / "labels.json"
    try:
        index = json.loads(index_path.read_text())
        images = index["images"]
        labels = [[e["file"], [round(e["yaw"] / POSE_SCALE[0], 6), round(e["pitch"] / POSE_SCALE[1], 6)]]
                  for e in images]
    except FileNotFoundError:
        raise ToolError(f"{index_path} not found: render the head set first (the data stage)") from None
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise ToolError(f"{index_path} is not a head set index with yaw/pitch per image ({e})") from e
    if not labels or not index.get("complete", True):
        raise ToolError(f"{index_path} lists no finished images")
    folder = heads / "images"
    groups = [[e["file"], e["identity"]] for e in images if "identity" in e]
    meta = {"labels": labels, "xflip_negate": [YAW_ENTRY], **({"groups": groups} if len(groups) == len(labels) else {}),
            "pose_label": {"entries": ["yaw", "pitch"], "degrees_per_unit": list(POSE_SCALE)}}
    atomic_write(folder / "dataset.json", lambda p: p.write_text(json.dumps(meta)))
    return folder
