"""Polling and screenshot helpers for the browser tests."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest

VIEWPORT = {"width": 960, "height": 600}
PHOTO = Path(__file__).resolve().parents[3] / "scenes" / "examples" / "photos" / "vase.png"

def wait_until(condition, timeout: float = 60.0, interval: float = 0.25, what: str = "condition"):
    """Poll `condition()` until it returns something other than None/False; fail the test after `timeout` seconds.

    Generous by design: on a busy 2-core machine a software-rendered page can take many seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def screenshot_array(locator_or_page) -> np.ndarray:
    """A Playwright screenshot as `[H, W, 3]` uint8."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(locator_or_page.screenshot())).convert("RGB"))
