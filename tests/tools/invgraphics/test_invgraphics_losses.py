"""Predictions have the documented shapes; the multi-view consistency loss finds a known answer."""

from __future__ import annotations

import pytest
import torch

from gan2d.nets.invgraphics import InverseGraphicsConfig, InverseGraphicsNet
from render3d.cameras import Cameras, intrinsics_from_fov
from tools.invgraphics.camera import orbit_extrinsics
from tools.invgraphics.losses import camera_terms, mesh_terms, multiview_terms
from tools.invgraphics.model import SH_Y00, InverseGraphicsModel, ModelConfig, Prediction
from tools.invgraphics.template import SphereTemplate

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny(symmetric: bool = False) -> InverseGraphicsModel:
    net = InverseGraphicsConfig(num_verts=162, resolution=16, base_channels=8, max_channels=16, shape_dim=8,
                                texture_dim=8, hidden=16, texture_size=(8, 16), texture_channels=16)
    return InverseGraphicsModel(ModelConfig(net, level=2, symmetric=symmetric))


def test_every_prediction_has_its_documented_shape() -> None:
    torch.manual_seed(0)
    model = _tiny().eval().requires_grad_(False)
    out = model.net(torch.randn(3, 4, 16, 16))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "shape_code": (3, 8), "texture_code": (3, 8), "offsets": (3, 162, 3), "texture": (3, 3, 8, 16),
        "camera": (3, 4), "light": (3, 9, 3), "placement": (3, 4)}
    assert float(out["texture"].min()) > 0 and float(out["texture"].max()) < 1
    K = intrinsics_from_fov(30, 16, 16)[None].expand(3, 3, 3)
    pred = model.decode(out, K)
    assert pred.verts.shape == (3, 162, 3) and pred.faces.shape == (320, 3) and pred.sh.shape == (3, 9, 3)
    assert pred.camera.shape == (3, 4) and bool((pred.camera[:, 3] > 0).all())
    rgb, alpha = pred.render(pred.input_cameras(K, 16), torch.ones(3, 3))
    assert rgb.shape == (3, 16, 16, 3) and alpha.shape == (3, 16, 16)
    # The untrained net starts near the template: a centred sphere half the frame across (π/16 of it).
    assert 0.1 < float(alpha.mean()) < 0.3 and float(alpha[:, 8, 8].min()) > 0.9


def test_symmetric_model_predicts_mirror_symmetric_meshes() -> None:
    torch.manual_seed(1)
    model = _tiny(symmetric=True).eval()
    with torch.no_grad():
        for p in model.net.shape_decoder.parameters():
            p.normal_(0, 0.3)
    pred = model(torch.randn(2, 4, 16, 16), intrinsics_from_fov(30, 16, 16)[None].expand(2, 3, 3))
    t = model.template
    # Placement may shift the mesh; symmetry holds about its own x = translation plane.
    centered = pred.verts - pred.verts.mean(1, keepdim=True) * torch.tensor([1.0, 0, 0])
    assert torch.allclose(centered[:, t.mirror] * torch.tensor([-1.0, 1, 1]), centered, atol=1e-4)
    assert torch.allclose(pred.texture, pred.texture.flip(-1))


def _sphere_prediction(radius: torch.Tensor, template: SphereTemplate, two_tone: bool = False) -> Prediction:
    sh = torch.zeros(1, 9, 3)
    sh[:, 0] = 1.0 / SH_Y00
    texture = torch.full((1, 3, 8, 16), 0.6)
    if two_tone:  # one half red-poor: the color terms see the azimuth too
        texture[:, 0, :, :8] = 0.2
    return Prediction(radius * template.verts[None], template.faces, template.topology, template.verts, texture, sh,
                      torch.tensor([[0.0, 0.0, 0.0, 3.0]]), torch.zeros(1, 1), torch.zeros(1, 1))


@pytest.mark.parametrize("frame", ["canonical", "viewer"])
def test_multiview_consistency_is_lowest_at_the_true_object_and_finds_it(frame: str) -> None:
    template = SphereTemplate.build(2)
    size, M = 48, 2
    K = intrinsics_from_fov(35, size, size)[None, None].expand(1, M, 3, 3)
    source = torch.tensor([[20.0, 10.0, 0.0, 3.0]])
    targets = torch.tensor([[[80.0, 10.0, 0.0, 3.0], [-40.0, 25.0, 0.0, 3.0]]])
    background = torch.ones(1, M, 3)
    # Ground truth: the true sphere rendered at the target views, in the dataset's frame.
    truth = _sphere_prediction(torch.tensor(0.55), template, two_tone=frame == "canonical")
    R, t = orbit_extrinsics(targets[0])
    with torch.no_grad():
        gt_rgb, gt_alpha = truth.repeat(M).render(Cameras(K[0], R, t, size, size), background[0])
    images, masks = gt_rgb[None], (gt_alpha > 0.5).float()[None]

    def loss(radius: torch.Tensor) -> torch.Tensor:
        pred = _sphere_prediction(radius, template, two_tone=frame == "canonical")
        # "viewer": view A predicted as straight ahead, so the relative poses must carry it round.
        pred.camera = source.clone() if frame == "canonical" else torch.tensor([[0.0, 10.0, 0.0, 3.0]])
        terms = multiview_terms(pred, source, targets, K, images, masks, background)
        return terms["mv_silhouette"] + terms["mv_color"]

    values = {r: float(loss(torch.tensor(r))) for r in (0.35, 0.45, 0.55, 0.65, 0.75)}
    assert min(values, key=values.get) == 0.55
    assert values[0.45] > 1.5 * values[0.55] and values[0.65] > 1.5 * values[0.55]
    assert values[0.35] > 3 * values[0.55] and values[0.75] > 3 * values[0.55]
    radius = torch.tensor(0.4, requires_grad=True)
    opt = torch.optim.Adam([radius], lr=0.02)
    for _ in range(50):
        opt.zero_grad()
        loss(radius).backward()
        opt.step()
    assert abs(float(radius.detach()) - 0.55) < 0.03


