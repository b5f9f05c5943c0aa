"""`neurender datagen`: writes a dataset, resumes, and maps bad input to exit code 2."""

import json
from pathlib import Path

from tools.cli import main


def test_datagen_cli_writes_and_resumes(tmp_path: Path, capsys) -> None:
    args = ["datagen", "--kind", "shapes", "--count", "2", "--views", "2", "--size", "24", "--out", str(tmp_path),
            "--workers", "1", "--supersample", "1", "--no-progress"]
    assert main(args) == 0
    assert "2 rendered, 0 already done" in capsys.readouterr().out
    index = json.loads((tmp_path / "dataset.json").read_text())
    assert index["complete"] and len(index["samples"]) == 2
    assert len(list((tmp_path / "images").glob("*.png"))) == 4
    assert main(args) == 0
    assert "0 rendered, 2 already done" in capsys.readouterr().out


def test_datagen_cli_bad_input_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["datagen", "--kind", "cars", "--out", str(tmp_path)]) == 2
    assert "kind must be one of heads, shapes, scenes" in capsys.readouterr().err
    assert main(["datagen", "--size", "2", "--out", str(tmp_path)]) == 2
    (tmp_path / "file").write_text("x")
    assert main(["datagen", "--count", "1", "--out", str(tmp_path / "file")]) == 2


def test_datagen_cli_pose_ranges(tmp_path: Path, capsys) -> None:
    args = ["datagen", "--kind", "heads", "--count", "1", "--views", "3", "--size", "16", "--out", str(tmp_path),
            "--workers", "1", "--supersample", "1", "--no-progress", "--yaw", "-45:45", "--pitch=-20:20", "--roll", "0"]
    assert main(args) == 0
    settings = json.loads((tmp_path / "dataset.json").read_text())["settings"]
    assert (settings["yaw"], settings["pitch"], settings["roll"]) == ([-45.0, 45.0], [-20.0, 20.0], [0.0, 0.0])
    views = json.loads((tmp_path / "samples" / "000000" / "params.json").read_text())["views"]
    assert all(-45 <= v["yaw_deg"] <= 45 and v["roll_deg"] == 0 for v in views)
    capsys.readouterr()
    assert main(["datagen", "--yaw", "10:-10", "--out", str(tmp_path / "x")]) == 2
    assert "yaw range must be (low, high)" in capsys.readouterr().err
    assert main(["datagen", "--pitch", "up", "--out", str(tmp_path / "x")]) == 2
    assert "--pitch takes LOW:HIGH" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
