"""`neurender view RUN [RUN…]`: serve the runs in a browser, or `--html OUT` for a static report."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import typer


def write_report(runs: Sequence[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Write one self-contained HTML file covering `runs` (every run is opened and checked first).

    Example:
        >>> write_report(["runs/demo"], "demo.html")  # doctest: +SKIP
        PosixPath('demo.html')
    """
    from tools.view.detect import open_run
    from tools.view.report import RunReport, write_html

    pages = [open_run(r) for r in runs]
    return write_html(out, [RunReport(p.title, p.path, p.report()) for p in pages])


def register(app: typer.Typer) -> None:
    """Add the `view` command to the CLI."""

    @app.command("view")
    def view_cmd(
        runs: list[Path] = typer.Argument(..., help="run directories (render, reconstruct, datagen, train, pc2img)"),
        port: int = typer.Option(8080, "--port", help="TCP port of the viewer (0: any free port)"),
        host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on (0.0.0.0: other machines)"),
        html: Path | None = typer.Option(None, "--html", help="write a static one-file HTML report here instead"),
    ) -> None:
        """Show runs in a web viewer (3D meshes, clouds, cameras, images, curves), or write an HTML report."""
        if html is not None:
            written = write_report(runs, html)
            typer.echo(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB, {len(runs)} run(s))")
            return
        from tools.view.detect import open_run
        from tools.view.server import start_viewer

        pages = [open_run(r) for r in runs]
        viewer = start_viewer(pages, host=host, port=port)
        kinds = ", ".join(f"{p.path} ({p.kind})" for p in pages)
        typer.echo(f"viewing {kinds} at {viewer.url}  (Ctrl-C to stop)")
        try:
            viewer.server.sleep_forever()
        finally:  # Ctrl-C stops the server, then reaches main, which exits 130 like every other command
            viewer.stop()
