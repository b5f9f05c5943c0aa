import math

import torch
from rich.console import Console

from tools.bench.render import Workload, cells, contended_cells, markdown, run, scene, workloads
from tools.bench.render_runners import _step, ours


def test_workload_grid_covers_issue_targets():
    names = {w.name for w in workloads(full=False)}
    assert "mesh 10k faces 256² b1 fwd+bwd" in names
    assert "mesh 10k faces 256² b1 soft fwd+bwd" in names
    assert "points 1M points 512² b1 fwd" in names
    full = workloads(full=True)
    assert len({(w.count, w.size, w.batch) for w in full if w.kind == "mesh" and not w.soft}) == 3 * 3 * 2
    # the full grid also holds what the library's own benches measured: soft and batch 8, point backward
    assert len({(w.count, w.size, w.batch) for w in full if w.kind == "mesh" and w.soft}) == 3 * 3 * 2
    assert "points 1M points 512² b8 fwd+bwd" in {w.name for w in full}
    assert len({w.name for w in full}) == len(full)


def test_scene_sizes_match_workload():
    m, cams = scene(Workload("mesh", 1_000, 32, 2, False, False), torch.device("cpu"))
    assert len(m) == 2 and len(cams) == 2 and cams.width == 32
    assert 1_000 <= m.num_faces_per_mesh[0] <= 1_400  # icosphere with ~1k faces
    pc, _ = scene(Workload("points", 5_000, 32, 1, False, False), torch.device("cpu"))
    assert pc.points_packed().shape == (5_000, 3)


def test_speedups_are_baseline_over_ours():
    records = [dict(workload="w", runner="ours:torch", seconds=0.5),
               dict(workload="w", runner="raw:pytorch3d", seconds=5.0),
               dict(workload="w", runner="raw:pyrender", seconds=None, skipped="not differentiable")]
    runners = ["ours:torch", "raw:pytorch3d", "raw:pyrender"]
    rows = cells(records, runners, ("raw:pytorch3d", "raw:pyrender"))
    assert rows == [["w", "0.500 (10.0×)", "5.000", "—"]]
    assert markdown(rows, runners).splitlines()[2] == "| w | 0.500 (10.0×) | 5.000 | — |"


def test_backward_step_backpropagates_the_image_mean():
    x = torch.ones(3, requires_grad=True)
    _step(lambda: x * 2, backward=True)()
    torch.testing.assert_close(x.grad, torch.full((3,), 2 / 3))
    assert torch.equal(_step(lambda: x * 2, backward=False)(), torch.full((3,), 2.0))


def test_our_runner_renders_the_workload_scene():
    w = Workload("mesh", 1_000, 32, 1, False, False)
    img = ours("torch")(w, *scene(w, torch.device("cpu")))()
    assert img.shape == (1, 32, 32, 4)  # RGBA
    covered = img[0, ..., 3] > 0
    # a unit sphere 3 units away under a 45° field of view: a disk of radius tan(asin(1/3)) / tan(22.5°)
    disk = math.pi / 4 * (math.tan(math.asin(1 / 3)) / math.tan(math.radians(22.5))) ** 2
    assert abs(covered.float().mean() - disk) < 0.03
    assert torch.equal(img[0][~covered][:, :3], torch.ones(int((~covered).sum()), 3))  # white background
    assert img[0][covered][:, :3].std() > 0.1  # random vertex colors


def test_run_times_refuses_and_compares_beside_a_competitor():
    def runner(w, geom, cams):
        x = torch.ones(3, requires_grad=True)
        return lambda: (x * 2).sum().backward()

    def refusing(w, geom, cams):
        return "not differentiable"

    w = Workload("points", 1_000, 16, 1, False, True)
    recs = run([w], {"a": runner, "b": refusing}, torch.device("cpu"), repeats=2, budget_s=60.0,
               console=Console(quiet=True), competitors=("spin",))
    assert recs[0]["runner"] == "a" and recs[0]["seconds"] > 0 and recs[0]["repeats"] == 2
    assert len(recs[0]["walls"]) == 2 and recs[0]["cpu_seconds"] >= 0
    busy = recs[0]["contended"]["spin"]
    assert busy["ratio"] == busy["seconds"] / recs[0]["seconds"]
    assert recs[1]["seconds"] is None and recs[1]["skipped"] == "not differentiable" and "contended" not in recs[1]
    rows = contended_cells(recs, ("spin",))
    assert rows == [[w.name, "a", f"{recs[0]['seconds']:.3f}", f"{busy['seconds']:.3f} s ({busy['ratio']:.2f}×)"]]
