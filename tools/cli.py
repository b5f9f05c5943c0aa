"""The single `neurender` entry point.

Every command is one line of `COMMANDS`: its path (`"render"`, `"gan info"`), the module whose
`register(app)` adds it to `app` (the group its path names), and the one-line help the group's
`--help` lists. A module is imported only when one of its commands is looked up to run (or its own
`--help`), so `neurender --help`, `neurender gan --help` and mistyped commands never load torch or a
backend. A command module that keeps its heavy imports inside the command body (`tools.gan.cli`,
`tools.render_cli`) keeps its own `--help` and usage errors torch-free too (tests/tools/test_bad_input.py
lists the commands checked).

Errors from the libraries (bad meshes, broken scene files, corrupt checkpoints, missing backends) and
usage errors become one line on stderr and exit code 2; Ctrl-C exits 130. Never a traceback.
"""

from __future__ import annotations

import os

# Set before anything can load torch: OpenMP reads these once, when the runtime loads. With PASSIVE,
# idle OpenMP workers sleep at the barriers of the many small parallel regions a render runs instead
# of spinning on them; spinning is what collapses throughput when the cores are shared with another
# busy process (issue 9 §2: a 100k-point bench cell took 2.2 s beside a second torch process, 0.094 s
# with PASSIVE). KMP_BLOCKTIME=0 is the same setting for Intel's OpenMP runtime. A user's own value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("KMP_BLOCKTIME", "0")

import functools
import importlib
import re
import sys
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

# command path → (module with `register(app)`, one-line help). Adding a job is one line here.
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("tools.render_cli", "Render a scene file, or a mesh / point cloud from N orbit views."),
    "backends": ("tools.backends", "List rendering backends: available or not (and why), install, capabilities."),
    "datagen": ("tools.datagen", "Render a multi-view dataset: images, masks, depth, normals, cameras, index."),
    "reconstruct": ("tools.reconstruct.cli", "Reconstruct a textured 3D mesh from one photo by inverse rendering."),
    "invgraphics": ("tools.invgraphics.cli", "Predict a textured mesh and camera from one photo (learned encoder)."),
    "pc2img": ("tools.pc2img.cli", "Render point clouds / COLMAP models to photo-like images; per-scene fit."),
    "faces": ("tools.faces.cli", "Multi-view faces at requested yaw/pitch from seeds or a photo, pose-calibrated."),
    "view": ("tools.view.cli", "Show runs in a web viewer (meshes, clouds, cameras, images, curves) or as HTML."),
    "gan info": ("tools.gan.cli", "Print a checkpoint's architecture and resolution."),
    "gan generate": ("tools.gan.cli", "Generate images for seeds (and a style-mixing grid) from a generator."),
    "gan export": ("tools.gan.cli", "Convert any supported checkpoint to our safetensors format."),
    "train stylegan2": ("tools.train.cli", "Train a StyleGAN2 generator on an image folder."),
    "train refiner": ("tools.train.cli", "Train an image-to-image refiner (SPADE / pix2pixHD / U-Net)."),
    "train faces": ("tools.faces.train_cli", "Train the faces generator, head analyzer, pose control, inverter."),
    "train pc2img": ("tools.pc2img.train_cli", "Train the pc2img stages on data-engine clouds (the shipped weights)."),
    "train inverse-graphics": ("tools.invgraphics.train_cli", "Train the image → mesh encoder through the renderer."),
    "train neural-renderer": ("tools.invgraphics.train_cli", "Train the GAN's attribute mapping (StyleGAN-R)."),
    "bench render": ("tools.bench.render", "Time mesh and point rendering against the installed peers."),
    "bench gan": ("tools.bench.gan", "Time StyleGAN2 generator and discriminator passes."),
    "bench reconstruct": ("tools.bench.reconstruct", "Reconstruct synthetic shapes and score them."),
    "bench faces": ("tools.bench.faces", "Faces pose error per bin vs the estimator floor, identity drift, FD, speed."),
    "bench pc2img": ("tools.bench.pc2img", "pc2img quality vs density beside classical baselines, per-scene, speed."),
    "bench invgraphics": ("tools.bench.invgraphics", "Learned inverse graphics vs optimization only, GAN renderer."),
    "bench distributed": ("tools.bench.distributed_cli", "Datagen / batch render / per-task overhead locally and "
                          "on Ray; training on 1 vs 2 processes."),
}
# command groups → help
GROUPS: dict[str, str] = {
    "": "3D-aware neural rendering engine.",
    "gan": "Inspect, sample and convert StyleGAN2 checkpoints.",
    "train": "Train GANs into a run directory (resumable, torchrun-ready).",
    "bench": "Timed workloads against the installed peers.",
}


