"""Range parsing, pose/identity metrics, the landmark PnP math, analyzer and inverter checkpoints."""

import math

import numpy as np
import pytest
import torch

from gan2d.checkpoint import save_checkpoint
from gan2d.errors import CheckpointError
from gan2d.nets.regressor import MultiHeadEncoder
from tools.errors import ToolError
from tools.faces.analyzer import HeadAnalyzer, analyzer_config, load_analyzer, save_analyzer
from tools.faces.job import FacesJob, parse_values
from tools.faces.landmarks import MODEL_POINTS, LandmarksUnavailable, landmark_reader, pose_from_points
from tools.faces.metrics import binned_errors, identity_drift, pose_summary
from tools.faces.outputs import view_name

pytestmark = pytest.mark.usefixtures("one_thread")


def test_parse_values_ranges_singles_and_errors():
    assert parse_values("-40:40:9", "--yaw", 180) == [-40.0, -30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0, 40.0]
    assert parse_values("-15:15:3", "--pitch", 89) == [-15.0, 0.0, 15.0]
    assert parse_values("12.5", "--yaw", 180) == [12.5]
    assert parse_values("5:5:1", "--yaw", 180) == [5.0]
    for bad in ("", "a:b:3", "-40:40", "-40:40:0", "1:2:1", "0:10:5000", "nan", "-40:40:2.5", "1e400"):
        with pytest.raises(ToolError):
            parse_values(bad, "--yaw", 180)
    with pytest.raises(ToolError, match="within"):
        parse_values("-200:0:3", "--yaw", 180)


def test_job_validation():
    ok = dict(seeds=(0,), yaws=(0.0,), pitches=(0.0,))
    FacesJob(**ok)
    for bad in ({"method": "warp"}, {"truncation": float("nan")}, {"truncation": 2.0}, {"size": 8}, {"seeds": ()}):
        with pytest.raises(ToolError):
            FacesJob(**{**ok, **bad})


def test_pose_bins_and_identity_drift():
    req = torch.tensor([[-40.0, 0.0], [-35.0, 5.0], [0.0, 0.0], [40.0, -15.0]])
    meas = req + torch.tensor([[1.0, 0.5], [3.0, 0.5], [-2.0, 1.0], [0.5, -4.0]])
    bins = binned_errors(req, meas)
    assert [b["yaw_bin"] for b in bins] == [[-45, -35], [-35, -25], [-5, 5], [35, 45]]
    assert bins[0]["n"] == 1 and bins[0]["yaw_median_abs"] == pytest.approx(1.0)
    summary = pose_summary(req, meas)
    assert summary["worst_bin_median_abs"] == pytest.approx(4.0)
    views = torch.randn(5, 1, 8, generator=torch.Generator().manual_seed(0)) * 3
    assert identity_drift(views.expand(5, 6, 8))["drift"] == pytest.approx(0.0, abs=1e-6)
    noisy = views + 0.3 * torch.randn(5, 6, 8, generator=torch.Generator().manual_seed(1))
    d = identity_drift(noisy, between=3 * math.sqrt(8))
    assert 0.05 < d["drift"] < 0.15


def _project(yaw: float, pitch: float, size: int = 256) -> np.ndarray:
    """Project the generic face seen by a camera at (yaw, pitch) around the head center (data-engine convention)."""
    from render3d.cameras import look_at, orbit_eyes
    from tools.faces.landmarks import HEAD_CENTER

    center = torch.tensor(HEAD_CENTER, dtype=torch.float32)
    eye = orbit_eyes(center, 4000.0, [yaw], pitch)
    R, t = look_at(eye, center[None])
    cam = torch.tensor(MODEL_POINTS, dtype=torch.float32) @ R[0].T + t[0]
    K = torch.tensor([[size, 0.0, size / 2], [0.0, size, size / 2], [0.0, 0.0, 1.0]])
    uv = cam @ K.T
    return (uv[:, :2] / uv[:, 2:]).double().numpy()


@pytest.mark.parametrize("yaw,pitch", [(0.0, 0.0), (30.0, 0.0), (-25.0, 10.0), (40.0, -15.0)])
def test_landmark_pnp_recovers_the_camera_pose(yaw, pitch):
    got = pose_from_points(_project(yaw, pitch), 256, 256)
    assert got[0] == pytest.approx(yaw, abs=0.5) and got[1] == pytest.approx(pitch, abs=0.5)


def test_landmark_reader_says_how_to_install_when_missing():
    try:
        landmark_reader()
    except LandmarksUnavailable as e:
        assert "mediapipe 0.10.21" in str(e) and "protobuf<5" in str(e)
    else:
        pytest.skip("a working mediapipe is installed")


