"""Helpers for the plant simulator server tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import asyncio
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
