"""The `condition` method: head-set pose labels, the pose-conditioned run config, `faces --method condition`
end to end on a tiny conditioned generator, and one-line refusals of the wrong kind of checkpoint."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gan2d.checkpoint import save_network
from gan2d.data.images import open_image_dataset
from gan2d.data.view_pairs import ViewPairDataset
from gan2d.nets.stylegan2 import Generator, GeneratorConfig
from tools.cli import main
from tools.faces.bundle import CONDITIONED, GENERATOR, WEIGHTS_DIR
from tools.faces.condition import is_pose_conditioned
from tools.faces.gan_run import FacesGANOptions, faces_gan_run
from tools.faces.headset import HeadSetConfig, generate_headset
from tools.faces.pose_labels import decode_pose, encode_pose, write_pose_labels

pytestmark = pytest.mark.usefixtures("one_thread")
VIEW_KEYS = {"file", "seed", "yaw", "pitch", "yaw_measured", "pitch_measured"}


def _tiny_conditioned(path):
    torch.manual_seed(0)
    cfg = GeneratorConfig(img_resolution=64, z_dim=8, w_dim=8, c_dim=2, view_layers=4, channel_base=64,
                          channel_max=8, mapping_layers=2)
    return save_network(path, Generator(cfg).eval())


def test_head_set_poses_become_labels_and_mirrors_negate_yaw(tmp_path):
    heads = tmp_path / "heads_gan"
    index = generate_headset(HeadSetConfig(identities=2, views=2, size=16, supersample=1, texture_size=32), heads,
                             progress=False)
    ds = open_image_dataset(write_pose_labels(heads), 16, xflip=True)
    assert ds.c_dim == 2 and len(ds) == 8
    truth = {e["file"]: (e["yaw"], e["pitch"]) for e in index["images"]}
    for i, name in enumerate(ds.names):
        yaw, pitch = decode_pose(ds[i][1][None])[0].tolist()
        assert yaw == pytest.approx(truth[name][0], abs=1e-3) and pitch == pytest.approx(truth[name][1], abs=1e-3)
        m_yaw, m_pitch = decode_pose(ds[i + len(ds.names)][1][None])[0].tolist()
        assert m_yaw == pytest.approx(-yaw, abs=1e-6) and m_pitch == pytest.approx(pitch, abs=1e-6)
    assert encode_pose(torch.tensor([[50.0, 25.0]])).tolist() == [[1.0, 1.0]]
    # The views of one head are one group: the view-pair discriminator's real pairs are two views of one head.
    head = {e["file"]: e["identity"] for e in index["images"]}
    pairs = ViewPairDataset(ds)
    for i, name in enumerate(ds.names):
        assert head[ds.names[pairs.partner[i]]] == head[name] and pairs.partner[i] != i


def test_pose_conditioned_run_config_and_the_default_one_unchanged():
    default = faces_gan_run("d", FacesGANOptions())
    assert default.G.c_dim == default.D.c_dim == 0 and "view_layers" not in default.G.to_dict()
    cond = faces_gan_run("d", FacesGANOptions(pose_conditioned=True))
    assert (cond.G.c_dim, cond.G.view_layers, cond.D.c_dim) == (2, 4, 2)
    assert {k: v for k, v in cond.G.to_dict().items() if k != "view_layers"} == {**default.G.to_dict(), "c_dim": 2}
    assert cond.loss.view_pair_weight == 0.0
    assert faces_gan_run("d", FacesGANOptions(pose_conditioned=True, view_pairs=0.5)).loss.view_pair_weight == 0.5


def test_faces_condition_end_to_end_on_a_tiny_generator(tmp_path, capsys):
    weights = _tiny_conditioned(tmp_path / "g.safetensors")
    out = tmp_path / "run"
    rc = main(["faces", "--method", "condition", "--weights", str(weights), "--seeds", "0-1", "--yaw=-20:20:3",
               "--pitch", "0", "--iterations", "1", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    views = json.loads((out / "poses.json").read_text())["views"]
    assert len(views) == 6 and all(set(v) == VIEW_KEYS and (out / v["file"]).is_file() for v in views)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["method"] == "condition" and metrics["pose_error"]["n"] == 6
    assert (out / "grid_seed0000.png").is_file() and json.loads((out / "config.json").read_text())["weights"]


def test_wrong_kind_of_checkpoint_exits_2_with_one_line(tmp_path, capsys):
    cond = _tiny_conditioned(tmp_path / "g.safetensors")
    from gan2d.checkpoint import load_network

    assert is_pose_conditioned(load_network(cond)) and not is_pose_conditioned(load_network(WEIGHTS_DIR / GENERATOR))
    cases = [(["--method", "condition", "--weights", str(WEIGHTS_DIR / GENERATOR)], "not a pose-conditioned"),
             (["--method", "condition", "--from-photo", str(WEIGHTS_DIR / "MODEL_CARD.md")], "MODEL_CARD.md"),
             (["--method", "direction", "--weights", str(cond)], "conditional generator")]
    for k, (args, match) in enumerate(cases):
        rc = main(["faces", "--seeds", "0", "--yaw", "0", "--out", str(tmp_path / f"o{k}"), *args])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and match in err and len(err.splitlines()) == 1, err
        assert not (tmp_path / f"o{k}").exists()


def test_train_faces_pose_conditioned_refuses_the_default_bundle_stages(tmp_path, capsys):
    rc = main(["train", "faces", "--out", str(tmp_path / "run"), "--view-pairs", "1"])
    assert rc == 2 and "needs --pose-conditioned" in capsys.readouterr().err
    for args, match in [(["--export", str(tmp_path / "w")], "--export writes the unconditioned bundle"),
                        (["--stage", "control"], "is for the unconditioned generator"),
                        (["--view-pairs", "-1"], "--view-pairs must be >= 0"),
                        (["--view-identity", "1"], "needs --view-pairs and --identity-critic"),
                        (["--view-pairs", "1", "--view-identity", "1", "--identity-critic",
                          str(tmp_path / "none.safetensors")], "not found"),
                        (["--start-from", str(tmp_path / "nowhere")], "no generator snapshot there"),
                        (["--view-pairs", "1", "--view-pose", "1"], "--view-pose must be >= 0 and needs"),
                        (["--lr", "0"], "--lr must be in (0, 1]"),
                        (["--view-head-only"], "--view-head-only fine-tunes a trained pose-conditioned generator"),
                        (["--analyzer-contrastive", "-1"], "--analyzer-contrastive must be >= 0"),
                        (["--analyzer-channels", "0"], "--analyzer-channels must be >= 1"),
                        (["--analyzer-batch", "4"], "--analyzer-batch must be >= 8")]:
        rc = main(["train", "faces", "--out", str(tmp_path / "run"), "--pose-conditioned", *args])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and match in err and len(err.splitlines()) == 1, err


def test_default_method_is_condition_with_the_embedded_conditioned_generator(tmp_path, capsys):
    # The shipped pose-conditioned generator turns the head over ±40°: the closed loop reaches each request
    # within 3° by the analyzer (its held-out noise floor is 0.8-2.8° per bin), and the views really differ.
    out = tmp_path / "run"
    rc = main(["faces", "--seeds", "2", "--yaw=-40:40:3", "--pitch", "0", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["method"] == "condition" and config["weights"].endswith(CONDITIONED)
    views = json.loads((out / "poses.json").read_text())["views"]
    assert sorted(v["yaw"] for v in views) == [-40.0, 0.0, 40.0]
    for v in views:
        assert abs(v["yaw_measured"] - v["yaw"]) < 3.0 and abs(v["pitch_measured"]) < 3.0
    left, right = (np.asarray(Image.open(out / v["file"]), dtype=np.float32) for v in views if abs(v["yaw"]) == 40)
    assert np.abs(left - right).mean() > 5.0  # a ±40° pair is two different views, not one image


def test_auto_method_picks_direction_for_a_w_space_checkpoint(tmp_path, capsys):
    from tools.faces.cli import Method, _resolve_method

    cond = _tiny_conditioned(tmp_path / "g.safetensors")
    assert _resolve_method(Method.auto, None) == Method.condition  # with or without --from-photo
    assert _resolve_method(Method.auto, cond) == Method.condition
    assert _resolve_method(Method.auto, WEIGHTS_DIR / GENERATOR) == Method.direction
    assert _resolve_method(Method.mixing, None) == Method.mixing


def test_identity_embedding_is_scaled_to_the_spread_of_real_heads(tmp_path):
    from tools.faces.bundle import ANALYZER
    from tools.faces.metrics import identity_spread
    from tools.faces.train import identity_embedding

    heads = tmp_path / "heads"
    generate_headset(HeadSetConfig(identities=6, views=2, size=64, supersample=1, texture_size=32), heads,
                     progress=False)
    emb = identity_embedding(WEIGHTS_DIR / ANALYZER, heads / "images", 64)
    ds = open_image_dataset(heads / "images", 64)
    images = torch.stack([ds.image(i) for i in range(ds.num_images)])
    with torch.no_grad():
        e = emb(images)
    assert identity_spread(e) == pytest.approx(1.0, rel=1e-4)
    assert not any(p.requires_grad for p in emb.parameters())


def test_start_snapshot_takes_a_generator_file_a_snapshot_or_a_run(tmp_path):
    from tools.errors import ToolError
    from tools.faces.train import start_snapshot

    shipped = WEIGHTS_DIR / CONDITIONED
    assert start_snapshot(shipped) == shipped
    snap = tmp_path / "run" / "gan" / "checkpoints" / "snapshot-000000016"
    snap.mkdir(parents=True)
    (snap / "G.safetensors").write_bytes(b"")
    (snap / "training_state.pt").write_bytes(b"")
    (snap.parent / "latest").write_text(snap.name + "\n")
    assert start_snapshot(snap) == snap and start_snapshot(tmp_path / "run") == snap
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ToolError, match="no generator snapshot there"):
        start_snapshot(tmp_path / "notes.txt")
