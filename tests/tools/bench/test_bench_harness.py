import json
import math
import os
import signal
import time
from pathlib import Path

import pytest

from tools.bench.contention import Competitor
from tools.bench.harness import machine, markdown_table, time_call, write_report
from tools.errors import ToolError


def test_time_call_warms_up_then_times_repeats():
    calls = []
    t = time_call(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6 and t.runs == 4 and len(t.walls) == 4
    assert min(t.walls) <= t.wall_s <= max(t.walls) and t.cpu_s >= 0 and math.isfinite(t.load1)


def test_a_first_run_over_budget_is_the_only_one():
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.02)

    t = time_call(slow, repeats=5, budget_s=0.01)
    assert len(calls) == 1 and t.runs == 1 and t.wall_s >= 0.02
    with pytest.raises(ValueError):
        time_call(slow, repeats=0)


def test_report_writes_json_and_markdown_with_the_machine(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    md = write_report(tmp_path / "r.json", [{"a": 1}], markdown_table(["a"], [["1"]]), note="x")
    payload = json.loads((tmp_path / "r.json").read_text())
    assert payload["records"] == [{"a": 1}] and payload["note"] == "x"
    assert payload["machine"]["thread_env"]["OMP_WAIT_POLICY"] == "PASSIVE"
    assert payload["machine"]["cpu_count"] == os.cpu_count() and len(payload["machine"]["loadavg"]) == 3
    text = md.read_text()
    assert md == tmp_path / "r.md" and text.startswith("Machine: ") and "OMP_WAIT_POLICY=PASSIVE" in text
    assert text.endswith("| a |\n|---|\n| 1 |\n")
    assert machine()["torch_threads"] >= 1


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_competitor_runs_only_while_busy_and_is_gone_after():
    with Competitor("spin") as rival:
        pid = rival._proc.pid
        assert _state(pid) == "T"  # stopped
        with rival.busy():
            assert _state(pid) == "R"
        assert _state(pid) == "T"
    assert rival._proc.poll() == -signal.SIGTERM
    with pytest.raises(ToolError, match="unknown competitor"):
        Competitor("nope")
