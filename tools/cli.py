"""The single `neurender` entry point. Each job module registers its own commands here.

Errors from the libraries (bad meshes, broken scene files, corrupt checkpoints, missing backends)
become a one-line message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import functools
import sys

import typer

from gan2d.errors import Gan2DError
from render3d.errors import Render3DError
from tools.errors import ToolError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="3D-aware neural rendering engine.")
bench_app = typer.Typer(no_args_is_help=True, help="Timed workloads against the installed peers.")
app.add_typer(bench_app, name="bench")

USER_ERRORS: tuple[type[Exception], ...] = (Render3DError, Gan2DError, ToolError, FileNotFoundError)


@functools.cache
def _register() -> None:
    # One line per job module; each module exposes `register(app)` (and bench modules `register(bench_app)`).
    from tools import backends, bench_gan, bench_render, gan, render, train

    render.register(app)
    backends.register(app)
    bench_render.register(bench_app)
    gan.register(app)
    bench_gan.register(bench_app)
    train.register(app)
    from tools import datagen

    datagen.register(app)
    from tools import bench_reconstruct, reconstruct

    reconstruct.register(app)
    bench_reconstruct.register(bench_app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    _register()
    try:
        app(args=argv, standalone_mode=False)
    except USER_ERRORS as e:
        print(f"neurender: error: {e}", file=sys.stderr)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        print("neurender: aborted", file=sys.stderr)
        return 130
    except Exception as e:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(e, click.ClickException):
            e.show()
            return e.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
