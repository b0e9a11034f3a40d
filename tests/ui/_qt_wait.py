"""Waiting on a condition in GUI tests while Qt keeps processing its events."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def wait_until(cond: Callable[[], object], timeout_s: float, what: str) -> None:
    """Process Qt events until ``cond()`` is true; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if cond():
            return
        QTest.qWait(20)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
