"""Busy competing processes for contended timings (`neurender bench render --contended`).

A laptop or CI runner rarely runs one job alone. A competitor is a subprocess that keeps cores busy while
a workload is timed beside it: `spin` is one Python thread in a busy loop, `matmul2` a torch process doing
small matrix products on 2 threads (another multi-threaded job, with its own OpenMP pool). Competitors are
started once and paused with SIGSTOP between contended timings, so idle and contended runs of a workload
can be interleaved without paying a process start each time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import AbstractContextManager

from tools.errors import ToolError

_PROGRAMS = {
    "spin": "import sys\nprint('ready', flush=True)\nwhile True:\n    pass\n",
    "matmul2": ("import torch\ntorch.set_num_threads(2)\na = torch.rand(256, 256)\nprint('ready', flush=True)\n"
                "while True:\n    a = (a @ a).clamp_(-1, 1)\n"),
}
COMPETITORS = tuple(_PROGRAMS)
# Seconds a resumed competitor gets to have its threads running again before a timing starts.
_SETTLE_S = 0.3


class Competitor(AbstractContextManager):
    """One competing process, paused unless inside `busy()`.

    It runs with the threading environment variables of this process removed, as a stock job would.

    Args:
        kind: one of `COMPETITORS`.

    Raises:
        ToolError: an unknown kind, or the process did not start.
    """

    def __init__(self, kind: str) -> None:
        if kind not in _PROGRAMS:
            raise ToolError(f"unknown competitor {kind!r}; known: {', '.join(COMPETITORS)}")
        self.kind = kind
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "KMP_", "GOMP_", "MKL_"))}
        self._proc = subprocess.Popen([sys.executable, "-c", _PROGRAMS[kind]], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, env=env, text=True)
        if self._proc.stdout is None or self._proc.stdout.readline().strip() != "ready":
            self.close()
            raise ToolError(f"competitor {kind!r} did not start")
        _pause(self._proc.pid)

    def busy(self) -> AbstractContextManager:
        """Context in which the competitor runs."""
        return _Running(self._proc.pid)

    def close(self) -> None:
        if self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGCONT)
            self._proc.terminate()
            self._proc.wait(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pause(pid: int) -> None:
    # Signals are delivered asynchronously: wait until the child has really stopped, so an idle timing
    # never starts beside a competitor that is still running.
    os.kill(pid, signal.SIGSTOP)
    os.waitpid(pid, os.WUNTRACED)


class _Running(AbstractContextManager):
    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __enter__(self) -> _Running:
        os.kill(self.pid, signal.SIGCONT)
        os.waitpid(self.pid, os.WCONTINUED)
        time.sleep(_SETTLE_S)
        return self

    def __exit__(self, *exc: object) -> None:
        _pause(self.pid)
