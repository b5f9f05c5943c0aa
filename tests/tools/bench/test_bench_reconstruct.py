import numpy as np
import pytest

from tools.bench.reconstruct import evaluate, markdown_table, run_benchmark
from tools.errors import ToolError
from tools.reconstruct.fit import FitSettings
from tools.reconstruct.synthetic import shapes
from tools.reconstruct.synthetic_hard import hard_shapes


def test_benchmark_has_enough_varied_shapes_and_a_table():
    table = shapes()
    assert len(table) >= 10 and len({s.name for s in table}) == len(table)
    row = {"shape": "x", "input_iou": 0.99, "novel_iou": 0.9, "chamfer": 0.01, "seconds": 1.0, "cpu_seconds": 0.9}
    md = markdown_table({"rows": [{**row, "set": "easy"}], "mean": {"easy": row}})
    lines = md.splitlines()
    assert lines[0] == "**easy set**" and lines[4].startswith("| x | 0.990 | 0.900 | 0.0100 |") and "**mean**" in md


def test_unknown_sets_and_shapes_are_refused():
    with pytest.raises(ToolError, match="set"):
        run_benchmark(sets=("medium",))
    with pytest.raises(ToolError, match="shape"):
        run_benchmark(names=["teapot"], sets=("easy",))


def test_one_easy_shape_end_to_end_scores_sensibly():
    chosen = next(s for s in shapes() if s.name == "sphere")
    r = evaluate(chosen, 48, FitSettings(steps=8))
    assert r["input_iou"] > 0.9 and r["novel_iou"] > 0.7 and r["chamfer"] < 0.06


@pytest.mark.slow
def test_benchmark_quality_on_three_shapes():
    chosen = [s for s in shapes() if s.name in ("sphere", "egg", "capsule")]
    rows = [evaluate(s, 128, FitSettings()) for s in chosen]
    assert np.mean([r["input_iou"] for r in rows]) >= 0.97
    assert np.mean([r["novel_iou"] for r in rows]) >= 0.75
    assert np.mean([r["chamfer"] for r in rows]) <= 0.03


@pytest.mark.slow
def test_hard_set_quality_on_three_shapes():
    chosen = [s for s in hard_shapes() if s.name in ("bunny", "mug", "chair")]
    rows = [evaluate(s, 128, FitSettings()) for s in chosen]
    assert min(r["input_iou"] for r in rows) >= 0.97
    assert np.mean([r["novel_iou"] for r in rows]) >= 0.75
    assert np.mean([r["chamfer"] for r in rows]) <= 0.03


def test_check_set_holds_new_shapes_of_the_hard_kinds_with_their_genus():
    from render3d.topology import MeshTopology
    from tools.reconstruct.synthetic_check import check_shapes
    from tools.reconstruct.synthetic_hard import _table as hard_table

    check = check_shapes()
    names = [s.name for s in check]
    assert len(names) == 8 and len(set(names)) == 8
    assert not set(names) & ({s.name for s in shapes()} | {row[0] for row in hard_table()})  # held out from both
    genus = {}
    for s in check:
        v, f = s.mesh.verts_packed(), s.mesh.faces_packed()
        chi = len(v) - MeshTopology.from_meshes(s.mesh).edges.shape[0] + len(f)
        genus[s.name] = (2 - chi) // 2
    assert genus == {"stool": 0, "bench": 0, "dog": 0, "person": 0, "wheel": 1, "teapot": 1, "lamp": 0, "shelf": 3}


@pytest.mark.slow
def test_ring_prior_stands_the_torus_up_and_the_check_sets_wheel_too():
    from tools.reconstruct.synthetic_check import check_shapes

    torus = next(s for s in hard_shapes() if s.name == "torus")
    wheel = next(s for s in check_shapes() if s.name == "wheel")
    for shape, floor in ((torus, 0.85), (wheel, 0.6)):
        on, off = (evaluate(shape, 128, FitSettings(rings=r)) for r in (True, False))
        assert on["input_iou"] >= 0.97 and on["novel_iou"] >= floor and on["novel_iou"] > off["novel_iou"] + 0.05
