"""Elastic training under torchrun: restarted workers resume the run, and meet without stale addresses.

torchrun (`--max-restarts N`, c10d rendezvous, `--nnodes MIN:MAX`) restarts every worker of a job when
one fails, on the nodes that rejoin. Two things make that a continuation of the same run:

- The run directory records the job's rendezvous id (`TORCHELASTIC_RUN_ID`, torchrun's `--rdzv-id`);
  a worker of the same job that finds snapshots there resumes from the latest (`is_elastic_restart`).
  A requeued job with the same id continues too; a new job with another id is refused as usual.
  (`TORCHELASTIC_RESTART_COUNT` cannot tell: a node whose own worker did not fail restarts with the
  count unchanged.)
- The process group of each attempt meets under a prefix of its own in the agents' store
  (`attempt_store`). torchrun keeps that store across restarts and torch's default prefix is the
  same for every attempt, so a restarted worker could read the address its dead predecessor
  published and fail to connect.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import torch.distributed as dist

ELASTIC_MARKER = ".elastic-run-id"
_KEY = "neurender/attempt"


def elastic_run_id() -> str | None:
    """The rendezvous id of the torchrun job this process belongs to, or None outside torchrun."""
    return os.environ.get("TORCHELASTIC_RUN_ID") or None


def mark_elastic_run(run_dir: str | os.PathLike) -> None:
    """Record the torchrun job that writes `run_dir` (called by the process that writes it)."""
    run_id = elastic_run_id()
    if run_id is not None:
        tmp = Path(run_dir) / f"{ELASTIC_MARKER}.tmp"
        tmp.write_text(run_id + "\n")
        tmp.replace(Path(run_dir) / ELASTIC_MARKER)


def is_elastic_restart(run_dir: str | os.PathLike) -> bool:
    """True when this process belongs to the torchrun job that wrote `run_dir` (a restarted worker).

    Example:
        >>> is_elastic_restart("/nonexistent")
        False
    """
    run_id, marker = elastic_run_id(), Path(run_dir) / ELASTIC_MARKER
    return run_id is not None and marker.is_file() and marker.read_text().strip() == run_id


def attempt_store(timeout: timedelta = timedelta(minutes=30)) -> dist.Store | None:
    """A store for this attempt's process group under torchrun's agent store, or None elsewhere.

    Rank 0 publishes a fresh token, every other rank acknowledges it, then rank 0 withdraws it, so
    the next attempt's ranks can only see the next attempt's token; the group meets under that token.
    """
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return None
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    base = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world, is_master=False,
                         timeout=timeout)
    if rank == 0:
        token = uuid.uuid4().hex
        base.set(f"{_KEY}/token", token)
        base.wait([f"{_KEY}/{token}/ack/{r}" for r in range(1, world)])
        base.delete_key(f"{_KEY}/token")
    else:
        token = base.get(f"{_KEY}/token").decode()
        base.set(f"{_KEY}/{token}/ack/{rank}", "1")
    return dist.PrefixStore(f"{_KEY}/{token}/", base)
