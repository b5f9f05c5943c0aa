"""Headless Chromium for the viewer tests (Debian's `chromium`, driven by Playwright's Python package).

Playwright's own browser download does not work offline; it drives the system binary instead. The
flags keep Chromium off the network (this machine refuses outside connections, and a refused
background connection per service slows every start).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (dev extra: pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (`make test` installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, timeout=60_000)
        yield b
        b.close()


@pytest.fixture(scope="session")
def recon_run(tmp_path_factory) -> Path:
    """A real (small, quick) `neurender reconstruct` run of the shipped photo."""
    from browser_helpers import PHOTO

    from tools.cli import main

    out = tmp_path_factory.mktemp("view") / "recon"
    assert main(["reconstruct", str(PHOTO), "--out", str(out), "--size", "64", "--steps", "15"]) == 0
    return out
