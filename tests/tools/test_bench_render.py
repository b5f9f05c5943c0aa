import torch
from rich.console import Console

from tools.bench_render import Workload, cells, markdown, run, scene, workloads


def test_workload_grid_covers_issue_targets():
    names = {w.name for w in workloads(full=False)}
    assert "mesh 10k faces 256² b1 fwd+bwd" in names
    assert "mesh 10k faces 256² b1 soft fwd+bwd" in names
    assert "points 1M points 512² b1 fwd" in names
    full = workloads(full=True)
    assert len({(w.count, w.size, w.batch) for w in full if w.kind == "mesh" and not w.soft}) == 3 * 3 * 2


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


def test_run_times_and_backpropagates():
    calls = []

    def runner(w, geom, cams):
        x = torch.ones(3, requires_grad=True)
        calls.append(x)
        return lambda: x * 2

    def refusing(w, geom, cams):
        return "not differentiable"

    w = Workload("points", 1_000, 16, 1, False, True)
    recs = run([w], {"a": runner, "b": refusing}, torch.device("cpu"), repeats=2, budget_s=60.0,
               console=Console(quiet=True))
    assert recs[0]["runner"] == "a" and recs[0]["seconds"] > 0 and recs[0]["repeats"] == 2
    assert calls[0].grad is not None  # forward+backward workloads really back-propagate
    assert recs[1]["seconds"] is None and recs[1]["skipped"] == "not differentiable"
