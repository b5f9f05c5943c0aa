"""A real 2-process `torchrun` training run on CPU (gloo): both ranks must end with identical weights."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

DRIVER = textwrap.dedent(
    """
    import hashlib, json, sys
    import torch
    from tests.gan2d.toy_nets import ToyDiscriminator, ToyGenerator
    from gan2d.data.toy import TensorImageDataset, disc_images
    from gan2d.train.config import TrainConfig
    from gan2d.train.distributed import init_distributed, shutdown_distributed
    from gan2d.train.loop import train
    from gan2d.train.stylegan2_task import StyleGAN2LossConfig, StyleGAN2Task

    torch.set_num_threads(1)
    out = sys.argv[1]
    info = init_distributed("cpu")
    torch.manual_seed(100 + info.rank)  # different init per rank: the loop must broadcast rank 0's weights
    cfg = TrainConfig(total_kimg=0.048, batch_size=8, log_every=2, sample_every_kimg=0, checkpoint_every_kimg=0,
                      progress=False)
    task = StyleGAN2Task(ToyGenerator(), ToyDiscriminator(), cfg, StyleGAN2LossConfig(r1_interval=2, pl_interval=2))
    res = train(task, TensorImageDataset(disc_images(32, 16)), cfg, out, info)
    h = hashlib.sha256()
    for name in ("G", "D", "G_ema"):
        for k, v in sorted(task.networks[name].state_dict().items()):
            h.update(k.encode()); h.update(v.numpy().tobytes())
    with open(f"{out}/rank{info.rank}.json", "w") as f:
        json.dump({"hash": h.hexdigest(), "world": info.world_size, "steps": res.steps, "nimg": res.nimg}, f)
    shutdown_distributed()
    """
)


def test_two_process_torchrun(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = dict(os.environ)
    here = str(Path(__file__).parents[2])  # the repository root, so `tests.gan2d.toy_nets` imports
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=2",
           str(script), str(tmp_path / "run")]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = json.loads((tmp_path / "run" / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "run" / "rank1.json").read_text())
    assert r0["world"] == r1["world"] == 2
    assert r0["steps"] == r1["steps"] == 6 and r0["nimg"] == 48
    assert r0["hash"] == r1["hash"]  # gradients averaged and weights broadcast: the ranks never diverge
    # rank 0 alone wrote the run directory
    assert (tmp_path / "run" / "checkpoints" / "latest").is_file()
    assert len((tmp_path / "run" / "stats.jsonl").read_text().splitlines()) == 3
