import json

import numpy as np
import pytest
import torch
from PIL import Image

from gan2d.checkpoint import load_checkpoint, load_network
from gan2d.data.toy import disc_images, write_disc_folder
from gan2d.nets.unet import UNet, UNetConfig
from tools.cli import main

TINY = [
    "--resolution",
    "16",
    "--batch",
    "4",
    "--channel-base",
    "128",
    "--channel-max",
    "16",
    "--z-dim",
    "16",
    "--w-dim",
    "16",
    "--workers",
    "0",
    "--no-progress",
    "--sample-kimg",
    "0.008",
    "--snap-kimg",
    "0.008",
]


pytestmark = pytest.mark.usefixtures("one_thread")


def test_stylegan2_run_directory_and_resume(tmp_path):
    data = write_disc_folder(tmp_path / "discs", 8, 16)
    run = tmp_path / "run"
    assert main(["train", "stylegan2", "--data", str(data), "--out", str(run), "--kimg", "0.008", *TINY]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "stylegan2" and config["G"]["img_resolution"] == 16 and config["train"]["batch_size"] == 4
    assert len((run / "stats.jsonl").read_text().splitlines()) >= 1
    assert Image.open(next((run / "samples").glob("*.png"))).size == (64, 64)  # 16 samples, 4x4 grid
    snap = run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
    G = load_network(snap / "G_ema.safetensors")
    assert G(torch.randn(2, 16), noise_mode="const").shape == (2, 3, 16, 16)

    # resume with a longer schedule: continues from 2 steps to 4, other options come from config.json
    assert main(["train", "stylegan2", "--out", str(run), "--resume", "--kimg", "0.016", "--no-progress"]) == 0
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps[-1] == 4
    assert (run / "checkpoints" / "latest").read_text().strip() == "snapshot-000000016"


def test_refiner_run(tmp_path):
    (tmp_path / "pairs" / "input").mkdir(parents=True)
    (tmp_path / "pairs" / "target").mkdir()
    imgs = ((disc_images(4, 16) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    for i, img in enumerate(imgs):
        Image.fromarray(img).save(tmp_path / "pairs" / "target" / f"{i}.png")
        np.save(tmp_path / "pairs" / "input" / f"{i}.npy", img.mean(axis=2, keepdims=True).astype(np.float32) / 255)
    run = tmp_path / "run"
    args = [
        "train",
        "refiner",
        "--data",
        str(tmp_path / "pairs"),
        "--out",
        str(run),
        "--resolution",
        "16",
        "--arch",
        "unet",
        "--base-channels",
        "4",
        "--d-channels",
        "4",
        "--kimg",
        "0.004",
        "--batch",
        "2",
        "--workers",
        "0",
        "--no-progress",
        "--sample-kimg",
        "0.004",
        "--snap-kimg",
        "0.004",
    ]
    assert main(args) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["arch"] == "unet" and config["G"]["in_channels"] == 1 and config["D"]["in_channels"] == 4
    snap = run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
    # The last sample grid is [inputs; G_ema(inputs); targets], 4 columns: its rows must be the targets as
    # given and exactly what the saved G_ema computes from the inputs.
    grid = np.asarray(Image.open(sorted((run / "samples").glob("*.png"))[-1])).astype(int)
    assert grid.shape == (3 * 16, 4 * 16, 3)
    targets = np.concatenate(list(imgs), axis=1).astype(int)
    assert np.abs(grid[32:] - targets).max() <= 1
    _, g_config, state, _ = load_checkpoint(snap / "G_ema.safetensors")
    G = UNet(UNetConfig(**g_config)).eval()
    G.load_state_dict(state)
    inputs = torch.from_numpy(np.stack([np.load(tmp_path / "pairs" / "input" / f"{i}.npy") for i in range(4)]))
    with torch.no_grad():
        fake = G(inputs.permute(0, 3, 1, 2))
    fake_row = torch.cat(list((fake * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)), dim=1)
    assert np.abs(grid[16:32] - fake_row.numpy().astype(int)).max() <= 1
    assert grid[16:32].std() > 1  # the generated row is an image, not a flat fill


def test_user_errors_exit_2(tmp_path, capsys):
    assert main(["train", "stylegan2", "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    assert "--data is required" in capsys.readouterr().err
    assert main(["train", "stylegan2", "--out", str(tmp_path / "r"), "--resume"]) == 2
    assert "cannot resume" in capsys.readouterr().err
    assert main(["train", "stylegan2", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r")]) == 2
    assert "not found" in capsys.readouterr().err
    write_disc_folder(tmp_path / "d", 2, 16)
    assert (
        main(["train", "stylegan2", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "r"), "--resolution", "24"])
        == 2
    )
    assert "power of two" in capsys.readouterr().err
    (tmp_path / "p" / "input").mkdir(parents=True)
    (tmp_path / "p" / "target").mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "p" / "input" / "a.png")
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "p" / "target" / "a.png")
    rc = main(
        [
            "train",
            "refiner",
            "--data",
            str(tmp_path / "p"),
            "--out",
            str(tmp_path / "r2"),
            "--resolution",
            "16",
            "--arch",
            "unet",
            "--vgg",
            str(tmp_path / "vgg19.pth"),
            "--workers",
            "0",
            "--no-progress",
        ]
    )
    assert rc == 2
    assert "vgg19.pth" in capsys.readouterr().err
