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
