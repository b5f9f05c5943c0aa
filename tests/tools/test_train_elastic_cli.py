"""`neurender train` under torchrun's elastic agent: a restarted worker (same rendezvous id) resumes the run
in --out by itself; another job is refused as before; --micro-batch is recorded and checked."""

import json
from pathlib import Path

from gan2d.data.toy import write_disc_folder
from tools.cli import main

TINY = ["--resolution", "8", "--batch", "4", "--workers", "0", "--no-progress", "--z-dim", "4", "--w-dim", "4",
        "--channel-base", "32", "--channel-max", "4", "--mapping-layers", "1", "--kimg", "0.008",
        "--snap-kimg", "0.004"]


def test_a_restarted_worker_resumes_and_another_job_is_refused(tmp_path: Path, monkeypatch, capsys) -> None:
    args = ["train", "stylegan2", "--data", str(write_disc_folder(tmp_path / "discs", 8, 8)), "--out",
            str(tmp_path / "run"), "--micro-batch", "2", *TINY]
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job-1")
    assert main(args) == 0
    assert "trained 0.008 kimg in 2 steps" in capsys.readouterr().out
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["micro_batch"] == 2
    assert main(args) == 0  # the same job again (a restart, a requeue): continues from its snapshot
    assert "trained 0.008 kimg in 2 steps" in capsys.readouterr().out
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job-2")
    assert main(args) == 2
    assert "already holds a training run; pass --resume" in capsys.readouterr().err
    monkeypatch.delenv("TORCHELASTIC_RUN_ID")
    assert main(args) == 2


def test_a_micro_batch_that_does_not_divide_the_batch_is_refused(tmp_path: Path, capsys) -> None:
    args = ["train", "stylegan2", "--data", str(write_disc_folder(tmp_path / "discs", 8, 8)), "--out",
            str(tmp_path / "run"), *TINY, "--micro-batch", "3"]
    assert main(args) == 2
    assert "micro_batch must divide batch_size (4), got 3" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # refused before anything is written
