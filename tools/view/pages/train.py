"""`neurender train` runs: loss curves from `stats.jsonl` and the sample grids, latest first.

Layout read (see `gan2d.train.loop`): `stats.jsonl` (one JSON object per log step with `step`,
`kimg` and `<phase>/<name>` values), `samples/step-NNNNNNN.png`, `checkpoints/snapshot-*/`,
`config.json` (the resolved run; its `task` names the kind of training).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.errors import ToolError
from tools.view.pages.base import RunKind, panel_image, read_image, require
from tools.view.report import Block, Images, Plot, Table


@dataclass
class TrainPage:
    """A training run."""

    path: Path
    records: list[dict]
    grids: list[Path]  # sample grids, oldest first
    snapshots: list[str]
    task: str
    kind: str = "train"

    @property
    def title(self) -> str:
        return f"train {self.task}: {self.path.name}"

    def curves(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """`(steps [N], {name: values [N]})` for every logged loss (NaN where a line lacks it)."""
        steps = np.array([float(r["step"]) for r in self.records])
        names = sorted({k for r in self.records for k in r if k.endswith("loss")})
        return steps, {k: np.array([float(r.get(k, np.nan)) for r in self.records]) for k in names}

    def home(self) -> None:
        return None

    def show(self, server, root: str) -> None:
        from viser import uplot

        gui = server.gui
        last = self.records[-1]
        gui.add_markdown(f"**{self.task}**: step {last['step']}, {last.get('kimg', 0):.3f} kimg, "
                         f"{len(self.snapshots)} snapshots" + (f" (latest `{self.snapshots[-1]}`)" if self.snapshots
                                                               else ""))
        steps, series = self.curves()
        if series and len(steps) >= 2:
            colors = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
            gui.add_uplot(data=(steps, *series.values()),
                          series=(uplot.Series(label="step"),
                                  *(uplot.Series(label=k, stroke=colors[i % len(colors)], width=1.5)
                                    for i, k in enumerate(series))),
                          title="losses", aspect=1.4)
        elif series:
            gui.add_markdown(" · ".join(f"{k} {v[-1]:.4g}" for k, v in series.items()))
        if self.grids:
            grid = gui.add_slider("sample grid", 0, len(self.grids) - 1, 1, len(self.grids) - 1,
                                  disabled=len(self.grids) == 1)
            shown = gui.add_image(panel_image(read_image(self.grids[-1])), label=self.grids[-1].stem)

            @grid.on_update
            def _(_) -> None:
                shown.image = panel_image(read_image(self.grids[int(grid.value)]))
                shown.label = self.grids[int(grid.value)].stem

    def report(self) -> list[Block]:
        steps, series = self.curves()
        last = self.records[-1]
        blocks: list[Block] = [Table("run", {"task": self.task, "step": last["step"], "kimg": last.get("kimg"),
                                             "snapshots": len(self.snapshots),
                                             **{k: v[-1] for k, v in series.items()}})]
        if series:
            positive = all(np.nanmin(v) > 0 for v in series.values() if np.isfinite(v).any())
            blocks.append(Plot("losses", steps, series, log_y=positive))
        if self.grids:
            blocks.append(Images("latest samples", [(self.grids[-1].stem, self.grids[-1])]))
        return blocks


def open_train(run: Path) -> TrainPage:
    """Open a training run (needs at least one line in `stats.jsonl`)."""
    (stats,) = require(run, "train", "stats.jsonl")
    records = []
    for n, line in enumerate(stats.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise ToolError(f"{stats}:{n}: unreadable stats line ({e})") from None
        if not isinstance(rec, dict) or "step" not in rec:
            raise ToolError(f"{stats}:{n}: a stats line needs a step")
        records.append(rec)
    if not records:
        raise ToolError(f"{stats}: no stats logged yet")
    task = "?"
    if (run / "config.json").is_file():
        try:
            config = json.loads((run / "config.json").read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ToolError(f"{run / 'config.json'}: unreadable ({e})") from None
        task = str(config.get("task", "?")) if isinstance(config, dict) else "?"
    ckpt = run / "checkpoints"
    snapshots = sorted(p.name for p in ckpt.glob("snapshot-*") if p.is_dir()) if ckpt.is_dir() else []
    return TrainPage(run, records, sorted((run / "samples").glob("step-*.png")), snapshots, task)


def _matches(run: Path) -> bool:
    return (run / "stats.jsonl").is_file() or (run / "train_config.json").is_file()


KIND = RunKind("train", "stats.jsonl + samples/ + checkpoints/ (neurender train)", _matches, open_train)