@functools.cache
def _module_commands(module: str) -> dict[str, Any]:
    """The commands `module.register` adds to an empty group, by name (imports the module)."""
    app = typer.Typer()
    importlib.import_module(module).register(app)
    return dict(typer.main.get_group(app).commands)


class LazyGroup(TyperGroup):
    """A command group whose members come from `COMMANDS`, imported when one is looked up to run."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(name=path.rpartition(" ")[2] or "neurender", help=GROUPS[path], **kwargs)
        self.path = path
        self._listing = False

    def _child(self, name: str) -> str:
        return f"{self.path} {name}".strip()

    def list_commands(self, ctx: Any) -> list[str]:
        names = [p[len(self.path):].split()[0] for p in [*COMMANDS, *GROUPS] if p and self._is_below(p)]
        return list(dict.fromkeys(names))

    def _is_below(self, path: str) -> bool:
        return not self.path or path.startswith(self.path + " ")

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        path = self._child(cmd_name)
        if path in GROUPS:
            return LazyGroup(path)
        if path not in COMMANDS:
            return None
        module, help_text = COMMANDS[path]
        if self._listing:  # a help listing needs the name and help line only, not the module
            return TyperCommand(name=cmd_name, help=help_text)
        return _module_commands(module)[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args:  # a bare group prints its help and succeeds
            typer.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as e:  # typer would turn it into a silent exit code; main says "aborted"
            raise typer.Abort() from e


def _user_errors() -> tuple[type[Exception], ...]:
    # Imported on the error path only: the error families' packages load torch.
    from gan2d.errors import Gan2DError
    from render3d.errors import Render3DError
    from tools.errors import ToolError

    return (Render3DError, Gan2DError, ToolError, FileNotFoundError, PermissionError, IsADirectoryError,
            NotADirectoryError)


def _one_line(e: Exception) -> str:
    """The message on one line. An error re-raised from a DataLoader worker carries the worker's
    traceback in its message; its last line is the original error."""
    text = str(e)
    if "Traceback (most recent call last)" in text:
        last = [line for line in text.splitlines() if line.strip()][-1]
        text = re.sub(r"^[\w.]+: ", "", last.strip())  # drop the "package.ErrorName: " the traceback adds
    return " ".join(text.split())


def _usage_message(e: typer.TyperException) -> str:
    msg = " ".join(e.format_message().split())
    ctx = getattr(e, "ctx", None)
    return f"{msg} (see '{ctx.command_path} --help')" if ctx is not None else msg


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on `argv` (default: `sys.argv[1:]`); returns the process exit code."""
    try:
        rv = LazyGroup("").main(args=argv, prog_name="neurender", standalone_mode=False)
    except typer.Abort:
        print("neurender: aborted", file=sys.stderr)
        return 130
    except typer.TyperException as e:  # click's usage errors (typer ships its own click)
        print(f"neurender: error: {_usage_message(e)}", file=sys.stderr)
        return 2
    except Exception as e:
        if not isinstance(e, _user_errors()):
            raise
        print(f"neurender: error: {_one_line(e)}", file=sys.stderr)
        return 2
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
