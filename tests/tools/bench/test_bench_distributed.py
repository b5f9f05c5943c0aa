"""`neurender bench distributed` pieces that need no Ray instance: timing records of local runners (every
task written, on a kept-warm pool too), the table, and the training rate from a run's stats lines."""

import json
from pathlib import Path

import pytest
from rich.console import Console

from tools.bench.distributed import EmptyJob, _train_images_per_s, rows, time_jobs
from tools.errors import ToolError


def test_local_runners_write_every_task_and_report_it(tmp_path: Path) -> None:
    records = time_jobs("empty", lambda out, n: EmptyJob(out, n), 6, 2, tmp_path, Console(quiet=True),
                        runners=(("local", 1), ("local", 2)))
    assert [r["runner"] for r in records] == ["local 1", "local 2"]
    for r in records:
        assert r["tasks"] == 6 and r["first_job_tasks"] == 2
        assert r["per_task_ms"] == pytest.approx(1000 * r["seconds"] / 6)
    for name in ("empty-local1", "empty-local2", "empty-local2-warmup"):
        folders = sorted(p.name for p in (tmp_path / name).iterdir())
        assert folders == [f"{i:06d}" for i in range(6 if not name.endswith("warmup") else 2)]
        assert all((tmp_path / name / f / "x").read_bytes() == b"x" for f in folders)
    assert [row[:3] for row in rows(records)] == [["empty", "local 1", "6"], ["empty", "local 2", "6"]]


def test_training_rate_comes_from_the_first_and_last_stats_lines(tmp_path: Path) -> None:
    lines = [{"kimg": 0.16, "sec": 9.0}, {"kimg": 0.32, "sec": 13.0}, {"kimg": 0.48, "sec": 17.0}]
    (tmp_path / "stats.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert _train_images_per_s(tmp_path) == pytest.approx(320 / 8.0)  # start-up before line 1 left out
    (tmp_path / "stats.jsonl").write_text(json.dumps(lines[0]) + "\n")
    with pytest.raises(ToolError, match="too short to time"):
        _train_images_per_s(tmp_path)
