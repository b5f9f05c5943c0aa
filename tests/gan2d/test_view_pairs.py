"""View pairs: grouped datasets, the view-pair task's phases and pairs, and starting a run from another's weights."""

import json
import shutil

import pytest
import torch

from gan2d.data.images import ImageFolderDataset
from gan2d.data.toy import write_disc_folder
from gan2d.data.view_pairs import ViewPairDataset
from gan2d.errors import CheckpointError, ConfigError
from gan2d.losses.regularizers import path_length_noise, path_lengths
from gan2d.nets.stylegan2 import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig
from gan2d.train.config import TrainConfig
from gan2d.train.loop import train
from gan2d.train.snapshot import companion_files, latest_snapshot, load_networks
from gan2d.train.stylegan2_task import StyleGAN2LossConfig, StyleGAN2Task
from gan2d.train.view_pair_task import ViewPairTask

pytestmark = pytest.mark.usefixtures("one_thread")

G_CFG = GeneratorConfig(img_resolution=16, z_dim=8, w_dim=8, c_dim=2, view_layers=2, channel_base=64, channel_max=16,
                        mapping_layers=2)
D_CFG = DiscriminatorConfig(img_resolution=16, c_dim=2, channel_base=64, channel_max=16, mapping_layers=2)
P_CFG = DiscriminatorConfig(img_resolution=16, c_dim=4, img_channels=6, channel_base=64, channel_max=16,
                            mapping_layers=2)
LOSS = StyleGAN2LossConfig(r1_gamma=1.0, r1_interval=2, pl_interval=3, diffaug=("translation",), num_samples=4,
                           view_pair_weight=1.0)


def _grouped(tmp_path, n=6, groups=None):
    root = write_disc_folder(tmp_path / "imgs", n, 16)
    names = [f"{i:06d}.png" for i in range(n)]
    groups = groups if groups is not None else [f"head{i // 3}" for i in range(n)]
    meta = {"labels": [[m, [0.1 * i, -0.05 * i]] for i, m in enumerate(names)], "xflip_negate": [0],
            "groups": [[m, g] for m, g in zip(names, groups, strict=True)]}
    (root / "dataset.json").write_text(json.dumps(meta))
    return ImageFolderDataset(root, 16, xflip=True)


def test_pairs_are_two_views_of_one_group_mirrored_together(tmp_path):
    base = _grouped(tmp_path)
    assert base.groups == [0, 0, 0, 1, 1, 1]
    pairs = ViewPairDataset(base)
    assert len(pairs) == 12 and pairs.partner == [1, 2, 0, 4, 5, 3]
    a, ca, b, cb = pairs[2]  # the last view of head 0 pairs with its first
    torch.testing.assert_close(ca, torch.tensor([0.2, -0.1]))
    torch.testing.assert_close(a, base[2][0])
    torch.testing.assert_close(b, base[0][0])
    torch.testing.assert_close(cb, torch.tensor([0.0, 0.0]))
    fa, fca, fb, fcb = pairs[6 + 4]  # mirrored view 4 with mirrored view 5: both flipped, both yaws negated
    torch.testing.assert_close(fa, base[4][0].flip(-1))
    torch.testing.assert_close(fb, base[5][0].flip(-1))
    torch.testing.assert_close(fca, torch.tensor([-0.4, -0.2]))
    torch.testing.assert_close(fcb, torch.tensor([-0.5, -0.25]))


def test_pairs_need_groups_of_two(tmp_path):
    with pytest.raises(ConfigError, match="alone"):
        ViewPairDataset(_grouped(tmp_path / "a", 3, ["x", "x", "y"]))
    root = write_disc_folder(tmp_path / "b", 2, 16)
    with pytest.raises(ConfigError, match="groups"):
        ViewPairDataset(ImageFolderDataset(root, 16))
    (root / "dataset.json").write_text(json.dumps({"groups": [["000000.png", 1]]}))
    with pytest.raises(ConfigError, match="no group for"):
        ImageFolderDataset(root, 16)


def _task(cfg):
    torch.manual_seed(3)
    return ViewPairTask(Generator(G_CFG), Discriminator(D_CFG), Discriminator(P_CFG), cfg, LOSS)


