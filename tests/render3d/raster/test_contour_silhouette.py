import pytest
import torch
from scipy import ndimage

from render3d.cameras import Cameras, intrinsics_from_fov, look_at
from render3d.errors import ShapeError
from render3d.geometry.icosphere import icosphere
from render3d.losses import silhouette_iou_loss
from render3d.raster import RasterSettings, rasterize_meshes
from render3d.raster.contour import contour_faces, contour_silhouette
from render3d.structures import Meshes
from render3d.topology import MeshTopology

S = 48


def _scene():
    v, f = icosphere(3)
    v = v * torch.tensor([0.5, 0.35, 0.4])
    R, t = look_at(torch.tensor([[0.6, 0.5, 2.2]]), torch.zeros(1, 3))
    cam = Cameras(intrinsics_from_fov(40, S, S)[None], R, t, S, S)
    return v, f, cam


def test_outline_edges_form_closed_loops_on_front_faces():
    v, f, cam = _scene()
    mesh = Meshes([v], [f])
    contour = contour_faces(mesh, MeshTopology.from_meshes(mesh), cam)
    edges = torch.stack([f[:, [1, 2]], f[:, [2, 0]], f[:, [0, 1]]], 1)[contour]  # edge k is opposite corner k
    # A convex closed surface seen from outside has one outline loop: every outline vertex has degree 2.
    counts = torch.bincount(edges.reshape(-1), minlength=len(v))
    assert edges.shape[0] > 20 and set(counts[counts > 0].tolist()) == {2}


def test_silhouette_matches_hard_coverage_and_gradient_points_toward_the_target():
    v, f, cam = _scene()
    target = rasterize_meshes(Meshes([v], [f]), cam, RasterSettings()).mask.float()
    topo = MeshTopology.from_meshes(Meshes([v], [f]))
    for s, sign in ((0.9, -1.0), (1.1, 1.0)):
        scale = torch.tensor(s, requires_grad=True)
        alpha, hard = contour_silhouette(Meshes([v * scale], [f]), topo, cam, sigma=0.5)
        assert alpha.shape == (1, S, S) and hard.pix_to_face.shape == (1, S, S, 1)
        # Thresholded at 0.5 it is the hard coverage; away from the outline the interior stays covered.
        assert torch.equal(alpha.detach() > 0.5, hard.mask)
        interior = torch.from_numpy(ndimage.binary_erosion(hard.mask[0].numpy(), iterations=2))
        assert interior.sum() > 200 and float(alpha.detach()[0][interior].min()) > 0.98
        silhouette_iou_loss(alpha, target).backward()
        assert float(scale.grad) * sign > 0


def test_same_silhouette_through_the_pytorch3d_backend():
    pytest.importorskip("pytorch3d")
    v, f, cam = _scene()
    mesh = Meshes([v], [f])
    topo = MeshTopology.from_meshes(mesh)
    ref, _ = contour_silhouette(mesh, topo, cam, sigma=0.7)
    other, _ = contour_silhouette(mesh, topo, cam, sigma=0.7, backend="pytorch3d")
    # Coverage decisions may differ on a pixel exactly on an edge; everything else agrees.
    assert float((ref - other).abs().gt(1e-4).float().mean()) < 0.01


def test_rejects_batches_and_bad_sigma():
    v, f, cam = _scene()
    mesh = Meshes([v], [f])
    topo = MeshTopology.from_meshes(mesh)
    with pytest.raises(ShapeError, match="sigma"):
        contour_silhouette(mesh, topo, cam, sigma=0.0)
    with pytest.raises(ShapeError, match="one mesh"):
        contour_silhouette(Meshes([v, v], [f, f]), topo, cam, sigma=0.5)