def test_analyzer_checkpoint_round_trip_and_refusals(tmp_path):
    a = HeadAnalyzer(MultiHeadEncoder(analyzer_config(resolution=16, base_channels=4, max_channels=8)),
                     code_mean=torch.arange(24.0), code_std=torch.ones(24) * 2).eval()
    path = save_analyzer(tmp_path / "a.safetensors", a, {"scores": {"noise_floor": {"yaw_median_abs": 1.0}}})
    b, extra = load_analyzer(path)
    x = torch.rand(2, 3, 32, 32) * 2 - 1  # resampled to the analyzer's 16²
    assert torch.allclose(a.pose(x), b.pose(x)) and extra["scores"]["noise_floor"]["yaw_median_abs"] == 1.0
    save_checkpoint(tmp_path / "other.safetensors", "stylegan2.generator", {}, {"w": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="not a head analyzer"):
        load_analyzer(tmp_path / "other.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_analyzer(tmp_path / "bad.safetensors")


def test_flip_test_reads_a_mirror_as_the_same_head_at_the_negated_yaw(tmp_path):
    torch.manual_seed(0)
    a = HeadAnalyzer(MultiHeadEncoder(analyzer_config(resolution=16, base_channels=4, max_channels=8))).eval()
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    plain = a(x)
    a.flip_test = True
    out, mirrored = a(x), a(x.flip(-1))
    # A mirror swaps the two halves of the batch the encoder sees: same sums, up to per-sample conv rounding.
    assert torch.allclose(mirrored["identity"], out["identity"], atol=1e-5)
    assert torch.allclose(mirrored["pose"], out["pose"] * torch.tensor([-1.0, 1.0]), atol=1e-5)
    expected = 0.5 * (plain["identity"] + a.encoder(x.flip(-1))["identity"])
    assert torch.allclose(out["identity"], expected, atol=1e-5)
    assert not torch.allclose(out["identity"], plain["identity"], atol=1e-3)  # the mirror does change the reading
    b, _ = load_analyzer(save_analyzer(tmp_path / "f.safetensors", a))
    assert b.flip_test and torch.allclose(b(x)["pose"], out["pose"])


def test_view_names():
    assert view_name(7, -40.0, 15.0) == "seed0007_yaw-40_pitch+15.png"
    assert view_name(None, 2.5, 0.0) == "photo_yaw+2.5_pitch+0.png"


def test_landmark_reader_on_rendered_heads():
    """With a working mediapipe (an environment with protobuf<5), landmarks turn with the head."""
    try:
        reader = landmark_reader()
    except LandmarksUnavailable as e:
        pytest.skip(str(e))
    from scenes.assets import HeadParams
    from scenes.build import build_scene
    from scenes.render import render_built
    from tools.faces.headset import head_scene

    spec = head_scene(HeadParams(seed=5), [(-30.0, 0.0), (0.0, 0.0), (30.0, 0.0)], (0.0, 30.0, 0.7, 0.35), 256, 1)
    rgb = render_built(build_scene(spec), spec).rgb.permute(0, 3, 1, 2) * 2 - 1
    yaw = reader(rgb).pose[:, 0]
    assert yaw[0] < -10 < 10 < yaw[2] and abs(float(yaw[1])) < 12  # biased on procedural heads, never flipped


def test_views_that_miss_their_request_inside_the_range_are_warned_once():
    from tools.faces.run import missed_warnings

    def view(seed, yaw, got):
        return {"file": "x.png", "seed": seed, "yaw": yaw, "pitch": 0.0, "yaw_measured": got, "pitch_measured": 0.4}

    views = [view(0, -10.0, -9.0), view(0, 0.0, 7.5), view(None, 5.0, 25.0), view(1, 80.0, 6.0)]
    outside = [{"seed": 1, "yaw": 80.0, "pitch": 0.0, "yaw_measured": 6.0, "pitch_measured": 0.4}]
    (line,) = missed_warnings(views, outside)
    assert line.startswith("2 of 3 views inside the calibrated range") and "worst 20.0°: photo" in line
    assert missed_warnings(views[:1], []) == []


def test_pair_contrastive_matches_its_closed_form_and_prefers_true_partners():
    from tools.faces.analyzer_train import pair_contrastive

    a = torch.eye(3) * 5.0  # cosine similarity: 1 with the partner, 0 with the others
    expected = math.log(1 + 2 * math.exp(-1 / 0.1))
    assert float(pair_contrastive(a, a, 0.1)) == pytest.approx(expected, abs=1e-6)  # float32 log-softmax near 0
    wrong = float(pair_contrastive(a, a.roll(1, 0), 0.1))  # every partner is another head's view
    assert wrong == pytest.approx(math.log(2 + math.exp(1 / 0.1)), rel=1e-5)