def _cfg(kimg):
    return TrainConfig(total_kimg=kimg, batch_size=8, ema_kimg=0.05, log_every=1, sample_every_kimg=1.0,
                       checkpoint_every_kimg=0.016, progress=False, seed=5)


def test_fake_pairs_share_the_latent_and_differ_only_by_the_label():
    task = _task(_cfg(0.008))
    c = torch.tensor([[0.5, 0.1], [-0.5, 0.2], [0.0, 0.0], [0.9, -0.3]])
    torch.manual_seed(0)
    same = task._fake_pairs(c, c, update_emas=False)
    torch.testing.assert_close(same[:4], same[4:], rtol=0, atol=0)  # one latent at one label twice: one image
    torch.manual_seed(0)
    turned = task._fake_pairs(c, c.flip(0), update_emas=False)
    torch.testing.assert_close(turned[:4], same[:4], rtol=0, atol=0)
    assert (turned[4:] - same[4:]).abs().amax() > 1e-4


def test_view_pair_task_trains_p_and_g_and_starts_from_a_plain_run(tmp_path):
    base = _grouped(tmp_path, 8, [i // 4 for i in range(8)])
    task = _task(_cfg(0.016))
    assert [p.name for p in task.phases] == ["D_main", "D_reg", "P_main", "P_reg", "G_main", "G_reg"]
    p0 = {k: v.clone() for k, v in task.P.state_dict().items()}
    result = train(task, ViewPairDataset(base), _cfg(0.016), tmp_path / "pairs")
    assert result.steps == 2 and {"P_main/mismatch_score", "G_main/pair", "G_main/single"} <= set(result.last_stats)
    assert any(not torch.equal(p0[k], v) for k, v in task.P.state_dict().items())

    # A plain conditional run's weights start a view-pair run: G, D, G_ema loaded, P fresh.
    torch.manual_seed(9)
    plain = StyleGAN2Task(Generator(G_CFG), Discriminator(D_CFG), _cfg(0.016),
                          StyleGAN2LossConfig(r1_gamma=1.0, r1_interval=2, num_samples=4))
    train(plain, base, _cfg(0.016), tmp_path / "plain")
    snap = latest_snapshot(tmp_path / "plain" / "checkpoints")
    fresh = _task(_cfg(0.016))
    p_before = {k: v.clone() for k, v in fresh.P.state_dict().items()}
    assert load_networks(snap, fresh.networks, fresh.aux) == ["G", "D", "G_ema", "pl"]
    assert torch.equal(fresh.pl.mean, plain.pl.mean) and plain.pl.mean.abs() > 0
    for name in ("G", "D", "G_ema"):
        a, b = plain.networks[name].state_dict(), fresh.networks[name].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.equal(p_before[k], v) for k, v in fresh.P.state_dict().items())
    with pytest.raises(CheckpointError, match="none of the networks"):
        load_networks(snap, {"Q": fresh.P})

    # One generator file (a shipped G_ema) starts G and G_ema from it; D, P and the path-length mean stay fresh.
    fresh = _task(_cfg(0.016))
    before = {name: {k: v.clone() for k, v in fresh.networks[name].state_dict().items()} for name in ("D", "P")}
    assert load_networks(snap / "G_ema.safetensors", fresh.networks, fresh.aux) == ["G", "G_ema"]
    ema = plain.networks["G_ema"].state_dict()
    for name in ("G", "G_ema"):
        assert all(torch.equal(ema[k], v) for k, v in fresh.networks[name].state_dict().items())
    assert not all(torch.equal(plain.G.state_dict()[k], v) for k, v in fresh.G.state_dict().items())
    for name in ("D", "P"):
        assert all(torch.equal(before[name][k], v) for k, v in fresh.networks[name].state_dict().items())
    assert fresh.pl.mean.abs() == 0
    with pytest.raises(CheckpointError, match="no G or G_ema"):
        load_networks(snap / "G_ema.safetensors", {"Q": fresh.P})

    # With the run's discriminator shipped beside the generator file (NAME.D.safetensors), D comes from it too.
    shipped = tmp_path / "ship" / "gen.safetensors"
    shipped.parent.mkdir()
    shutil.copy(snap / "G_ema.safetensors", shipped)
    shutil.copy(snap / "D.safetensors", shipped.with_name("gen.D.safetensors"))
    assert companion_files(shipped) == {"D": shipped.with_name("gen.D.safetensors")}
    fresh = _task(_cfg(0.016))
    p_before = {k: v.clone() for k, v in fresh.P.state_dict().items()}
    assert load_networks(shipped, fresh.networks, fresh.aux) == ["G", "G_ema", "D"]
    d = plain.D.state_dict()
    assert all(torch.equal(d[k], v) for k, v in fresh.D.state_dict().items())
    assert all(torch.equal(p_before[k], v) for k, v in fresh.P.state_dict().items())


def test_view_pair_task_refuses_what_it_cannot_train():
    with pytest.raises(ConfigError, match="conditional"):
        ViewPairTask(Generator(GeneratorConfig(img_resolution=16, z_dim=8, w_dim=8, channel_base=64, channel_max=16)),
                     Discriminator(D_CFG), Discriminator(P_CFG), _cfg(0.01), LOSS)
    with pytest.raises(ConfigError, match="view_pair_weight"):
        ViewPairTask(Generator(G_CFG), Discriminator(D_CFG), Discriminator(P_CFG), _cfg(0.01),
                     StyleGAN2LossConfig())
    with pytest.raises(ConfigError, match=">= 0"):
        StyleGAN2LossConfig(view_pair_weight=-1.0)


class _MeanColour(torch.nn.Module):
    def forward(self, images):
        return images.mean((2, 3)) * 10


def test_identity_term_is_zero_for_one_view_twice_and_needs_an_embedding():
    import dataclasses

    loss = dataclasses.replace(LOSS, view_identity_weight=1.0)
    torch.manual_seed(3)
    task = ViewPairTask(Generator(G_CFG), Discriminator(D_CFG), Discriminator(P_CFG), _cfg(0.008), loss, _MeanColour())
    imgs, c = torch.zeros(8, 3, 16, 16), torch.rand(8, 2) * 2 - 1
    _, same = task._g_main((imgs, c, imgs, c))  # both views at one label: one image twice
    assert same["identity"] == 0.0
    _, turned = task._g_main((imgs, c, imgs, -c))
    assert turned["identity"] > 0.0
    assert not any(p.requires_grad for p in task.identity.parameters())
    # Relative: the same distance over the mean squared distance between the pairs of different latents.
    rel = ViewPairTask(Generator(G_CFG), Discriminator(D_CFG), Discriminator(P_CFG), _cfg(0.008),
                       dataclasses.replace(loss, view_identity_relative=True, view_identity_weight=2.0), _MeanColour())
    rel.G.load_state_dict(task.G.state_dict())
    torch.manual_seed(1)
    total, stats = rel._g_main((imgs, c, imgs, -c))
    torch.manual_seed(1)
    perm = torch.randperm(8)[:4]
    torch.manual_seed(1)
    torch.randperm(8)
    e = _MeanColour()(rel._fake_pairs(c[perm], -c[perm], update_emas=False).detach())
    d = (e[:4, None] - e[None, 4:]).square().sum(2)
    assert float(stats["identity"]) == pytest.approx(float(d.diagonal().mean()), rel=1e-5)
    assert float(stats["identity_between"]) == pytest.approx(float(d[~torch.eye(4, dtype=torch.bool)].mean()),
                                                             rel=1e-5)
    assert float(total.detach()) == pytest.approx(float(stats["single"] + stats["pair"] + 2.0 * stats["identity"]
                                                        / stats["identity_between"]), rel=1e-5)
    with pytest.raises(ConfigError, match="identity embedding"):
        ViewPairTask(Generator(G_CFG), Discriminator(D_CFG), Discriminator(P_CFG), _cfg(0.008), loss)


def test_discriminator_warmup_holds_g_still_and_path_length_mean_is_measured(tmp_path):
    import dataclasses

    base = _grouped(tmp_path, 8, [i // 4 for i in range(8)])
    task = ViewPairTask(Generator(G_CFG), Discriminator(D_CFG), Discriminator(P_CFG), _cfg(0.032),
                        dataclasses.replace(LOSS, d_warmup_kimg=0.016))
    assert {p.name: p.start_kimg for p in task.phases}["G_main"] == 0.016
    assert {p.name: p.start_kimg for p in task.phases}["D_main"] == 0.0
    labels = torch.stack([base.label(i) for i in range(8)])
    mean = task.measure_path_length(labels)
    fake, ws = task._generate(8, labels, update_emas=False)
    again = float(path_lengths(fake, ws, path_length_noise(fake)).detach().mean())  # another draw: the same scale
    assert mean > 0 and float(task.pl.mean) == mean and 0.5 * mean < again < 2 * mean
    g0, d0 = ({k: v.detach().clone() for k, v in net.named_parameters()} for net in (task.G, task.D))
    ckpt = tmp_path / "warm" / "checkpoints"
    train(task, ViewPairDataset(base), _cfg(0.016), tmp_path / "warm")  # two steps, both inside the warm-up
    assert all(torch.equal(g0[k], v) for k, v in task.G.named_parameters())  # (w_avg, a buffer, still tracks)
    assert any(not torch.equal(d0[k], v) for k, v in task.D.named_parameters())
    assert latest_snapshot(ckpt) is not None
    train(task, ViewPairDataset(base), _cfg(0.032), tmp_path / "warm", resume=True)  # two more: G moves
    assert any(not torch.equal(g0[k], v) for k, v in task.G.named_parameters())


class _Frontal(torch.nn.Module):
    def forward(self, images):
        return torch.zeros(images.shape[0], 2)


def test_pose_term_is_the_squared_label_error_and_needs_an_estimator():
    import dataclasses

    loss = dataclasses.replace(LOSS, view_pose_weight=2.0)
    torch.manual_seed(3)
    task = ViewPairTask(Generator(G_CFG), Discriminator(D_CFG), Discriminator(P_CFG), _cfg(0.008), loss,
                        pose=_Frontal())
    imgs, c = torch.zeros(8, 3, 16, 16), torch.tensor([[0.5, 0.0], [0.0, -0.5], [1.0, 1.0], [0.0, 0.0]] * 2)
    torch.manual_seed(0)
    total, stats = task._g_main((imgs, c, imgs, c))
    # An estimator that reads every view as frontal misses each label by all of it: the mean |c|² of the 4
    # labels G_main drew first (each for both views of a pair).
    torch.manual_seed(0)
    perm = torch.randperm(8)[:4]
    assert float(c[perm].square().sum(1).mean()) > 0.1
    assert float(stats["pose"]) == pytest.approx(float(c[perm].square().sum(1).mean()))
    assert float(total.detach()) == pytest.approx(float(stats["single"] + stats["pair"] + 2.0 * stats["pose"]))
    with pytest.raises(ConfigError, match="pose estimator"):
        ViewPairTask(Generator(G_CFG), Discriminator(D_CFG), Discriminator(P_CFG), _cfg(0.008), loss)


def test_g_trainable_trains_only_the_named_parts_and_names_a_wrong_one(tmp_path):
    import dataclasses

    base = _grouped(tmp_path, 8, [i // 4 for i in range(8)])
    head = ("mapping.embed", "mapping.view0", "mapping.view1")
    torch.manual_seed(3)
    task = ViewPairTask(Generator(G_CFG), Discriminator(D_CFG), Discriminator(P_CFG), _cfg(0.016),
                        dataclasses.replace(LOSS, g_trainable=head))
    g0 = {k: v.detach().clone() for k, v in task.G.named_parameters()}
    train(task, ViewPairDataset(base), _cfg(0.016), tmp_path / "head")
    moved = {k for k, v in task.G.named_parameters() if not torch.equal(g0[k], v)}
    assert moved and all(k.startswith(head) for k in moved)
    assert any(k.startswith("mapping.view1") for k in moved)
    assert not any(p.requires_grad for k, p in task.G.named_parameters() if not k.startswith(head))
    with pytest.raises(ConfigError, match=r"'synthesis\.b99'"):
        ViewPairTask(Generator(G_CFG), Discriminator(D_CFG), Discriminator(P_CFG), _cfg(0.016),
                     dataclasses.replace(LOSS, g_trainable=("synthesis.b99",)))