def test_multiview_consistency_sees_a_wrong_azimuth() -> None:
    template = SphereTemplate.build(2)
    egg = template.verts * torch.tensor([0.25, 0.45, 0.9])  # long along z: its outline turns with the view
    size, M = 48, 2
    K = intrinsics_from_fov(35, size, size)[None, None].expand(1, M, 3, 3)
    source = torch.tensor([[30.0, 10.0, 0.0, 3.0]])
    targets = torch.tensor([[[90.0, 10.0, 0.0, 3.0], [-20.0, 20.0, 0.0, 3.0]]])
    pred = _sphere_prediction(torch.tensor(1.0), template)
    pred.verts = egg[None]
    R, t = orbit_extrinsics(targets[0])
    with torch.no_grad():
        _, gt_alpha = pred.repeat(M).render(Cameras(K[0], R, t, size, size), torch.ones(M, 3))
    masks = (gt_alpha > 0.5).float()[None]
    errors = {}
    for yaw in (-15.0, 30.0, 75.0):
        pred.camera = torch.tensor([[yaw, 10.0, 0.0, 3.0]])
        errors[yaw] = float(multiview_terms(pred, source, targets, K, torch.ones(1, M, size, size, 3), masks,
                                            torch.ones(1, M, 3))["mv_silhouette"])
    assert errors[-15.0] > 2 * errors[30.0] and errors[75.0] > 2 * errors[30.0]


def test_camera_and_mesh_terms_vanish_at_the_answer() -> None:
    p = torch.tensor([[170.0, 10.0, 0.0, 2.9]])
    assert float(camera_terms(p, p)["camera"]) == 0.0
    # Angles wrap: 179° vs -179° is a 2° error, not 358°.
    wrapped = camera_terms(torch.tensor([[179.0, 0, 0, 2.9]]), torch.tensor([[-179.0, 0, 0, 2.9]]))["camera"]
    assert float(wrapped) < 0.01
    template = SphereTemplate.build(2)
    terms = mesh_terms(_sphere_prediction(torch.tensor(0.7), template), template)
    assert float(terms["laplacian"]) < 1e-5 and float(terms["normal"]) < 0.05
    bumpy = _sphere_prediction(torch.tensor(0.7), template)
    noise = torch.rand(1, template.num_verts, 1, generator=torch.Generator().manual_seed(0))
    bumpy.verts = bumpy.verts * (1 + 0.2 * noise)
    worse = mesh_terms(bumpy, template)
    assert float(worse["laplacian"]) > 0.05 and float(worse["normal"]) > float(terms["normal"]) + 0.01


def test_network_refuses_wrong_inputs() -> None:
    from gan2d.errors import ConfigError, ShapeError

    with pytest.raises(ShapeError, match=r"\[B, 4, 16, 16\]"):
        _tiny().net(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ConfigError, match="texture_size"):
        InverseGraphicsConfig(texture_size=(8, 8))
    net = InverseGraphicsNet(InverseGraphicsConfig(num_verts=12, resolution=16, base_channels=4, max_channels=8,
                                                   texture_size=(8, 16)))
    assert InverseGraphicsConfig.from_dict(net.config.to_dict()) == net.config


def test_radial_offsets_move_vertices_along_the_template_normals() -> None:
    net = InverseGraphicsConfig(num_verts=162, offset_channels=1, resolution=16, base_channels=8, max_channels=16,
                                shape_dim=8, texture_dim=8, hidden=16, texture_size=(8, 16), texture_channels=16)
    model = InverseGraphicsModel(ModelConfig(net, level=2)).eval().requires_grad_(False)
    out = model.net(torch.randn(2, 4, 16, 16))
    assert out["offsets"].shape == (2, 162, 1)
    out["offsets"] = torch.randn(2, 162, 1)  # large: a linear displacement would turn vertices inside out
    out["placement"] = torch.zeros(2, 4)
    pred = model.decode(out, intrinsics_from_fov(30, 16, 16)[None].expand(2, 3, 3))
    # Every vertex stays on the ray of its template direction (log-radius: never through the centre).
    cos = torch.nn.functional.cosine_similarity(pred.verts, model.template.verts[None], dim=-1)
    assert float(cos.min()) > 0.9999


def test_moment_term_pulls_a_far_off_mesh_back() -> None:
    from tools.invgraphics.losses import moment_terms

    template = SphereTemplate.build(2)
    K = intrinsics_from_fov(35, 32, 32)[None]
    cams = Cameras(K, *orbit_extrinsics(torch.tensor([[0.0, 0.0, 0.0, 3.0]])), 32, 32)
    mask = torch.zeros(1, 32, 32)
    mask[:, 8:24, 8:24] = 1.0
    centred = _sphere_prediction(torch.tensor(0.5), template)
    shift = torch.tensor([2.5, 0.0, 0.0], requires_grad=True)
    far = _sphere_prediction(torch.tensor(0.5), template)
    far.verts = far.verts + shift  # out of the frame: no silhouette gradient at all
    loss = moment_terms(far, cams, mask)["moments"]
    loss.backward()
    assert float(loss) > 5 * float(moment_terms(centred, cams, mask)["moments"])
    assert float(shift.grad[0]) > 0  # descending moves it back toward x = 0
