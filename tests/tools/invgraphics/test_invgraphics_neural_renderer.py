"""The attribute mapping (StyleGAN-R) on a tiny generator: shapes, start at w_avg, a learned round trip."""

from __future__ import annotations

import pytest
import torch

from gan2d.errors import ConfigError, ShapeError
from gan2d.nets.attribute_mapping import AttributeMapping, AttributeMappingConfig
from gan2d.nets.invgraphics import InverseGraphicsConfig
from gan2d.nets.stylegan2 import Generator, GeneratorConfig
from gan2d.train.config import TrainConfig
from tools.invgraphics.model import InverseGraphicsModel, ModelConfig
from tools.invgraphics.neural_renderer import (
    NeuralRenderer,
    NeuralRendererSettings,
    NeuralRendererTask,
    build_mapping,
    soft_key_mask,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny_setup() -> tuple[Generator, InverseGraphicsModel]:
    torch.manual_seed(0)
    G = Generator(GeneratorConfig(img_resolution=16, z_dim=16, w_dim=16, channel_base=256, channel_max=16)).eval()
    with torch.no_grad():
        G.mapping.w_avg.copy_(G.mapping(torch.randn(4096, 16), None)[:, 0].mean(0))
    net = InverseGraphicsConfig(num_verts=162, resolution=16, base_channels=8, max_channels=16, shape_dim=8,
                                texture_dim=8, hidden=16, texture_size=(8, 16), texture_channels=16)
    IG = InverseGraphicsModel(ModelConfig(net, level=2)).eval()
    with torch.no_grad():  # an untrained encoder's heads start near 0; make its codes tell images apart
        for head in IG.net.trunk.heads.values():
            head.weight.mul_(30.0)
    return G, IG



def _train(task, steps: int = 40) -> dict:
    """`steps` optimizer steps of the mapping task's loss (seeded per step); returns the last step's stats."""
    opt = task.optimizers["M"]
    for step in range(steps):
        torch.manual_seed(step)
        opt.zero_grad()
        loss, stats = task._main((torch.arange(8),))
        loss.backward()
        opt.step()
    return stats

def test_mapping_shapes_and_untrained_output_is_the_average_w() -> None:
    G, IG = _tiny_setup()
    M = build_mapping(G, IG, camera_layers=2, hidden=32)
    ws = M(torch.randn(3, 8), torch.randn(3, 8), torch.randn(3, 4))
    assert ws.shape == (3, G.num_ws, G.w_dim)
    assert torch.allclose(ws, G.mapping.w_avg.expand_as(ws))
    nr = NeuralRenderer(G, M, IG)
    camera, shape, texture = nr.encode(torch.rand(3, 3, 16, 16) * 2 - 1)
    assert camera.shape == (3, 4) and shape.shape == (3, 8) and texture.shape == (3, 8)
    assert nr.render(camera, shape, texture).shape == (3, 3, 16, 16)
    with pytest.raises(ShapeError, match="camera"):
        M(torch.zeros(3, 8), torch.zeros(3, 8), torch.zeros(3, 5))
    with pytest.raises(ConfigError, match="camera_layers"):
        AttributeMappingConfig(num_ws=4, camera_layers=4)
    assert AttributeMapping(AttributeMappingConfig.from_dict(M.config.to_dict())).config == M.config


def test_soft_key_mask_keys_out_the_plain_background() -> None:
    img = torch.full((1, 3, 8, 8), 0.84)  # 0.92 in [0, 1]
    img[:, :, 2:6, 2:6] = -0.4
    m = soft_key_mask(img, (0.92, 0.92, 0.92), 0.06)
    assert float(m[0, 2:6, 2:6].min()) == 1.0 and float(m.sum()) == 16.0


def test_mapping_learns_the_round_trip_through_generator_and_encoder() -> None:
    G, IG = _tiny_setup()
    M = build_mapping(G, IG, camera_layers=2, hidden=64)
    task = NeuralRendererTask(G, IG, M, TrainConfig(lr_g=1e-2, betas_g=(0.9, 0.99)),
                              NeuralRendererSettings(background=(0.5, 0.5, 0.5)))
    z = torch.randn(64, 16, generator=torch.Generator().manual_seed(5))

    def round_trip() -> tuple[float, float]:
        with torch.no_grad():
            ws = G.mapping(z, None, truncation_psi=0.7)
            x = G.synthesis(ws, noise_mode="const")
            nr = NeuralRenderer(G, M, IG, task.settings)
            back = nr.ws(*nr.encode(x))
            latent = float((((back - ws) / task.w_std[None, :, None]) ** 2).mean())
            return latent, float((G.synthesis(back, noise_mode="const") - x).abs().mean())

    before = round_trip()
    _train(task)
    after = round_trip()
    assert after[0] < 0.3 * before[0] and after[1] < 0.6 * before[1]
    assert task.samples().shape == (6 * 6, 3, 16, 16)


def test_check_pair_refuses_another_generator_and_notes_another_encoder(tmp_path) -> None:
    from tools.errors import ToolError
    from tools.invgraphics.neural_renderer_train import _digest, check_pair

    g_old, g_new, enc, enc2 = (tmp_path / n for n in ("g_old.safetensors", "g_new.safetensors", "e.st", "e2.st"))
    for i, p in enumerate((g_old, g_new, enc, enc2)):
        p.write_bytes(bytes([i]) * 64)
    extra = {"generator_sha256_16": _digest(g_old), "encoder_sha256_16": _digest(enc)}
    assert check_pair(extra, g_old, enc) == []
    notes = check_pair(extra, g_old, enc2)
    assert len(notes) == 1 and "encoder" in notes[0]
    with pytest.raises(ToolError, match=f"{_digest(g_old)}.*{_digest(g_new)}.*train neural-renderer"):
        check_pair(extra, g_new, enc)
    assert "record no generator" in check_pair({}, g_new, enc)[0]


def _tiny_conditioned() -> Generator:
    torch.manual_seed(0)
    G = Generator(GeneratorConfig(img_resolution=16, z_dim=16, w_dim=16, c_dim=2, view_layers=2, channel_base=256,
                                  channel_max=16)).eval()
    with torch.no_grad():
        G.mapping.w_avg.copy_(G.mapping.shared(torch.randn(4096, 16), None)[:, 0].mean(0))
    return G


def test_conditioned_renderer_passes_the_requested_pose_as_the_label_and_keeps_later_styles() -> None:
    from tools.faces.condition import is_pose_conditioned
    from tools.faces.pose_labels import encode_pose

    G, (_, IG) = _tiny_conditioned(), _tiny_setup()
    assert is_pose_conditioned(G)
    M = build_mapping(G, IG, camera_layers=3, hidden=32)
    assert M.label_free and M.config.camera_layers == 0 and M.config.camera_dim == 0
    with torch.no_grad():  # a mapping that is not the average, so that styles differ between identities
        for p in M.parameters():
            p.normal_(0, 0.1)
    nr = NeuralRenderer(G, M, IG)
    seen = []
    view = G.mapping.view
    G.mapping.view = lambda ws, c: seen.append(c) or view(ws, c)
    shape, texture = torch.randn(2, 8), torch.randn(2, 8)
    cam_a = torch.tensor([[-30.0, 5.0, 0.0, 2.7], [10.0, -8.0, 0.0, 2.7]])
    cam_b = torch.tensor([[40.0, 0.0, 3.0, 3.1], [-40.0, 12.0, -2.0, 2.2]])
    a, b = nr.ws(cam_a, shape, texture), nr.ws(cam_b, shape, texture)
    assert torch.equal(seen[0], encode_pose(cam_a[:, :2])) and torch.equal(seen[1], encode_pose(cam_b[:, :2]))
    assert torch.equal(a[:, 2:], b[:, 2:]) and not torch.allclose(a[:, :2], b[:, :2])
    assert torch.equal(a[:, 2:], M(shape, texture)[:, 2:])  # later styles: the mapping's label-free identity
    assert nr.render(cam_a, shape, texture).shape == (2, 3, 16, 16)
    with pytest.raises(ShapeError, match="label-free"):
        M(shape, texture, torch.zeros(2, 4))


def test_a_mapping_of_the_other_kind_is_refused() -> None:
    from tools.errors import ToolError

    G, IG = _tiny_setup()
    Gc = _tiny_conditioned()
    with pytest.raises(ToolError, match=r"label-free.*not pose-conditioned"):
        NeuralRenderer(G, build_mapping(Gc, IG), IG)
    with pytest.raises(ToolError, match=r"camera head.*is pose-conditioned"):
        NeuralRenderer(Gc, build_mapping(G, IG, camera_layers=2), IG)
    with pytest.raises(ConfigError, match="camera_dim"):
        AttributeMappingConfig(camera_dim=4, num_ws=4, camera_layers=0)


def test_label_free_mapping_learns_the_round_trip_of_a_pose_conditioned_generator() -> None:
    from tools.faces.pose_labels import encode_pose

    G, (_, IG) = _tiny_conditioned(), _tiny_setup()
    M = build_mapping(G, IG, hidden=64)
    task = NeuralRendererTask(G, IG, M, TrainConfig(lr_g=1e-2, betas_g=(0.9, 0.99)),
                              NeuralRendererSettings(background=(0.5, 0.5, 0.5)))
    z = torch.randn(64, 16, generator=torch.Generator().manual_seed(5))
    pose = torch.stack([torch.linspace(-40, 40, 64), torch.linspace(10, -10, 64)], 1)

    def round_trip() -> tuple[float, float]:
        with torch.no_grad():
            ws = G.mapping.shared(z, None, truncation_psi=0.7)
            x = G.synthesis(G.mapping.view(ws, encode_pose(pose)), noise_mode="const")
            nr = NeuralRenderer(G, M, IG, task.settings)
            camera, shape, texture = nr.encode(x)
            back = nr.styles(camera, shape, texture)
            latent = float((((back - ws) / task.w_std[None, :, None]) ** 2).mean())
            image = G.synthesis(G.mapping.view(back, encode_pose(pose)), noise_mode="const")
            return latent, float((image - x).abs().mean())

    before = round_trip()
    stats = _train(task)
    after = round_trip()
    assert after[0] < 0.3 * before[0] and after[1] < 0.6 * before[1], (before, after)
    assert set(stats) >= {"latent", "image", "camera", "codes"}
    assert task.samples().shape == (6 * 6, 3, 16, 16)


def test_two_runs_of_one_command_train_the_same_mapping(tmp_path) -> None:
    from dataclasses import replace

    from safetensors.torch import load_file

    from gan2d.checkpoint import save_network
    from tools.invgraphics.neural_renderer_train import NeuralRendererRun, default_loop, run_training
    from tools.invgraphics.weights import save_model

    G, (_, IG) = _tiny_conditioned(), _tiny_setup()
    save_network(tmp_path / "g.safetensors", G)
    save_model(tmp_path / "e.safetensors", IG, {})
    loop = replace(default_loop(), total_kimg=0.016, batch_size=4, progress=False, sample_every_kimg=100.0)
    run = NeuralRendererRun(str(tmp_path / "g.safetensors"), str(tmp_path / "e.safetensors"), hidden=16, loop=loop,
                            settings=NeuralRendererSettings(background=(0.5, 0.5, 0.5)))
    weights = []
    for seed, name in ((1, "a"), (2, "b")):
        torch.manual_seed(seed)  # the process's RNG state before the run must not matter
        result = run_training(run, tmp_path / name)
        weights.append(load_file(result.last_snapshot / "M_ema.safetensors"))
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_exported_mapping_names_shipped_files_relative_to_the_project(tmp_path) -> None:
    import json

    from tools.invgraphics.neural_renderer_train import PROJECT_ROOT, export_mapping, recorded_path
    from tools.invgraphics.weights import DEFAULT_WEIGHTS

    assert DEFAULT_WEIGHTS.is_absolute()
    assert recorded_path(str(DEFAULT_WEIGHTS)) == "tools/invgraphics/weights/invgraphics.safetensors"
    assert (PROJECT_ROOT / recorded_path(str(DEFAULT_WEIGHTS))).is_file()
    assert recorded_path(str(tmp_path / "g.safetensors")) == str(tmp_path / "g.safetensors")

    test_two_runs_of_one_command_train_the_same_mapping(tmp_path)
    dest = tmp_path / "w" / "nr.safetensors"
    export_mapping(tmp_path / "a", dest)
    run = json.loads(dest.with_suffix(".json").read_text())["train_run"]
    assert run["generator"] == str(tmp_path / "g.safetensors") and run["encoder"] == str(tmp_path / "e.safetensors")


class _Critic(torch.nn.Module):
    """Reads every image as the pose `reading` `[2]` (yaw, pitch) degrees."""

    def __init__(self, reading: tuple[float, float]) -> None:
        super().__init__()
        self.reading = torch.tensor(reading)

    def pose(self, images: torch.Tensor) -> torch.Tensor:
        return self.reading.expand(images.shape[0], 2)


def test_pose_critic_term_is_the_critics_error_at_the_requested_cameras(monkeypatch) -> None:
    import torch.nn.functional as F

    from tools.errors import ToolError
    from tools.invgraphics import neural_renderer

    G, (_, IG) = _tiny_conditioned(), _tiny_setup()
    settings = NeuralRendererSettings(background=(0.5, 0.5, 0.5), w_pose=2.0)
    want = torch.tensor([[30.0, 10.0, 0.0, 2.7]] * 4 + [[-20.0, 0.0, 0.0, 2.7]] * 4)
    monkeypatch.setattr(neural_renderer, "random_cameras", lambda n, s, distance: want)
    frontal = F.smooth_l1_loss(want[:, :2] / 10, torch.zeros(8, 2))
    for reading, expected in (((30.0, 10.0), None), ((0.0, 0.0), frontal)):
        task = NeuralRendererTask(G, IG, build_mapping(G, IG, hidden=32), TrainConfig(), settings,
                                  pose_critic=_Critic(reading))
        torch.manual_seed(0)
        loss, stats = task._main((torch.arange(8),))
        rest = sum(w * stats[k] for w, k in ((1.0, "latent"), (1.0, "image"), (1.0, "camera"), (0.5, "codes")))
        if expected is None:  # right on the first four; 50° off in yaw and 10° in pitch on the last four
            expected = F.smooth_l1_loss(torch.tensor([[0.0, 0.0]] * 4 + [[5.0, 1.0]] * 4), torch.zeros(8, 2))
        assert float(stats["pose"]) == pytest.approx(float(expected))
        assert float(loss.detach()) == pytest.approx(float(rest + 2.0 * stats["pose"]), rel=1e-5)
    with pytest.raises(ToolError, match="pose critic"):
        NeuralRendererTask(G, IG, build_mapping(G, IG, hidden=32), TrainConfig(), settings)
