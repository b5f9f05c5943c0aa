"""The dataset engine: complete sample folders, cameras consistent with masks and meshes, resume."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from render3d.io import load_mesh
from scenes.datagen import DatagenConfig, generate, sample_seed
from scenes.errors import DatagenError
from scenes.samples import make_sample


@pytest.fixture(autouse=True)
def _one_thread():
    # Small tensors: thread start-up and oversubscription on a shared machine cost more than they save.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _project(cam: dict, pts: torch.Tensor) -> torch.Tensor:
    K, R, t = (torch.tensor(cam[k]) for k in ("K", "R", "t"))
    x = pts @ R.T + t
    uv = x[:, :2] / x[:, 2:] @ K[:2, :2].T + K[:2, 2]
    return torch.cat([uv, x[:, 2:]], 1)


@pytest.mark.parametrize("kind", ["heads", "shapes", "scenes"])
def test_sample_folder_is_complete_and_the_mesh_projects_into_the_mask(tmp_path: Path, kind: str) -> None:
    cfg = DatagenConfig(kind, count=1, views=2, size=48, workers=1, supersample=1)
    report = generate(cfg, tmp_path, progress=False)
    assert report.rendered == 1 and report.skipped == 0
    folder = tmp_path / "samples" / "000000"
    params = json.loads((folder / "params.json").read_text())
    cams = json.loads((folder / "cameras.json").read_text())["views"]
    assert len(cams) == 2 and cams[0]["width"] == 48 and len(params["views"]) == 2
    assert set(params["views"][0]) == {"yaw_deg", "pitch_deg", "roll_deg"} and params["shape_code"]
    mesh = load_mesh(folder / params["mesh"])
    verts = mesh.verts_packed()
    for v, cam in enumerate(cams):
        mask = np.asarray(Image.open(folder / f"mask_{v:03d}.png")) > 127
        depth = np.load(folder / f"depth_{v:03d}.npy")
        assert mask.shape == (48, 48) and mask.any()
        assert np.asarray(Image.open(folder / f"image_{v:03d}.png")).shape == (48, 48, 3)
        uvz = _project(cam, verts)
        inside = (uvz[:, 0] >= 0) & (uvz[:, 0] < 48) & (uvz[:, 1] >= 0) & (uvz[:, 1] < 48)
        px = uvz[inside, :2].floor().long()
        # Ground-truth vertices land on the object: the mask (3x3 tolerance) and depth agree.
        grown = mask | np.roll(mask, 1, 0) | np.roll(mask, -1, 0) | np.roll(mask, 1, 1) | np.roll(mask, -1, 1)
        assert grown[px[:, 1], px[:, 0]].mean() > 0.97
        # The rendered surface (nearest in a 3x3 window, for silhouette pixels) is never behind a vertex.
        near = np.pad(np.where(depth > 0, depth, np.inf), 1, constant_values=np.inf)
        near = np.min([near[1 + dy:49 + dy, 1 + dx:49 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], 0)
        d = torch.from_numpy(near)[px[:, 1], px[:, 0]]
        assert (d <= uvz[inside, 2] + 0.02).float().mean() > 0.97
    index = json.loads((tmp_path / "dataset.json").read_text())
    assert index["complete"] and index["samples"][0]["dir"] == "samples/000000"
    gan = json.loads((tmp_path / "images" / "dataset.json").read_text())
    assert [p[0] for p in gan["poses"]] == ["000000_00.png", "000000_01.png"]
    assert (tmp_path / "images" / "000000_01.png").read_bytes() == (folder / "image_001.png").read_bytes()
    # The sample's scene file re-renders its images exactly.
    from scenes.render import render_scene_file

    render_scene_file(folder / "scene.yaml", tmp_path / "again")
    assert (tmp_path / "again" / "rgb" / "frame_001.png").read_bytes() == (folder / "image_001.png").read_bytes()
    from gan2d.data.images import ImageFolderDataset

    ds = ImageFolderDataset(tmp_path / "images", resolution=32)
    img, _ = ds[1]
    assert len(ds) == 2 and img.shape == (3, 32, 32) and -1 <= float(img.min()) < float(img.max()) <= 1


def test_resume_skips_finished_samples_and_finishes_the_rest(tmp_path: Path) -> None:
    cfg = DatagenConfig("shapes", count=3, views=1, size=24, workers=1, supersample=1)
    generate(DatagenConfig("shapes", count=3, views=1, size=24, workers=1, supersample=1), tmp_path, progress=False)
    first = (tmp_path / "samples" / "000001" / "image_000.png").read_bytes()
    # Simulate an interrupted run: one sample lost, a half-written temp folder left behind.
    import shutil

    shutil.rmtree(tmp_path / "samples" / "000001")
    (tmp_path / "samples" / ".tmp-000002-999").mkdir()
    report = generate(cfg, tmp_path, progress=False)
    assert (report.rendered, report.skipped) == (1, 2)
    assert (tmp_path / "samples" / "000001" / "image_000.png").read_bytes() == first  # same seed, same pixels
    assert not list((tmp_path / "samples").glob(".tmp-*"))
    again = generate(cfg, tmp_path, progress=False)
    assert (again.rendered, again.skipped) == (0, 3)


def test_resume_refuses_a_folder_with_other_settings(tmp_path: Path) -> None:
    generate(DatagenConfig("shapes", count=1, views=1, size=24, workers=1, supersample=1), tmp_path, progress=False)
    with pytest.raises(DatagenError, match="size=24"):
        generate(DatagenConfig("shapes", count=1, views=1, size=32, workers=1, supersample=1), tmp_path,
                 progress=False)


def test_samples_are_pure_functions_of_the_seed() -> None:
    assert sample_seed(0, 5) == sample_seed(0, 5) != sample_seed(0, 6) != sample_seed(1, 5)
    a, b = make_sample("heads", 11, 3, 32), make_sample("heads", 11, 3, 32)
    assert a.spec == b.spec and a.poses == b.poses
    assert make_sample("heads", 12, 3, 32).spec != a.spec
    for p in a.poses:
        assert -60 <= p["yaw_deg"] <= 60 and -20 <= p["pitch_deg"] <= 25


@pytest.mark.parametrize(("field", "value"), [("kind", "cars"), ("count", 0), ("views", 0), ("size", 4),
                                              ("workers", 0), ("supersample", 9)])
def test_bad_config(field: str, value: object) -> None:
    with pytest.raises(DatagenError, match=field):
        DatagenConfig(**{field: value})


@pytest.mark.slow
def test_two_workers_write_the_same_files_as_one(tmp_path: Path) -> None:
    cfg = DatagenConfig("heads", count=3, views=2, size=32, workers=1, supersample=1)
    generate(cfg, tmp_path / "one", progress=False)
    generate(DatagenConfig("heads", count=3, views=2, size=32, workers=2, supersample=1), tmp_path / "two",
             progress=False)
    for f in sorted((tmp_path / "one" / "samples").rglob("*.png")):
        assert f.read_bytes() == (tmp_path / "two" / f.relative_to(tmp_path / "one")).read_bytes(), f
