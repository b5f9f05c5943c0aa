import pytest
import torch

from render3d.cameras import intrinsics_from_fov
from render3d.structures import Meshes
from render3d.topology import MeshTopology
from tools.errors import ToolError
from tools.reconstruct.init import Initialization, inflate
from tools.reconstruct.render import hard_mask, view_camera
from tools.reconstruct.templates import icosphere, mirror_index, subdivide


def test_icosphere_counts_unit_and_closed():
    for level in range(4):
        t = icosphere(level)
        assert t.verts.shape[0] == 10 * 4**level + 2 and t.faces.shape[0] == 20 * 4**level
        assert torch.allclose(t.verts.norm(dim=1), torch.ones(t.num_verts), atol=1e-5)
        topo = MeshTopology.from_meshes(Meshes([t.verts], [t.faces]))
        V, E, F = t.num_verts, topo.edges.shape[0], t.faces.shape[0]
        assert V - E + F == 2 and (topo.edge_to_faces >= 0).all()
        # Outward winding: positive enclosed volume.
        fv = t.verts[t.faces]
        assert torch.linalg.det(fv).sum() > 0


def test_subdivide_keeps_vertices_and_interpolates_colors():
    t = icosphere(1)
    colored = type(t)(t.verts * 2, t.faces, t.sphere, t.verts.clone())
    s = subdivide(colored)
    assert torch.equal(s.verts[: t.num_verts], t.verts * 2)
    e = MeshTopology.from_meshes(Meshes([t.verts], [t.faces])).edges.shape[0]
    assert s.num_verts == t.num_verts + e and s.faces.shape[0] == 4 * t.faces.shape[0]
    # New vertices sit at edge midpoints (positions and colors alike), sphere directions stay unit.
    assert torch.allclose(s.colors * 2, s.verts, atol=1e-6)
    assert torch.allclose(s.sphere.norm(dim=1), torch.ones(s.num_verts), atol=1e-6)


def test_mirror_index_is_exact_involution():
    t = icosphere(3)
    m = mirror_index(t.sphere)
    assert torch.equal(m[m], torch.arange(t.num_verts))
    flipped = t.sphere[m] * torch.tensor([-1.0, 1.0, 1.0])
    assert torch.allclose(flipped, t.sphere, atol=1e-5)


def test_inflate_matches_silhouette():
    S = 64
    K = intrinsics_from_fov(40, S, S)
    yy, xx = torch.meshgrid(torch.arange(S) + 0.5, torch.arange(S) + 0.5, indexing="ij")
    mask = (((yy - 34) / 20) ** 2 + ((xx - 30) / 12) ** 2 < 1).float()
    cam = view_camera(K, S, S, 4.0, 10.0)
    t = icosphere(3)
    verts = inflate(t.sphere, mask, cam)
    pred = hard_mask(Meshes([verts], [t.faces]), cam)[0]
    iou = (pred * mask).sum() / (pred + mask - pred * mask).sum()
    assert iou > 0.9
    # Revolution prior: depth extent equals the silhouette's width (up to perspective).
    cam_pts = cam.world_to_camera(verts[None])[0]
    width = cam_pts[:, 0].max() - cam_pts[:, 0].min()
    depth = cam_pts[:, 2].max() - cam_pts[:, 2].min()
    assert abs(float(depth / width) - 1.0) < 0.1


def test_initialization_vector_round_trip_and_validation():
    g = torch.Generator().manual_seed(0)
    vec = torch.randn(Initialization.vector_size(1), generator=g)
    init = Initialization.from_vector(vec, 1)
    assert init.offsets.shape == (42, 3) and float(init.colors.min()) > 0 and float(init.colors.max()) < 1
    back = init.to_vector()
    assert torch.allclose(back, vec, atol=1e-3)
    with pytest.raises(ToolError, match="offsets must be"):
        Initialization(level=2, offsets=torch.zeros(10, 3))
    with pytest.raises(ToolError, match="needs every field"):
        Initialization(level=1).to_vector()


def test_encoder_prediction_initializes_the_fit():
    from gan2d.nets.encoder import ImageEncoder, ImageEncoderConfig
    from tools.reconstruct.fit import FitSettings, fit
    from tools.reconstruct.init import predict_initialization

    torch.manual_seed(0)
    level = 1
    enc = ImageEncoder(ImageEncoderConfig(in_channels=4, resolution=16, out_dim=Initialization.vector_size(level),
                                          base_channels=8))
    with torch.no_grad():  # an "encoder" that predicts a unit sphere at distance 4, elevation 10
        enc.head.weight.zero_()
        enc.head.bias.zero_()
        enc.head.bias[-2] = float(torch.log(torch.tensor(4.0)))
        enc.head.bias[-1] = 10.0
    S = 48
    K = intrinsics_from_fov(40, S, S)
    yy, xx = torch.meshgrid(torch.arange(S) + 0.5, torch.arange(S) + 0.5, indexing="ij")
    mask = (((yy - 24) / 12) ** 2 + ((xx - 24) / 12) ** 2 < 1).float()
    image = torch.ones(S, S, 3) * 0.5
    init = predict_initialization(enc, image, mask, level)
    assert init.distance == pytest.approx(4.0) and init.elevation == pytest.approx(10.0)
    assert torch.equal(init.offsets, torch.zeros(42, 3))
    res = fit(image, mask, K, FitSettings(steps=2, levels=(1,), stage_fractions=(1.0,), fit_camera=False), init)
    assert res.verts.shape == (42, 3) and res.elevation == pytest.approx(10.0)
    with pytest.raises(ToolError, match="level 2 needs"):
        predict_initialization(enc, image, mask, 2)
