"""pc2img training data: GT visibility with a known answer, sampled clouds that match their renders, the dataset."""

import numpy as np
import pytest
import torch

from render3d import Cameras, intrinsics_from_fov, look_at
from tools.pc2img.dataset import CloudViewDataset, Degradation, degrade
from tools.pc2img.model import Pc2ImgConfig
from tools.pc2img.trainset import load_sample, make_training_sample, visible_points, write_split


def test_ground_truth_visibility_of_two_layers():
    R, t = look_at(torch.tensor([[0.0, 0.0, 3.0]]), torch.zeros(1, 3))
    cams = Cameras(intrinsics_from_fov(40, 32, 32)[None], R, t, 32, 32)
    # the front layer (z=0, depth 3) covers the left half of the image only
    depth = torch.zeros(1, 32, 32)
    depth[0, :, :16] = 3.0
    front = torch.tensor([[-0.3, 0.0, 0.0], [-0.1, 0.2, 0.0]])
    back_hidden = torch.tensor([[-0.3, 0.0, -1.0]])  # behind the front layer
    back_open = torch.tensor([[0.3, 0.0, -1.0]])  # behind nothing
    outside = torch.tensor([[30.0, 0.0, 0.0]])
    vis = visible_points(torch.cat([front, back_hidden, back_open, outside]), cams, depth)
    assert vis[0].tolist() == [True, True, False, True, False]


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("pc2img-data")
    return write_split(out, "shapes", 1, 2, 48, seed=3, progress=False)[0]


def test_sampled_cloud_matches_its_render(sample_file):
    s = load_sample(sample_file)
    assert s.points.shape[0] >= 1000 and s.rgb.shape == (2, 48, 48, 3) and s.K.shape == (2, 3, 3)
    assert 0 < s.visible_mask(0).mean() < 1  # the back of a closed shape is hidden
    assert np.all((s.colors >= 0) & (s.colors <= 1))
    # visible points carry (up to the view-dependent highlight) the color the renderer gives their pixel
    cam = s.cameras([0])
    vis = s.visible_mask(0)
    uvz = cam.project(torch.from_numpy(s.points[vis])[None])[0]
    px = uvz[:, :2].long().clamp(0, 47)
    inner = torch.from_numpy(s.alpha[0])[px[:, 1], px[:, 0]] == 255
    rendered = torch.from_numpy(s.rgb[0]).float()[px[:, 1], px[:, 0]] / 255
    diff = (rendered - torch.from_numpy(s.colors[vis].astype(np.float32))).abs().mean(1)[inner]
    assert float(diff.median()) < 0.06
    # the same seed gives the same sample (the data engine is a pure function of its seed)
    again = make_training_sample("shapes", s.seed, 2, 48)
    assert np.array_equal(again["points"], s.points) and np.array_equal(again["rgb"], s.rgb)


def test_dataset_items_are_pure_functions_of_their_index(sample_file):
    ds = CloudViewDataset([sample_file], Pc2ImgConfig(), repeats=10, crop=32)
    assert len(ds) == 20
    a, b = ds[7], ds[7]
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
    x, rgb, alpha, vis, bg, density = a
    assert x.shape == (Pc2ImgConfig().splat_channels, 32, 32) and rgb.shape == (3, 32, 32)
    assert alpha.shape == vis.shape == (1, 32, 32) and bg.shape == (3,) and 0.01 <= float(density) <= 1
    assert (vis <= x[:1]).all()  # visibility targets live on covered pixels only
    other = ds[8]
    assert not torch.equal(other[0], a[0])


def test_degradation_density_and_noise(sample_file):
    s = load_sample(sample_file)
    rng = np.random.default_rng(0)
    pts, cols, normals, keep = degrade(s, 0, rng, Degradation(position_noise=0, color_noise=0, drop_normals=0), 0.1)
    assert len(keep) == round(0.1 * len(s.points)) and normals is not None
    assert np.array_equal(pts, s.points[keep]) and np.allclose(cols, s.colors[keep].astype(np.float32))
    noisy, *_ = degrade(s, 0, np.random.default_rng(0), Degradation(position_noise=1.0, drop_normals=0), 0.1)
    assert not np.array_equal(noisy, pts)
