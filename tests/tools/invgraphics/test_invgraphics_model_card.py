"""The model card's reproduce section: datagen and train lines rebuilt from the recorded run and sets."""

from __future__ import annotations

import json
from pathlib import Path

from tools.invgraphics.model_card import reproduce_commands


def _set(root: Path, settings: dict) -> str:
    root.mkdir()
    (root / "dataset.json").write_text(json.dumps({"settings": settings}))
    return str(root)


def test_reproduce_commands_name_every_set_and_the_run_options(tmp_path: Path) -> None:
    shapes = _set(tmp_path / "shapes", {"kind": "shapes", "count": 600, "views": 4, "size": 64, "seed": 13})
    gan = _set(tmp_path / "gan", {"identities": 120, "views": 4, "size": 64, "seed": 5, "truncation": 0.7})
    run = {"sets": [{"root": shapes, "repeat": 1}, {"root": gan, "repeat": 3}],
           "loop": {"total_kimg": 8.0, "batch_size": 8, "lr_g": 0.001, "seed": 0},
           "task": {"other_views": 2}, "model": {"level": 3, "symmetric": True, "net": {"offset_channels": 1}},
           "init": None}
    lines = reproduce_commands(run, "w.safetensors")
    assert lines[0] == "neurender datagen --kind shapes --count 600 --views 4 --size 64 --seed 13 --out data/shapes"
    assert lines[1] == "neurender datagen --from-gan --identities 120 --views 4 --size 64 --seed 5 --out data/gan"
    assert lines[2] == ("neurender train inverse-graphics --data data/shapes --data data/gan --repeat 1 --repeat 3 "
                        "--kimg 8 --batch 8 --lr 0.001 --other-views 2 --level 3 --symmetric --seed 0 "
                        "--out runs/invgraphics --export w.safetensors")


def test_reproduce_commands_give_a_gan_set_its_pose_ranges_and_name_the_start(tmp_path: Path) -> None:
    gan = _set(tmp_path / "gan", {"identities": 480, "views": 4, "size": 64, "seed": 13, "yaw": [-50.0, 50.0],
                                  "pitch": [-15.0, 15.0]})
    run = {"sets": [{"root": gan, "repeat": 1}], "loop": {"total_kimg": 8.0, "batch_size": 8, "lr_g": 0.001, "seed": 0},
           "task": {"other_views": 2}, "model": {"level": 3, "symmetric": False, "net": {"offset_channels": 1}},
           "init": "old/invgraphics.safetensors"}
    lines = reproduce_commands(run, "w.safetensors")
    assert lines[0] == ("neurender datagen --from-gan --identities 480 --yaw=-50:50 --pitch=-15:15 --views 4 --size 64 "
                        "--seed 13 --out data/gan")
    assert " --init WEIGHTS " in lines[1]
    assert lines[2] == ("# WEIGHTS: the encoder the run started from (old/invgraphics.safetensors; its own card gives "
                        "its lines)")
