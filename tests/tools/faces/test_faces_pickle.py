"""The faces job on an official-format StyleGAN2-ADA pickle a user brings (built like tests/gan2d/pkl_fixtures).

No FFHQ weights exist offline, so the pickle holds a small random generator and an image-statistics reader
stands in for the landmark estimator: "yaw" is the left-right brightness balance, "pitch" the top-bottom
one, both smooth functions of w. The job imports the pickle through the restricted unpickler, fits
directions, discovers layers, calibrates, and the closed loop must cut the error of the calibrated step.
"""

import json

import pytest
import torch

from gan2d.nets.stylegan2 import Generator, GeneratorConfig
from tests.gan2d.pkl_fixtures import dump_official_pickle, easydict, persistent, randomize
from tools.faces.bundle import load_models
from tools.faces.control import PoseControl
from tools.faces.job import FacesJob, run_faces
from tools.faces.readers import Reading

pytestmark = pytest.mark.usefixtures("one_thread")
CFG = GeneratorConfig(img_resolution=16, z_dim=8, w_dim=8, channel_base=128, channel_max=16, mapping_layers=2)


def balance_reader(images: torch.Tensor) -> Reading:
    """(yaw, pitch) ∝ (right − left, top − bottom) mean brightness; identity = mean color."""
    gray = images.mean(1)
    h = gray.shape[-1] // 2
    yaw = 200 * (gray[..., h:].mean((1, 2)) - gray[..., :h].mean((1, 2)))
    pitch = 200 * (gray[:, :h].mean((1, 2)) - gray[:, h:].mean((1, 2)))
    return Reading(torch.stack([yaw, pitch], 1), images.mean((2, 3)))


def _pickle(tmp_path):
    torch.manual_seed(0)
    G = randomize(Generator(CFG), seed=3)

    def data():
        kwargs = easydict(z_dim=8, w_dim=8, c_dim=0, img_resolution=16, img_channels=3,
                          mapping_kwargs=easydict(num_layers=2),
                          synthesis_kwargs=easydict(channel_base=128, channel_max=16, num_fp16_res=0, conv_clamp=None))
        return {"G": persistent(G, "", kwargs), "G_ema": persistent(G, "", kwargs), "D": None}

    path = tmp_path / "network-snapshot-ffhq.pkl"
    dump_official_pickle(path, data)
    return path


def test_faces_job_on_an_imported_pickle(tmp_path):
    path = _pickle(tmp_path)
    models = load_models(path, bundle=tmp_path / "no-bundle")
    assert models.control is None and "stylegan2-ada pickle" in models.source
    out = tmp_path / "run"
    out.mkdir()
    # Probe the reachable range first: requests inside it must be met.
    job = FacesJob(seeds=(1, 2), yaws=(0.0,), pitches=(0.0,), size=16, iterations=4, tolerance=0.05)
    run_faces(job, models, out, reader=balance_reader)
    control = json.loads((out / "control.json").read_text())
    yaw_cal = control["calibrations"]["direction"]["yaw"]["degrees"]
    lo, hi = yaw_cal[0], yaw_cal[-1]
    assert hi - lo > 2.0  # the directions do turn this generator's "pose"
    targets = (lo + 0.4 * (hi - lo), lo + 0.6 * (hi - lo))
    out2 = tmp_path / "run2"
    out2.mkdir()
    models.control = PoseControl.from_dict(control)
    errors = {}
    for iterations in (0, 6):
        job = FacesJob(seeds=(1, 2, 3, 4), yaws=targets, pitches=(0.0,), size=16, iterations=iterations,
                       tolerance=0.01)
        metrics = run_faces(job, models, out2, reader=balance_reader)
        views = json.loads((out2 / "poses.json").read_text())["views"]
        assert len(views) == 8 and {v["seed"] for v in views} == {1, 2, 3, 4}
        errors[iterations] = sorted(abs(v["yaw_measured"] - v["yaw"]) for v in views)
    # A random network is not disentangled (identities respond differently): the closed loop corrects it.
    assert sum(errors[6]) < 0.5 * sum(errors[0])
    assert errors[6][len(errors[6]) // 2] < 0.5 * errors[0][len(errors[0]) // 2]
    assert errors[6][0] < 0.05 * (hi - lo)
    assert metrics["calibrated_range"]["yaw"][0] == pytest.approx(lo, abs=0.5 * (hi - lo))
    # A control.json beside the pickle is picked up instead of fitting again.
    (tmp_path / (path.name + ".control.json")).write_text((out / "control.json").read_text())
    assert load_models(path, bundle=tmp_path / "no-bundle").control is not None
