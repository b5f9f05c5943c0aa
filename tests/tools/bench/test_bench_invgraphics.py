"""`bench invgraphics`: the scoring protocol on known answers, and the three-way comparison's rows."""

from __future__ import annotations

import pytest
import torch

from gan2d.nets.invgraphics import InverseGraphicsConfig
from render3d.cameras import Cameras
from render3d.structures import Meshes
from tools.bench.invgraphics import METHODS, reconstruct_three_ways, summarize, summary_markdown
from tools.cli import main
from tools.invgraphics.camera import orbit_extrinsics
from tools.invgraphics.initialize import MIN_START_IOU
from tools.invgraphics.model import InverseGraphicsModel, ModelConfig
from tools.invgraphics.scoring import score_shape, score_views
from tools.invgraphics.template import SphereTemplate
from tools.reconstruct.fit import FitSettings
from tools.reconstruct.render import view_camera
from tools.reconstruct.synthetic import photo_camera, render_photo, shapes

pytestmark = pytest.mark.usefixtures("one_thread")


def test_score_shape_of_the_ground_truth_itself_is_perfect() -> None:
    shape = shapes()[1]  # the ellipsoid
    cam = photo_camera(48, shape.azimuth, shape.elevation)
    v, f = shape.mesh.verts_packed(), shape.mesh.faces_packed()
    # The ground truth expressed in a fit frame: its camera at azimuth 0, another distance.
    fit_cam = view_camera(cam.K[0], 48, 48, 4.0, shape.elevation)
    in_fit = fit_cam.camera_to_world(cam.world_to_camera(v[None]) * (4.0 / 2.6))[0]
    novel = [photo_camera(48, shape.azimuth + d, shape.elevation) for d in (90.0, -90.0)]
    s = score_shape(in_fit, f, fit_cam, shape.mesh, cam, novel)
    # Chamfer's floor is the spacing of 4000 surface samples, not 0.
    assert s["input_iou"] > 0.99 and s["novel_iou"] > 0.97 and s["chamfer"] < 0.012
    # A stretched copy: a similarity alignment cannot undo it.
    stretched = score_shape(in_fit * torch.tensor([1.0, 1.0, 1.6]), f, fit_cam, shape.mesh, cam, novel)
    assert stretched["chamfer"] > 2 * s["chamfer"] and stretched["novel_iou"] < s["novel_iou"] - 0.05


def test_score_views_finds_a_sphere_in_every_view() -> None:
    t = SphereTemplate.build(3)
    params = torch.tensor([[10.0, 5.0, 0.0, 3.0], [70.0, 20.0, 0.0, 3.0], [-60.0, -10.0, 0.0, 3.0]])
    K = torch.tensor([[[50.0, 0, 24], [0, 50, 24], [0, 0, 1]]]).expand(3, 3, 3)
    cams = Cameras(K, *orbit_extrinsics(params), 48, 48)
    masks = torch.stack([_cover(t.verts * 0.6, t.faces, cams[i]) for i in range(3)])
    fit_cam = view_camera(K[0], 48, 48, 3.0, 5.0)
    good = score_views(t.verts * 0.6, t.faces, fit_cam, cams, masks)
    assert good["input_iou"] > 0.99 and good["novel_iou"] > 0.97
    off = score_views(t.verts * 0.6 + torch.tensor([0.3, 0.0, 0.0]), t.faces, fit_cam, cams, masks)
    assert off["novel_iou"] < good["novel_iou"] - 0.1


def _cover(verts: torch.Tensor, faces: torch.Tensor, cam: Cameras) -> torch.Tensor:
    from render3d.raster import RasterSettings, rasterize_meshes

    return rasterize_meshes(Meshes([verts], [faces]), cam, RasterSettings()).mask.float()[0]


def test_three_ways_give_one_scored_row_per_method() -> None:
    net = InverseGraphicsConfig(num_verts=162, resolution=16, base_channels=8, max_channels=16, shape_dim=8,
                                texture_dim=8, hidden=16, texture_size=(8, 16), texture_channels=16)
    model = InverseGraphicsModel(ModelConfig(net, level=2)).eval()
    shape = shapes()[0]
    cam = photo_camera(32, shape.azimuth, shape.elevation)
    rgb, alpha = render_photo(shape.mesh, cam)
    calls = []

    def score(v, f, rcam):
        calls.append(v.shape[0])
        return {"input_iou": 1.0, "novel_iou": 0.5}

    rows = reconstruct_three_ways(model, rgb, (alpha > 0.5).float(), cam.K[0], FitSettings(steps=4), 3, score)
    assert [r["method"] for r in rows] == list(METHODS)
    # The short fit stays at the encoder's level (2, 162 vertices) from either start (the sphere's "auto"
    # template is an icosphere of the fit's level).
    assert calls[1] == 162 and calls[2] == 162
    assert all(r["seconds"] >= 0 and r["cpu_seconds"] >= 0 for r in rows)
    # An untrained encoder's guess misses the outline: the fit starts from the silhouette.
    assert rows[2]["start_iou"] < MIN_START_IOU and rows[2]["start"] == "silhouette"
    summary = summarize([{**r, "set": "s", "sample": "x"} for r in rows])
    assert [s["method"] for s in summary] == list(METHODS) and summary[0]["samples"] == 1
    assert summary[2]["silhouette_starts"] == 1 and "silhouette_starts" not in summary[0]
    assert "learned+fit" in summary_markdown(summary)


def test_missing_data_set_exits_2_naming_how_to_make_it(tmp_path, capsys) -> None:
    missing = tmp_path / "shapes"
    assert main(["bench", "invgraphics", "--set", "", "--data", str(missing), "--out", str(tmp_path / "b.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(missing) in err
    assert "neurender datagen --kind shapes --count 600 --views 4 --size 64 --seed 13" in err
    assert not (tmp_path / "b.json").exists()


def test_novel_views_are_split_at_60_degrees_of_yaw_from_the_input() -> None:
    from tools.bench.invgraphics import novel_by_offset, yaw_offsets

    assert yaw_offsets(torch.tensor([-30.0, 10.0, 30.0, 45.0])) == [0.0, 40.0, 60.0, 75.0]
    rows = [{"set": "gan", "sample": str(i), "method": m, "input_iou": 0.9, "novel_iou": 0.8, "seconds": 1.0,
             "cpu_seconds": 1.0, "view_iou": [0.99, 0.9, 0.8, 0.5], "yaw_offset": [0.0, 40.0, 60.0, 75.0 + i]}
            for i in range(2) for m in METHODS]
    split = novel_by_offset(rows[:1])
    assert split == {"novel_iou_within_60": pytest.approx(0.85), "novel_views_within_60": 2,
                     "novel_iou_beyond_60": pytest.approx(0.5), "novel_views_beyond_60": 1}
    summary = summarize(rows)
    assert summary[0]["novel_views_within_60"] == 4 and summary[0]["novel_iou_within_60"] == pytest.approx(0.85)
    assert "0.850 / 0.500" in summary_markdown(summary)
    assert novel_by_offset([{**rows[0], "yaw_offset": [0.0, 61.0, 90.0, 120.0]}]).keys() == {
        "novel_iou_beyond_60", "novel_views_beyond_60"}
