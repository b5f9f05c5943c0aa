"""Adaptive resolution: find where the fit's error concentrates and split the faces there.

`face_errors` charges every silhouette-error pixel to the nearest outline face and every color
error to the face the pixel shows; `refine` splits the worst faces red-green style (a marked face
into four at its edge midpoints, a neighbour sharing one split edge into two, so no crack opens),
closing marks so that no face has exactly two split edges. Midpoint splits keep the shapes of the
parent triangles; the edge-length term keeps them from degrading afterwards.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

from render3d.cameras import Cameras
from render3d.raster import RasterSettings, rasterize_meshes
from render3d.raster.contour import contour_faces
from render3d.structures import Meshes
from render3d.topology import MeshTopology
from tools.reconstruct.templates import Template


@torch.no_grad()
def face_errors(verts: torch.Tensor, faces: torch.Tensor, rgb: torch.Tensor, image: torch.Tensor,
                mask: torch.Tensor, camera: Cameras) -> torch.Tensor:
    """`[F]` error charged to every face: silhouette misses and color residuals, in pixels.

    Args:
        verts: `[V, 3]` world positions.
        faces: `[F, 3]`.
        rgb: `[H, W, 3]` the fit's render of them.
        image: `[H, W, 3]` the photo.
        mask: `[H, W]` its mask.
        camera: the input view.
    """
    mesh = Meshes([verts], [faces])
    frags = rasterize_meshes(mesh, camera, RasterSettings())
    covered = frags.mask[0]
    p2f = frags.pix_to_face[0, ..., 0]
    err = torch.zeros(len(faces), dtype=torch.float64)
    both = covered & (mask > 0.5)
    color = (rgb - image).abs().mean(-1)
    err.index_add_(0, p2f[both].cpu(), color[both].double().cpu())
    wrong = torch.nonzero(covered != (mask > 0.5))
    rim = torch.nonzero(contour_faces(mesh, MeshTopology.from_meshes(mesh), camera).any(1)).squeeze(1)
    if len(wrong) and len(rim):
        centroids = camera.project(verts[faces[rim]].mean(1)[None])[0, :, :2].cpu().numpy()
        pix = wrong[:, [1, 0]].cpu().numpy() + 0.5
        _, nearest = cKDTree(centroids).query(pix)
        err.index_add_(0, rim[torch.from_numpy(nearest)].cpu(), torch.ones(len(pix), dtype=torch.float64))
    return err.float()


def refine(template: Template, marked: torch.Tensor, normalize_sphere: bool = False) -> Template:
    """Split the marked faces into four and their neighbours as needed to keep the mesh conforming.

    Args:
        template: the mesh (positions, faces, parameterization `sphere`, optional colors).
        marked: `[F]` bool, faces to split.
        normalize_sphere: re-normalize the new vertices' `sphere` (icosphere-parameterized templates).

    Returns:
        the refined template: vertex i keeps index i; new vertices at edge midpoints.

    Example:
        >>> t = Template(torch.eye(3), torch.tensor([[0, 1, 2]]), torch.eye(3))
        >>> refine(t, torch.tensor([True])).faces.shape
        torch.Size([4, 3])
    """
    faces = template.faces.cpu().numpy()
    V = template.verts.shape[0]
    e = np.stack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]], 1)  # [F, 3, 2]: edge k = (k, k+1)
    key = np.minimum(e[..., 0], e[..., 1]) * V + np.maximum(e[..., 0], e[..., 1])
    uniq, inverse = np.unique(key.reshape(-1), return_inverse=True)
    face_edge = inverse.reshape(-1, 3)
    split = np.zeros(len(uniq), bool)
    split[face_edge[marked.cpu().numpy()].reshape(-1)] = True
    # Closure: a face with two split edges gets its third, so every face splits into 1, 2 or 4.
    while True:
        count = split[face_edge].sum(1)
        two = count == 2
        if not two.any():
            break
        split[face_edge[two].reshape(-1)] = True
    ids = np.nonzero(split)[0]
    mid_of = np.full(len(uniq), -1)
    mid_of[ids] = V + np.arange(len(ids))
    m = mid_of[face_edge]  # [F, 3]
    count = (m >= 0).sum(1)
    out = [faces[count == 0]]
    four = count == 3
    c, mm = faces[four], m[four]
    out += [np.stack([c[:, 0], mm[:, 0], mm[:, 2]], 1), np.stack([c[:, 1], mm[:, 1], mm[:, 0]], 1),
            np.stack([c[:, 2], mm[:, 2], mm[:, 1]], 1), mm[:, [0, 1, 2]]]
    one = np.nonzero(count == 1)[0]
    k = np.argmax(m[one] >= 0, axis=1)
    p, q, r = faces[one, k], faces[one, (k + 1) % 3], faces[one, (k + 2) % 3]
    mid = m[one, k]
    out += [np.stack([p, mid, r], 1), np.stack([mid, q, r], 1)]
    new_faces = torch.from_numpy(np.concatenate(out)).long().to(template.faces.device)
    a = torch.from_numpy(uniq[ids] // V).to(template.faces.device)
    b = torch.from_numpy(uniq[ids] % V).to(template.faces.device)

    def extend(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, 0.5 * (x[a] + x[b])])

    sphere = extend(template.sphere)
    if normalize_sphere:
        sphere = torch.nn.functional.normalize(sphere, dim=1)
    colors = None if template.colors is None else extend(template.colors)
    return Template(extend(template.verts), new_faces, sphere, colors)


def worst_faces(errors: torch.Tensor, faces: torch.Tensor, fraction: float = 0.1) -> torch.Tensor:
    """`[F]` bool: the faces holding the top `fraction` of the error (at most `fraction` of the faces),
    ignoring faces without error."""
    order = torch.argsort(errors, descending=True)
    n = max(1, int(fraction * len(faces)))
    chosen = torch.zeros(len(faces), dtype=torch.bool, device=faces.device)
    top = order[:n]
    chosen[top[errors[top] > 0]] = True
    return chosen
