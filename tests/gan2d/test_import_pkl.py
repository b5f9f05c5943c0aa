"""Official-format network pickles import without running pickled code and reproduce our images exactly."""

import pickle
import sys

import pytest
import torch

from gan2d.errors import CheckpointError
from gan2d.importers.stylegan2_pkl import load_stylegan2_pkl, read_network_pickle
from gan2d.layers.mbstd import MinibatchStd
from gan2d.nets.stylegan2 import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig
from tests.gan2d.pkl_fixtures import dump_official_pickle, easydict, persistent, randomize

G_CFG = GeneratorConfig(img_resolution=16, z_dim=8, c_dim=3, w_dim=8, channel_base=128, channel_max=16,
                        mapping_layers=2, conv_clamp=0.9)
D_CFG = DiscriminatorConfig(img_resolution=16, c_dim=3, channel_base=128, channel_max=16, mapping_layers=2,
                            mbstd_group_size=2)


def _src(marker) -> str:
    return f"import pathlib\npathlib.Path({str(marker)!r}).write_text('module_src was executed')\n"


def _snapshot(tmp_path, G: Generator, D: Discriminator, src: str):
    def data():
        g_kwargs = easydict(z_dim=G.z_dim, w_dim=G.w_dim, c_dim=G.c_dim, img_resolution=16, img_channels=3,
                            mapping_kwargs=easydict(num_layers=2),
                            synthesis_kwargs=easydict(channel_base=128, channel_max=16, num_fp16_res=0,
                                                      conv_clamp=G.config.conv_clamp))
        d_kwargs = easydict(c_dim=3, img_resolution=16, img_channels=3, channel_base=128, channel_max=16)
        return {
            "G": persistent(G, src, g_kwargs),
            "D": persistent(D, src, d_kwargs),
            "G_ema": persistent(G, src, g_kwargs),
            "training_set_kwargs": easydict(path="faces.zip", resolution=16, use_labels=True),
            "augment_pipe": persistent(MinibatchStd(), src),  # any persistent module stands in for AugmentPipe
        }

    path = tmp_path / "network-snapshot-000000.pkl"
    dump_official_pickle(path, data)
    return path


@pytest.fixture
def snapshot(tmp_path):
    torch.manual_seed(0)
    G = randomize(Generator(G_CFG), seed=1)
    D = randomize(Discriminator(D_CFG), seed=2)
    marker = tmp_path / "executed.txt"
    return _snapshot(tmp_path, G, D, _src(marker)), G, D, marker


def test_imported_generator_reproduces_images_exactly(snapshot):
    path, G, _, marker = snapshot
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules
    G2 = load_stylegan2_pkl(path)
    assert not marker.exists(), "module_src must never be executed"
    assert isinstance(G2, Generator)
    assert G2.config.conv_clamp == pytest.approx(0.9) and G2.config.mapping_lr_multiplier == pytest.approx(0.01)
    assert (G2.config.channel_base, G2.config.channel_max, G2.config.c_dim) == (128, 16, 3)
    z, c = torch.randn(4, 8), torch.eye(3)[[0, 1, 2, 0]]
    for psi in (1.0, 0.6):
        want = G(z, c, truncation_psi=psi, noise_mode="const")
        got = G2(z, c, truncation_psi=psi, noise_mode="const")
        assert torch.equal(got, want)
    assert torch.equal(G2.mapping.w_avg, G.mapping.w_avg)


def test_imported_discriminator_reproduces_logits(snapshot):
    path, _, D, marker = snapshot
    D2 = load_stylegan2_pkl(path, key="D")
    assert isinstance(D2, Discriminator) and not marker.exists()
    img, c = torch.randn(4, 3, 16, 16), torch.eye(3)[[0, 1, 2, 0]]
    assert torch.equal(D2(img, c), D(img, c))
    assert D2.config.mbstd_group_size == 2


def test_top_level_is_read_as_inert_data(snapshot):
    path, _, _, marker = snapshot
    data = read_network_pickle(path)
    assert set(data) == {"G", "D", "G_ema", "training_set_kwargs", "augment_pipe"}
    assert data["G_ema"].class_name == "Generator"
    assert "module_src was executed" in data["G_ema"].meta["module_src"]  # kept as text only
    assert data["training_set_kwargs"]["path"] == "faces.zip"
    assert not marker.exists()


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_disallowed_globals_are_refused_before_running(tmp_path):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Evil(marker)}))
    with pytest.raises(CheckpointError, match="not allowed"):
        load_stylegan2_pkl(path)
    assert not marker.exists()


def test_missing_truncated_and_wrong_pickles(tmp_path, snapshot):
    path = snapshot[0]
    with pytest.raises(CheckpointError, match="not found"):
        load_stylegan2_pkl(tmp_path / "missing.pkl")
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(CheckpointError):
        load_stylegan2_pkl(cut)
    with pytest.raises(CheckpointError, match="no persistent network"):
        load_stylegan2_pkl(path, key="G_missing")
    lst = tmp_path / "list.pkl"
    lst.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(CheckpointError, match="expected a dict"):
        load_stylegan2_pkl(lst)


def test_stylegan3_style_synthesis_is_refused(tmp_path):
    G = Generator(GeneratorConfig(img_resolution=8, z_dim=4, w_dim=4, channel_base=32, channel_max=4,
                                  mapping_layers=1))
    del G.synthesis.b4  # an alias-free synthesis network has no b4 block
    path = tmp_path / "sg3.pkl"
    dump_official_pickle(path, lambda: {"G_ema": persistent(G, "raise SystemExit")})
    with pytest.raises(CheckpointError, match="StyleGAN3"):
        load_stylegan2_pkl(path)
