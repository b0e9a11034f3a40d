"""Helpers for the plant simulator server tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest


def find_free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until(
    cond: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02, what: str = "condition"
) -> Any:
    """Poll ``cond()`` until it is truthy; return its value or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


def synthetic_spec(machines: int, tags_per_machine: int, *, alarm_every: int = 0) -> Any:
    """Return :func:`factory_twin.model.synthetic.synthetic_plant` (kept for the tests' imports)."""
    from factory_twin.model.synthetic import synthetic_plant

    return synthetic_plant(machines, tags_per_machine, alarm_every=alarm_every)


# asyncua 2.1's client probes the server every second with a 1 s timeout and drops the
# connection when a probe is late; on a shared 2-core CI machine that is not a server fault.
WATCHDOG_S = 5.0


IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
"""True when the environment variable CI is set (``CI=1`` or ``CI=true``)."""


def requirement_marks(missing: str) -> list[pytest.MarkDecorator]:
    """Skip the tests for a missing requirement, but only outside CI.

    ``missing`` says what is missing (empty when nothing is). Outside CI the tests are
    skipped with that reason; with CI set they run and :func:`fail_if_missing_in_ci` (call it
    from an autouse fixture) fails each of them with the same words, so a CI machine that
    lacks a requirement shows red instead of quietly skipping.
    """
    return [pytest.mark.skipif(bool(missing) and not IN_CI, reason=missing)]


def fail_if_missing_in_ci(missing: str) -> None:
    """Fail the running test when a requirement is missing (only reached with CI set)."""
    if missing:
        pytest.fail(f"{missing} (CI is set, so a missing requirement fails instead of skipping)")
