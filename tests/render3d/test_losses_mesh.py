import math

import pytest
import torch
import trimesh

from render3d import Meshes
from render3d.losses import edge_length_loss, laplacian_smoothing, mesh_laplacian, normal_consistency
from render3d.topology import MeshTopology


def _grid(n: int, z_bump: float = 0.0) -> tuple[Meshes, int]:
    """Flat n×n vertex grid in z=0 (regular diagonals); optionally lift the center vertex."""
    ys, xs = torch.meshgrid(torch.arange(n, dtype=torch.float64), torch.arange(n, dtype=torch.float64),
                            indexing="ij")
    verts = torch.stack([xs, ys, torch.zeros_like(xs)], -1).reshape(-1, 3)
    center = (n // 2) * n + n // 2
    verts[center, 2] = z_bump
    faces = []
    for r in range(n - 1):
        for c in range(n - 1):
            i = r * n + c
            faces += [[i, i + 1, i + n + 1], [i, i + n + 1, i + n]]
    return Meshes([verts], [torch.tensor(faces)]), center


def _interior(n: int) -> torch.Tensor:
    idx = torch.arange(n * n).view(n, n)
    return idx[1:-1, 1:-1].reshape(-1)


@pytest.mark.parametrize("method", ["uniform", "cot"])
def test_laplacian_of_flat_grid_interior_is_zero(method):
    m, _ = _grid(6)
    lap = mesh_laplacian(m, MeshTopology.from_meshes(m), method)
    assert lap[_interior(6)].abs().max() < 1e-12
    assert lap.abs().max() > 0.1  # boundary vertices are pulled inward


def test_uniform_laplacian_of_bump_points_down():
    m, center = _grid(5, z_bump=0.6)
    lap = mesh_laplacian(m, MeshTopology.from_meshes(m), "uniform")
    assert lap[center].tolist() == pytest.approx([0.0, 0.0, -0.6])


def test_edge_length_of_equilateral_triangle():
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0.5, math.sqrt(3) / 2, 0]], dtype=torch.float64)
    f = torch.tensor([[0, 1, 2]])
    m = Meshes([v, 2 * v], [f, f])
    topo = MeshTopology.from_meshes(m)
    # Per mesh: lengths 1 and 2 → (1-0)² and (2-0)², averaged over the batch.
    assert float(edge_length_loss(m, topo)) == pytest.approx((1 + 4) / 2)
    assert float(edge_length_loss(m, topo, target_length=1.0)) == pytest.approx((0 + 1) / 2)


def test_normal_consistency_plane_and_fold():
    m, _ = _grid(4)
    assert float(normal_consistency(m, MeshTopology.from_meshes(m))) == pytest.approx(0.0, abs=1e-12)
    # Two triangles on the edge (0,0,0)-(1,0,0), the second rotated by phi about it.
    for phi in (math.pi / 2, math.pi / 3):
        v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0.5, 1, 0], [0.5, -math.cos(phi), math.sin(phi)]],
                         dtype=torch.float64)
        m = Meshes([v], [torch.tensor([[0, 1, 2], [1, 0, 3]])])
        assert float(normal_consistency(m, MeshTopology.from_meshes(m))) == pytest.approx(1 - math.cos(phi))


def _noisy_spheres() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    out = []
    for sub in (1, 2):
        ico = trimesh.creation.icosphere(subdivisions=sub)
        v = torch.tensor(ico.vertices, dtype=torch.float32)
        out.append((v + 0.05 * torch.randn(v.shape, generator=g), torch.tensor(ico.faces)))
    return out


def test_matches_pytorch3d_on_random_meshes():
    p3d_loss = pytest.importorskip("pytorch3d.loss")
    p3d_struct = pytest.importorskip("pytorch3d.structures")
    data = _noisy_spheres()
    ours_v = [v.clone().requires_grad_(True) for v, _ in data]
    theirs_v = [v.clone().requires_grad_(True) for v, _ in data]
    ours = Meshes(ours_v, [f for _, f in data])
    theirs = p3d_struct.Meshes(theirs_v, [f for _, f in data])
    topo = MeshTopology.from_meshes(ours)
    pairs = [
        (laplacian_smoothing(ours, topo, "uniform"), p3d_loss.mesh_laplacian_smoothing(theirs, "uniform")),
        (laplacian_smoothing(ours, topo, "cot"), p3d_loss.mesh_laplacian_smoothing(theirs, "cot")),
        (edge_length_loss(ours, topo, 0.3), p3d_loss.mesh_edge_loss(theirs, 0.3)),
        (normal_consistency(ours, topo), p3d_loss.mesh_normal_consistency(theirs)),
    ]
    for a, b in pairs:
        assert a.item() == pytest.approx(b.item(), rel=1e-4)
        ga = torch.autograd.grad(a, ours_v)
        gb = torch.autograd.grad(b, theirs_v)
        for x, y in zip(ga, gb, strict=True):
            torch.testing.assert_close(x, y, rtol=1e-3, atol=1e-6)


def test_topology_is_reused_across_updates():
    v, f = _noisy_spheres()[0]
    m = Meshes([v], [f])
    topo = MeshTopology.from_meshes(m)
    moved = m.offset_verts(torch.full_like(v, 0.1))
    assert float(edge_length_loss(moved, topo)) == pytest.approx(float(edge_length_loss(m, topo)), rel=1e-5)
