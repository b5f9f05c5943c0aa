"""`neurender backends`: which rendering backends are installed here, why not, and what each can do."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table


@dataclass(frozen=True)
class BackendStatus:
    """One row of the table."""

    name: str
    available: bool
    reason: str
    capabilities: str
    install: str


def backend_statuses() -> list[BackendStatus]:
    """Probe every registered backend (imports each optional package once) and describe it."""
    from render3d.backends import backend_info, backend_names, unavailable_reason  # torch: not for `--help`

    rows = []
    for name in backend_names():
        info = backend_info(name)
        reason = unavailable_reason(name)
        rows.append(BackendStatus(name, reason is None, reason or "", info.capabilities.summary(), info.install))
    return rows


def backends_table(rows: list[BackendStatus]) -> Table:
    """The rich table `neurender backends` prints."""
    table = Table(title="render3d backends")
    for col in ("backend", "available", "why not / install", "capabilities"):
        table.add_column(col, overflow="fold")
    for r in rows:
        why = "" if r.available else f"{r.reason}\n→ {r.install}"
        # install commands hold `[extra]` brackets, which rich would read as markup
        table.add_row(r.name, "yes" if r.available else "no", escape(why), escape(r.capabilities))
    return table


def register(app: typer.Typer) -> None:
    @app.command("backends")
    def backends_cmd() -> None:
        """List rendering backends: available or not (and why), their install command and capabilities."""
        Console(width=160).print(backends_table(backend_statuses()))
