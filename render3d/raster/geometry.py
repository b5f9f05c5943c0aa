"""Per-face screen geometry in homogeneous form: the differentiable half of the rasterizer.

Each face instance (a face seen by one camera) is described by
- three homogeneous edge functions `w_i(u, v) = edges[i] · (u, v, 1)` with `edges[i] = h_j × h_k`
  for the corners' homogeneous pixel coordinates `h = K @ x_cam` (perspective) or
  `h = K @ (x, y, 1)` (orthographic). `w / sum(w)` are the perspective-correct barycentrics of
  the surface point under pixel (u, v), whatever the sign of the corners' depths, so faces that
  cross the near plane need no splitting to get coverage, barycentrics and depth (Olano & Greer,
  "Triangle scan conversion using 2D homogeneous coordinates", 1997);
- the screen polygon of the face's visible part (the triangle clipped at z = znear, at most a
  quad), which bounds its pixels and gives the signed distance to its boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from render3d.cameras import Cameras
from render3d.elementwise import cross, dot, transform
from render3d.structures import Meshes


@dataclass(frozen=True)
class FaceGeometry:
    """Screen geometry of N face instances, ordered by image.

    Attributes:
        edges: `[N, 3, 3]` homogeneous edge functions; row i is zero on the edge opposite corner i.
        depth: `[N, 3]` camera z of the corners.
        poly: `[N, 4, 2]` pixel coordinates of the visible polygon's corners in winding order
            (triangles repeat their first corner).
        orient: `[N]` det(h0, h1, h2): negative for front faces (counter-clockwise on screen).
        clipped: `[N]` bool, some corner lies behind the near plane.
        visible: `[N]` bool, some corner lies in front of the near plane and the face is not degenerate.
        image: `[N]` long, image the instance is rendered into.
        face_id: `[N]` long, the packed face index reported in `pix_to_face`.
    """

    edges: torch.Tensor
    depth: torch.Tensor
    poly: torch.Tensor
    orient: torch.Tensor
    clipped: torch.Tensor
    visible: torch.Tensor
    image: torch.Tensor
    face_id: torch.Tensor

    def detach(self) -> FaceGeometry:
        return FaceGeometry(self.edges.detach(), self.depth.detach(), self.poly.detach(), self.orient.detach(),
                            self.clipped, self.visible, self.image, self.face_id)


def _homogeneous(cam: torch.Tensor, K: torch.Tensor, orthographic: bool) -> torch.Tensor:
    """`cam: [..., 3]` camera points, `K: [..., 3, 3]` broadcast against them → homogeneous pixels.

    Element-wise (`render3d.elementwise`), so a face's geometry is the same bits whatever the batch.
    """
    if orthographic:
        cam = torch.cat([cam[..., :2], torch.ones_like(cam[..., 2:])], -1)
    return transform(cam, K)


def _clip_polygons(cam: torch.Tensor, K: torch.Tensor, znear: float, orthographic: bool) -> torch.Tensor:
    """Visible polygons of faces crossing the near plane (Sutherland-Hodgman against one plane).

    Args:
        cam: `[n, 3, 3]` camera-space corners, at least one in front of and one behind `znear`.
        K: `[n, 3, 3]` intrinsics of each face's camera.

    Returns:
        `[n, 4, 2]` pixel coordinates of the clipped polygon, a triangle repeating its first corner.
    """
    nxt = [1, 2, 0]
    z = cam[..., 2]
    inside = z >= znear
    crosses = inside != inside[:, nxt]
    denom = torch.where(crosses, z[:, nxt] - z, torch.ones_like(z))
    tpar = torch.where(crosses, (znear - z) / denom, torch.zeros_like(z))[..., None]
    on_plane = cam + tpar * (cam[:, nxt] - cam)
    pts = torch.stack([cam[:, 0], on_plane[:, 0], cam[:, 1], on_plane[:, 1], cam[:, 2], on_plane[:, 2]], 1)
    valid = torch.stack([inside[:, 0], crosses[:, 0], inside[:, 1], crosses[:, 1], inside[:, 2], crosses[:, 2]], 1)
    order = torch.argsort((~valid).to(torch.uint8), dim=1, stable=True)[:, :4]
    order[:, 3] = torch.where(valid.sum(1) >= 4, order[:, 3], order[:, 0])
    sel = pts.gather(1, order[..., None].expand(-1, -1, 3))
    hom = _homogeneous(sel, K[:, None], orthographic)
    return hom[..., :2] if orthographic else hom[..., :2] / hom[..., 2:]


def face_geometry(meshes: Meshes, cameras: Cameras, znear: float) -> FaceGeometry:
    """Screen geometry of every face seen by every camera, differentiable w.r.t. vertices and cameras.

    Args:
        meshes: B meshes, or 1 mesh broadcast to all B cameras.
        cameras: B cameras.
        znear: near clipping depth.

    Returns:
        the face instances of all images, ordered by image.
    """
    dtype = meshes.verts_list()[0].dtype
    B = len(cameras)
    K, R, t = (x.to(dtype) for x in (cameras.K, cameras.R, cameras.t))
    ortho = cameras.orthographic
    if len(meshes) == B:
        cams = [transform(v, R[b], t[b]) for b, v in enumerate(meshes.verts_list())]
        cam = torch.cat(cams, 0)
        hom = torch.cat([_homogeneous(c, K[b], ortho) for b, c in enumerate(cams)], 0)
        faces = meshes.faces_packed()
        image = meshes.face_to_mesh_idx
        face_id = torch.arange(faces.shape[0], device=faces.device)
    else:
        verts, faces0 = meshes.verts_packed(), meshes.faces_packed()
        V, F = verts.shape[0], faces0.shape[0]
        cam3 = transform(verts[None], R[:, None], t[:, None])
        hom = _homogeneous(cam3, K[:, None], ortho).reshape(B * V, 3)
        cam = cam3.reshape(B * V, 3)
        faces = (faces0[None] + V * torch.arange(B, device=faces0.device)[:, None, None]).reshape(B * F, 3)
        image = torch.arange(B, device=faces0.device).repeat_interleave(F)
        face_id = torch.arange(F, device=faces0.device).repeat(B)
    cam_f = cam[faces]
    hom_f = hom[faces]
    depth = cam_f[..., 2]
    edges = cross(hom_f[:, [1, 2, 0]], hom_f[:, [2, 0, 1]])
    orient = dot(hom_f[:, 0], edges[:, 0])
    front = depth >= znear
    clipped = ~front.all(1)
    # Corners behind the camera get a dummy divisor so their (unused) projection stays finite in backward.
    wz = hom_f[..., 2:]
    safe_w = torch.where(front[..., None] | ortho, wz, torch.ones_like(wz))
    proj = hom_f[..., :2] if ortho else hom_f[..., :2] / safe_w
    poly = proj[:, [0, 1, 2, 0]]
    crossing = (clipped & front.any(1)).nonzero()[:, 0]
    if crossing.numel():
        clip_poly = _clip_polygons(cam_f[crossing], K[image[crossing]], znear, ortho)
        poly = poly.index_put((crossing,), clip_poly)
    visible = front.any(1) & (orient != 0) & torch.isfinite(poly.detach()).all(2).all(1)
    return FaceGeometry(edges, depth, poly, orient, clipped, visible, image, face_id)
