"""Photo inversion into a pose-conditioned generator: samples at random labels, the view label held at the
photo's pose, and `faces --method condition --from-photo`'s job on a tiny generator."""

import json
import shutil

import pytest
import torch

from gan2d.checkpoint import load_network, save_network
from gan2d.nets.stylegan2 import Generator, GeneratorConfig
from tools.faces.bundle import ANALYZER, CONDITIONED, INVERTER_CONDITION, WEIGHTS_DIR
from tools.faces.condition import render_pose
from tools.faces.condition_job import ConditionJob, run_condition
from tools.faces.invert import InverterTrainConfig, invert, inverter_scores, sample_pairs, save_inverter, train_inverter

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny(path=None):
    torch.manual_seed(0)
    cfg = GeneratorConfig(img_resolution=64, z_dim=8, w_dim=8, c_dim=2, view_layers=4, channel_base=64,
                          channel_max=8, mapping_layers=2)
    G = Generator(cfg).eval()
    return G if path is None else save_network(path, G)


def test_samples_are_rendered_at_their_random_labels():
    G = _tiny()
    w, pose, images = sample_pairs(G, 6, seed=3, psi=0.7, g=torch.Generator().manual_seed(1))
    assert w.shape == (6, 8) and pose.shape == (6, 2)
    assert pose[:, 0].abs().max() <= 50 and pose[:, 1].abs().max() <= 25 and pose.std(0).min() > 1.0
    ws = w[:, None].expand(-1, G.num_ws, -1)
    torch.testing.assert_close(images, render_pose(G, ws, pose).clamp(-1, 1), rtol=0, atol=1e-6)


def test_inversion_holds_the_label_at_the_photos_pose():
    G = load_network(WEIGHTS_DIR / CONDITIONED).eval()  # the shipped generator: its label really turns the head
    w, _, _ = sample_pairs(G, 1, seed=5, psi=0.7, g=torch.Generator().manual_seed(2))
    pose = torch.tensor([[35.0, 10.0], [-35.0, -10.0]])
    target = render_pose(G, w[:, None].expand(-1, G.num_ws, -1), pose[:1])
    right = invert(G, target, None, None, steps=60, lr=0.05, pose=pose[:1])
    wrong = invert(G, target, None, None, steps=60, lr=0.05, pose=pose[1:])
    assert right.pose == pytest.approx((35.0, 10.0)) and right.l1 < right.encoder_l1
    assert right.l1 < wrong.l1  # the same optimization at the wrong view label cannot reach the photo
    # label-free styles come back: every layer the same w
    assert torch.equal(right.ws[:, 0], right.ws[:, -1])


def test_conditioned_inverter_trains_and_the_photo_job_writes_its_views(tmp_path):
    from tools.faces.headset import HeadSetConfig, generate_headset

    weights = _tiny(tmp_path / "g.safetensors")
    G = load_network(weights).eval()
    inverter = train_inverter(G, InverterTrainConfig(pool=64, steps=30, batch=16, base_channels=4, max_channels=16),
                              progress=False)
    scores = inverter_scores(G, inverter, n=8, refine=2)
    assert scores["refine_l1_after"] <= scores["refine_l1_before"]
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    shutil.copyfile(WEIGHTS_DIR / ANALYZER, bundle / ANALYZER)
    save_inverter(bundle / INVERTER_CONDITION, inverter)
    generate_headset(HeadSetConfig(identities=1, views=1, size=64, seed=77), tmp_path / "hs", progress=False)
    photo = next((tmp_path / "hs" / "images").iterdir())
    job = ConditionJob(seeds=(), yaws=(-20.0, 20.0), pitches=(0.0,), weights=str(weights), iterations=1,
                       photo=str(photo))
    metrics, _ = run_condition(job, "analyzer", tmp_path / "out", bundle=bundle)
    out = tmp_path / "out"
    views = json.loads((out / "poses.json").read_text())["views"]
    assert [v["seed"] for v in views] == [None, None] and all((out / v["file"]).is_file() for v in views)
    assert (out / "photo_input.png").is_file() and (out / "photo_reconstruction.png").is_file()
    inv = metrics["inversion"]
    assert inv["l1_optimized"] <= inv["l1_encoder"] and inv["face_score"] > 0.5
    truth = json.loads((tmp_path / "hs" / "labels.json").read_text())["images"][0]
    assert abs(inv["photo_pose"][0] - truth["yaw"]) < 8.0  # the analyzer's reading of the rendered head's yaw
