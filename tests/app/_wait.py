"""Waiting on a condition in tests without a Qt event loop (a thread does the work)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def wait_for(cond: Callable[[], object], timeout_s: float, what: str) -> None:
    """Poll ``cond()`` until it is true; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
