"""Reading a `neurender-multiview/1` dataset back: tensors that match the files, cameras that
render the ground-truth mesh onto the stored masks and depth, and clear errors for other folders."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from render3d.io import load_mesh
from render3d.raster import MeshRasterizer, RasterSettings
from scenes.build import build_scene
from scenes.datagen import DatagenConfig, generate
from scenes.errors import DatasetError
from scenes.multiview import FORMAT, MultiviewDataset, read_cameras
from scenes.samples import pose_cameras


@pytest.fixture(scope="module")
def heads(tmp_path_factory) -> Path:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("heads")
    generate(DatagenConfig("heads", count=2, views=3, size=40, workers=1, supersample=1, yaw=(-45, 45)), root,
             progress=False)
    torch.set_num_threads(threads)
    return root


def test_samples_come_back_as_tensors_matching_the_files(heads: Path) -> None:
    ds = MultiviewDataset(heads)
    assert len(ds) == 2 and ds.settings["kind"] == "heads" and ds.settings["yaw"] == [-45.0, 45.0]
    s = ds[1]
    params = json.loads((heads / "samples" / "000001" / "params.json").read_text())
    assert s.id == "000001" and s.params == params
    assert s.images.shape == (3, 40, 40, 3) and s.images.dtype == torch.float32
    assert 0 <= float(s.images.min()) < float(s.images.max()) <= 1
    assert s.masks.shape == (3, 40, 40) and s.depth.shape == (3, 40, 40) and s.normals.shape == (3, 40, 40, 3)
    covered = s.depth > 0
    assert torch.equal(covered, s.masks > 0.5) or float((covered != (s.masks > 0.5)).float().mean()) < 0.02
    assert torch.allclose(s.normals[covered].norm(dim=-1), torch.ones(int(covered.sum())), atol=1e-3)
    assert float(s.normals[~covered].abs().max()) == 0
    expected = torch.tensor([[v["yaw_deg"], v["pitch_deg"], v["roll_deg"]] for v in params["views"]])
    assert torch.allclose(s.poses, expected) and float(s.poses[:, 0].abs().max()) <= 45
    assert s.shape_code.tolist() == pytest.approx(params["shape_code"])
    assert s.appearance_code.tolist() == pytest.approx(params["appearance_code"])
    assert s.mesh == heads / "samples" / "000001" / "mesh.obj" and s.mesh.is_file()
    only = MultiviewDataset(heads, fields=("image",))[0]
    assert only.images is not None and only.masks is None and only.depth is None and only.normals is None


def test_loaded_cameras_render_the_ground_truth_mesh_onto_the_stored_mask_and_depth(heads: Path) -> None:
    s = MultiviewDataset(heads)[0]
    assert len(s.cameras) == 3 and (s.cameras.width, s.cameras.height) == (40, 40)
    mesh = load_mesh(s.mesh)
    frags = MeshRasterizer(RasterSettings())(mesh.extend(3), s.cameras)
    hit = frags.pix_to_face[..., 0] >= 0
    stored = s.masks > 0.5
    iou = float((hit & stored).sum() / (hit | stored).sum())
    assert iou > 0.97
    both = hit & (s.depth > 0)
    assert float((frags.zbuf[..., 0][both] - s.depth[both]).abs().median()) < 1e-3


def test_pose_cameras_and_the_scene_file_rebuild_what_a_sample_stores(heads: Path) -> None:
    ds = MultiviewDataset(heads)
    s = ds[1]
    cams = pose_cameras("heads", s.poses.tolist(), 40)  # what a GAN producer would label its views with
    for name in ("K", "R", "t"):
        assert torch.allclose(getattr(cams, name), getattr(s.cameras, name), atol=1e-5), name
    built = build_scene(ds.scene(1))
    head = built.objects[0].geometry
    a, b = head.verts_packed(), load_mesh(s.mesh).verts_packed()  # the OBJ reader welds a few seam duplicates
    assert head.has_texture and torch.allclose(torch.stack([a.amin(0), a.amax(0), a.mean(0)]),
                                               torch.stack([b.amin(0), b.amax(0), b.mean(0)]), atol=1e-3)


def test_read_cameras_round_trips_what_the_renderer_wrote(heads: Path) -> None:
    path = heads / "samples" / "000000" / "cameras.json"
    cams = read_cameras(path)
    views = json.loads(path.read_text())["views"]
    assert torch.allclose(cams.K, torch.tensor([v["K"] for v in views]))
    assert torch.allclose(cams.t, torch.tensor([v["t"] for v in views]))


def test_folders_that_are_not_datasets_are_refused(tmp_path: Path, heads: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read the dataset index"):
        MultiviewDataset(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps({"format": "something-else/2"}))
    with pytest.raises(DatasetError, match=f"not a {FORMAT} dataset"):
        MultiviewDataset(tmp_path)
    with pytest.raises(DatasetError, match="unknown fields"):
        MultiviewDataset(heads, fields=("image", "albedo"))
    (tmp_path / "cameras.json").write_text(json.dumps({"views": [{"K": [[1, 0], [0, 1]]}]}))
    with pytest.raises(DatasetError, match="cannot read cameras"):
        read_cameras(tmp_path / "cameras.json")
    with pytest.raises(IndexError):
        MultiviewDataset(heads)[2]


def test_a_decompression_bomb_in_a_sample_is_refused_before_decoding(tmp_path: Path, heads: Path, bomb_png) -> None:
    root = tmp_path / "ds"
    shutil.copytree(heads, root)
    bomb_png(root / "samples" / "000000" / "mask_001.png")  # a 20000² image declared in ~65 bytes
    ds = MultiviewDataset(root)
    with pytest.raises(DatasetError, match=r"mask_001\.png: image (too large|of 20000x20000)"):
        ds[0]
    assert ds[1].masks is not None
    (root / "samples" / "000001" / "image_000.png").write_text("not a png")
    with pytest.raises(DatasetError, match=r"image_000\.png: cannot read image"):
        ds[1]
