"""Scores of a single-view reconstruction against ground truth seen by known cameras.

A reconstruction lives in the fit's frame (its camera on an orbit at azimuth 0 looking at the origin,
`tools.reconstruct.render.view_camera`). It is carried into the ground truth's frame through the two
input cameras — reconstruction world → its camera → scaled by the ratio of centroid depths (one
view fixes everything but the depth scale) → the true input camera → world — which keeps the input
view exact; then:

- `score_views`: IoU at the input view and at other known views against their masks (multi-view
  sets, where no mesh may exist — GAN faces);
- `score_shape`: the same protocol as `neurender bench reconstruct` for a ground-truth mesh: input
  IoU, novel-view IoU at ±90° azimuth after a similarity ICP, and the symmetric mean surface distance
  over the ground truth's bounding-box diagonal (chamfer).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

from render3d.cameras import Cameras
from render3d.geometry import sample_surface
from render3d.geometry.align import similarity_icp
from render3d.raster import RasterSettings, rasterize_meshes
from render3d.structures import Meshes
from tools.invgraphics.camera import look_at_center


def to_true_frame(verts: torch.Tensor, recon_camera: Cameras, true_camera: Cameras, depth: float) -> torch.Tensor:
    """`[V, 3]` reconstruction vertices in the ground truth's world frame (see the module docstring), its
    centroid put at the true centroid `depth` from the input camera."""
    rc = recon_camera.world_to_camera(verts[None])[0]
    mean = float(rc[:, 2].mean())
    return true_camera.camera_to_world((rc * (depth / mean if mean > 0 else 1.0))[None])[0]


def _coverage(verts: torch.Tensor, faces: torch.Tensor, cams: Cameras) -> torch.Tensor:
    n = len(cams)
    return rasterize_meshes(Meshes([verts] * n, [faces] * n), cams, RasterSettings()).mask.float()


def iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`[B]` IoU of `[B, H, W]` masks thresholded at 0.5."""
    a, b = (a > 0.5).float(), (b > 0.5).float()
    return (a * b).sum((1, 2)) / (a + b - a * b).sum((1, 2)).clamp(min=1)


@torch.no_grad()
def score_views(verts: torch.Tensor, faces: torch.Tensor, recon_camera: Cameras, cameras: Cameras,
                masks: torch.Tensor) -> dict:
    """IoU of a reconstruction made from view 0 at every view of a multi-view sample.

    Args:
        verts: `[V, 3]` reconstruction in the fit frame; `faces: [F, 3]`.
        recon_camera: the reconstruction's input camera.
        cameras: the sample's V' cameras (view 0 is the input); the object's centroid is taken at the
            point they look at.
        masks: `[V', H, W]` their masks.

    Returns:
        {"input_iou", "novel_iou" (mean over views 1…), "view_iou": [V']}.
    """
    center = look_at_center(cameras.R, cameras.t) if len(cameras) > 1 else torch.zeros(3)
    depth = float(cameras[0].world_to_camera(center.reshape(1, 1, 3))[0, 0, 2])
    world = to_true_frame(verts, recon_camera, cameras[0], depth)
    per_view = iou(_coverage(world, faces, cameras), masks)
    return {"input_iou": float(per_view[0]), "novel_iou": float(per_view[1:].mean()),
            "view_iou": per_view.tolist()}


@torch.no_grad()
def score_shape(verts: torch.Tensor, faces: torch.Tensor, recon_camera: Cameras, gt: Meshes, camera: Cameras,
                novel: list[Cameras], samples: int = 4000) -> dict:
    """`neurender bench reconstruct`'s scores of a reconstruction of the ground-truth mesh `gt`.

    Args:
        verts, faces: reconstruction in the fit frame.
        recon_camera: its input camera.
        gt: the ground-truth mesh.
        camera: the true input camera.
        novel: novel-view cameras (the bench uses ±90° azimuth).
        samples: surface samples for ICP and chamfer.

    Returns:
        {"input_iou", "novel_iou", "chamfer"}.
    """
    gt_v, gt_f = gt.verts_packed(), gt.faces_packed()
    depth = float(camera.world_to_camera(gt_v[None])[0, :, 2].mean())
    aligned0 = to_true_frame(verts, recon_camera, camera, depth)
    src = sample_surface(aligned0, faces, samples, seed=1)[0].double()
    dst = sample_surface(gt_v, gt_f, samples, seed=2)[0].double()
    s, R, t = similarity_icp(src, dst)
    aligned = (s * aligned0.double() @ R.T + t).float()
    src_a = (s * src @ R.T + t).numpy()
    d1, _ = cKDTree(dst.numpy()).query(src_a)
    d2, _ = cKDTree(src_a).query(dst.numpy())
    diag = float((gt_v.max(0).values - gt_v.min(0).values).norm())
    inp = iou(_coverage(aligned0, faces, camera), _coverage(gt_v, gt_f, camera))
    nov = [float(iou(_coverage(aligned, faces, c), _coverage(gt_v, gt_f, c))[0]) for c in novel]
    return {"input_iou": float(inp[0]), "novel_iou": float(np.mean(nov)), "chamfer": float(0.5 * (d1.mean() +
                                                                                                  d2.mean()) / diag)}
