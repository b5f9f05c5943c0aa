"""The options every batch command shares, and the runner they select.

`--ray` takes an optional address: `--ray` alone starts a local Ray instance, `--ray auto` joins the
cluster running on this node, `--ray HOST:PORT` / `--ray ray://HOST:PORT` a remote one. Typer has no
optional-value options, so `BatchCommand` reads a `--ray` not followed by an address as `--ray local`
(an address is `auto`, `ray://…` or `HOST:PORT`; anything else after `--ray` is the next argument).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand

from tools.errors import ToolError

if TYPE_CHECKING:
    from scenes.jobs.driver import Runner

LOCAL = "local"
_ADDRESS = re.compile(r"^(auto|local|ray://\S+|[\w.\-]+:\d+|\[[0-9a-fA-F:]+\]:\d+)$")

# No square brackets in help texts: typer's rich help reads them as markup and drops them.
RAY_HELP = ("run the tasks on Ray: alone, a local Ray instance with --workers CPUs; or the cluster at ADDRESS "
            "(auto, HOST:PORT, ray://HOST:PORT). Default: this machine, no Ray")


def ray_option() -> Any:
    return typer.Option(None, "--ray", metavar="[ADDRESS]", help=RAY_HELP, show_default=False)


def workers_option() -> Any:
    return typer.Option(None, "--workers", help="tasks at once: local processes, or Ray CPUs for a local instance "
                                                "(on a cluster: at most this many). Default: 2; on a cluster, all")


def retries_option() -> Any:
    return typer.Option(1, "--retries", help="extra attempts of a task that raised or whose worker died")


def chunk_option() -> Any:
    return typer.Option(1, "--chunk", help="tasks per worker submission (for tasks much shorter than a second)")


class BatchCommand(TyperCommand):
    """A command whose `--ray` may stand without a value (then it means a local Ray instance)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expand_ray_flag(args))


def expand_ray_flag(args: list[str]) -> list[str]:
    """`--ray` not followed by an address → `--ray=local`.

    Example:
        >>> expand_ray_flag(["a.txt", "--ray", "--out", "o"]), expand_ray_flag(["--ray", "head:6379"])
        (['a.txt', '--ray=local', '--out', 'o'], ['--ray', 'head:6379'])
    """
    out = []
    for k, a in enumerate(args):
        if a == "--ray" and (k + 1 == len(args) or not _ADDRESS.match(args[k + 1])):
            a = f"--ray={LOCAL}"
        out.append(a)
    return out


def check_batch_options(workers: int | None, retries: int, chunk: int) -> None:
    """Raises ToolError for values out of range (before anything is loaded)."""
    if workers is not None and not 1 <= workers <= 4096:
        raise ToolError(f"--workers must be within 1..4096, got {workers}")
    if not 0 <= retries <= 100:
        raise ToolError(f"--retries must be within 0..100, got {retries}")
    if not 1 <= chunk <= 100_000:
        raise ToolError(f"--chunk must be within 1..100000, got {chunk}")


def make_runner(ray: str | None, workers: int | None) -> Runner:
    """The runner `--ray` / `--workers` ask for: local processes (default 2), a local Ray instance, a cluster.

    Raises:
        ToolError: `--ray` was given but Ray is not installed, or the address is malformed.
    """
    if ray is None:
        from scenes.jobs.local import local_runner

        return local_runner(workers or 2)
    if not _ADDRESS.match(ray):
        raise ToolError(f"--ray takes auto, HOST:PORT or ray://HOST:PORT, got {ray!r}")
    try:
        from scenes.jobs.ray_runner import RayRunner
    except ImportError as e:
        raise ToolError(f"--ray needs Ray: pip install 'neurender[ray]' ({e})") from None
    if ray == LOCAL:
        return RayRunner(None, workers or 2)
    return RayRunner(ray, workers)
