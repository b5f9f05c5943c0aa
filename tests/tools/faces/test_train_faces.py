"""`train faces`: the generator stage resumes bit-exactly after a kill, a file start warms up only a fresh D; the
analyzer learns pose (slow)."""

import copy
import dataclasses
import shutil

import pytest
import torch
from safetensors.torch import load_file

from gan2d.nets.stylegan2 import Discriminator, Generator
from gan2d.train.snapshot import load_networks
from tools.errors import ToolError
from tools.faces.analyzer_data import background_negatives, load_head_arrays
from tools.faces.analyzer_train import AnalyzerTrainConfig, evaluate_analyzer, train_analyzer
from tools.faces.bundle import CONDITIONED, WEIGHTS_DIR
from tools.faces.gan_run import FILE_START_WARMUP_KIMG, FacesGANOptions, faces_gan_run
from tools.faces.headset import HeadSetConfig, generate_headset
from tools.faces.train import FacesTrainOptions, stage_gan

pytestmark = pytest.mark.usefixtures("one_thread")


def _opts(kimg: float) -> FacesTrainOptions:
    gan = FacesGANOptions(resolution=16, kimg=kimg, batch=4, channel_base=64, channel_max=16, latent_dim=8,
                          sample_kimg=0.016, snap_kimg=0.008, progress=False)
    return FacesTrainOptions(size=16, identities=3, gan=gan)


def test_generator_stage_resumes_bit_exactly(tmp_path):
    data = tmp_path / "a" / "heads_gan"
    generate_headset(HeadSetConfig(identities=3, views=2, size=16, supersample=1, texture_size=32), data,
                     progress=False)
    shutil.copytree(data, tmp_path / "b" / "heads_gan")
    stage_gan(tmp_path / "a", _opts(0.016))  # uninterrupted: 4 steps
    stage_gan(tmp_path / "b", _opts(0.008))  # killed after 2 steps ...
    stage_gan(tmp_path / "b", _opts(0.016))  # ... and resumed
    a = load_file(tmp_path / "a" / "gan" / "checkpoints" / "snapshot-000000016" / "G_ema.safetensors")
    b = load_file(tmp_path / "b" / "gan" / "checkpoints" / "snapshot-000000016" / "G_ema.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    other = FacesTrainOptions(size=16, identities=3, gan=FacesGANOptions(**{**_opts(0.016).gan.__dict__,
                                                                            "channel_base": 128}))
    with pytest.raises(ToolError, match="other settings"):
        stage_gan(tmp_path / "b", other)


def test_a_file_start_warms_up_a_fresh_discriminator_but_not_one_shipped_beside_it(tmp_path):
    gen = tmp_path / "generator.safetensors"
    gen.write_bytes(b"")  # only the names matter here
    assert FacesGANOptions(start_from=str(gen)).warmup_kimg() == FILE_START_WARMUP_KIMG > 0
    assert FacesGANOptions(start_from=str(gen), d_warmup=1.5).warmup_kimg() == 1.5
    gen.with_name("generator.P.safetensors").write_bytes(b"")
    assert FacesGANOptions(start_from=str(gen)).warmup_kimg() == FILE_START_WARMUP_KIMG  # P alone: D still fresh
    gen.with_name("generator.D.safetensors").write_bytes(b"")
    assert FacesGANOptions(start_from=str(gen)).warmup_kimg() == 0.0
    assert FacesGANOptions(start_from=str(tmp_path)).warmup_kimg() == 0.0  # a snapshot folder brings its D
    assert FacesGANOptions().warmup_kimg() == 0.0


def test_the_shipped_conditioned_generator_brings_its_run_discriminators():
    start = WEIGHTS_DIR / CONDITIONED
    opts = FacesGANOptions(pose_conditioned=True, view_pairs=1.0, start_from=str(start))
    run = faces_gan_run("unused", opts)
    G = Generator(run.G)
    nets = {"G": G, "D": Discriminator(run.D), "G_ema": copy.deepcopy(G),
            "P": Discriminator(dataclasses.replace(run.D, img_channels=2 * run.D.img_channels, c_dim=2 * run.D.c_dim))}
    assert load_networks(start, nets) == ["G", "G_ema", "D", "P"]  # configs match today's faces run
    assert opts.warmup_kimg() == 0.0


@pytest.mark.slow
def test_a_short_analyzer_run_learns_pose(tmp_path):
    train = generate_headset(HeadSetConfig(identities=60, views=4, size=32, seed=0), tmp_path / "train",
                             progress=False)
    val = generate_headset(HeadSetConfig(identities=15, views=4, size=32, seed=1), tmp_path / "val", progress=False)
    assert train["complete"] and val["complete"]
    sets, held = [load_head_arrays(tmp_path / "train")], load_head_arrays(tmp_path / "val")
    neg = background_negatives(64, 32, 0)
    before = train_analyzer(sets, neg, AnalyzerTrainConfig(steps=1, batch=16, base_channels=8), progress=False)
    after = train_analyzer(sets, neg, AnalyzerTrainConfig(steps=600, batch=16, base_channels=8), progress=False)
    e0 = evaluate_analyzer(before, held, neg)["noise_floor"]["yaw_median_abs"]
    e1 = evaluate_analyzer(after, held, neg)["noise_floor"]["yaw_median_abs"]
    assert e1 < 0.5 * e0 and e1 < 8.0
