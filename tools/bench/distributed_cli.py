"""The `neurender bench distributed` command line. Only typer loads at import; the command imports the
bench (`tools.bench.distributed`: the job engine, Ray, torch) when it runs, so `--help` and usage errors cost
no torch start-up."""

from __future__ import annotations

from pathlib import Path

import typer


def register(bench_app: typer.Typer) -> None:
    """Add `distributed` to the bench group."""

    @bench_app.command("distributed")
    def bench_distributed_cmd(
        count: int = typer.Option(12, min=2, help="datagen samples per runner"),
        scenes: int = typer.Option(12, min=2, help="scene files per runner"),
        empty: int = typer.Option(200, min=2, help="empty tasks per runner (runner overhead)"),
        kind: str = typer.Option("shapes", help="datagen kind: heads, shapes, scenes"),
        views: int = typer.Option(2, min=1, help="views per sample / frames per scene"),
        size: int = typer.Option(64, min=8, help="image side in pixels"),
        train_kimg: float = typer.Option(0.64, help="training length per process count (0: skip training)"),
        train_batch: int = typer.Option(16, min=2, help="global training batch"),
        json_out: Path = typer.Option(Path("bench_distributed.json"), "--json", help="where to write the records"),
    ) -> None:
        """Datagen, batch render and empty-task throughput locally and on Ray (1, 2 workers); training on 1 vs 2."""
        from rich.console import Console

        from tools.bench.distributed import bench_distributed

        bench_distributed(count, scenes, empty, kind, views, size, train_kimg, train_batch, json_out, Console())
