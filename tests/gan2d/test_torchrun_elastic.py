"""Elastic multi-node training for real: two torchrun agents ("nodes", one gloo process each) meet through
a c10d rendezvous; a worker is killed mid-run, torchrun restarts the job, the workers resume from the
last complete snapshot and end with the weights of an uninterrupted run of the same length, here one
process accumulating both micro-batches of every step (so this also checks that the global batch does
not depend on the number of processes)."""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from gan2d.data.toy import TensorImageDataset, disc_images
from gan2d.train.config import TrainConfig
from gan2d.train.loop import train
from gan2d.train.stylegan2_task import StyleGAN2LossConfig, StyleGAN2Task
from tests.gan2d.toy_nets import ToyDiscriminator, ToyGenerator

ROOT = Path(__file__).parents[2]
STEPS, BATCH, MICRO = 12, 8, 4
KILL_AT_STEP = 6  # after the snapshot of step 4 (every 4 steps), before the one of step 8


def _config() -> TrainConfig:
    return TrainConfig(total_kimg=STEPS * BATCH / 1000, batch_size=BATCH, micro_batch=MICRO, log_every=2,
                       sample_every_kimg=0, checkpoint_every_kimg=4 * BATCH / 1000, progress=False)


def _task() -> StyleGAN2Task:
    torch.manual_seed(100)
    return StyleGAN2Task(ToyGenerator(), ToyDiscriminator(), _config(), StyleGAN2LossConfig(r1_interval=2,
                                                                                           pl_interval=2))


DRIVER = textwrap.dedent(f"""
    import json, os, signal, sys
    import torch
    from gan2d.data.toy import TensorImageDataset, disc_images
    from gan2d.train.distributed import init_distributed, shutdown_distributed
    from gan2d.train.loop import train
    from tests.gan2d.test_torchrun_elastic import _config, _task

    class Served(torch.utils.data.Dataset):
        '''Counts the items this process reads; the first process to read an item of step {KILL_AT_STEP}
        on rank 1 is killed there (once per job: the kill leaves a file).'''

        def __init__(self, data, kill):
            self.data, self.kill, self.served = data, kill, 0

        def __len__(self):
            return len(self.data)

        def __getitem__(self, i):
            self.served += 1
            if self.kill and self.served > {KILL_AT_STEP} * {MICRO}:
                try:
                    os.close(os.open(os.path.join(out, "killed"), os.O_CREAT | os.O_EXCL))
                except FileExistsError:
                    pass
                else:
                    os.kill(os.getpid(), signal.SIGKILL)
            return self.data[i]

    torch.set_num_threads(1)
    out = sys.argv[1]
    info = init_distributed("cpu")
    task = _task()
    data = Served(TensorImageDataset(disc_images(32, 16)), kill=info.rank == 1)
    res = train(task, data, _config(), out, info)
    record = {{"rank": info.rank, "world": info.world_size, "served": data.served, "nimg": res.nimg,
               "restart": int(os.environ["TORCHELASTIC_RESTART_COUNT"])}}
    with open(os.path.join(out, f"done-{{info.rank}}.json"), "w") as f:
        json.dump(record, f)
    if info.rank == 0:
        torch.save({{k: n.state_dict() for k, n in task.networks.items()}}, os.path.join(out, "final.pt"))
    shutdown_distributed()
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Slow: six fresh torch processes (two agents, two workers, two restarted workers) and the rendezvous
# timers take about a minute on a 2-core machine. The default suite keeps the pieces: a real 2-process
# torchrun (test_torchrun.py), exact resume (test_train_resume.py), micro-batches independent of the
# process count (test_accumulate.py) and an elastic restart resuming --out (tests/tools/test_train_elastic_cli.py).
@pytest.mark.slow
def test_two_nodes_survive_a_killed_worker_and_match_an_uninterrupted_run(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    out = tmp_path / "run"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    port = _free_port()
    node = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=1",
            "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=elastic-test",
            "--max-restarts=1", "--monitor-interval=0.2", str(script), str(out)]
    agents = [subprocess.Popen(node, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
              for _ in range(2)]
    try:
        logs = [a.communicate(timeout=300)[0] for a in agents]
    finally:
        for a in agents:
            a.kill()
    assert all(a.returncode == 0 for a in agents), "\n".join(log[-3000:] for log in logs)
    assert (out / "killed").is_file()  # a worker did die mid-run
    done = [json.loads((out / f"done-{r}.json").read_text()) for r in (0, 1)]
    assert all(d["world"] == 2 and d["nimg"] == STEPS * BATCH for d in done)
    assert max(d["restart"] for d in done) == 1  # the job was restarted once …
    # … and resumed from the snapshot of step 4: each process read only the 8 steps after it.
    assert [d["served"] for d in done] == [(STEPS - 4) * MICRO] * 2

    task = _task()  # the same run uninterrupted, in one process that accumulates both micro-batches
    train(task, TensorImageDataset(disc_images(32, 16)), _config(), tmp_path / "reference")
    final = torch.load(out / "final.pt", weights_only=True)
    for name, net in task.networks.items():
        for key, value in net.state_dict().items():
            torch.testing.assert_close(final[name][key], value, rtol=1e-5, atol=1e-6, msg=f"{name}.{key}")
    assert not torch.equal(final["G"]["synthesis.fc0.weight"], _task().networks["G"].state_dict()[
        "synthesis.fc0.weight"])  # it trained
