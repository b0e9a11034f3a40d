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
    """Return a plant of ``machines`` identical tools with ``tags_per_machine`` float tags each.

    Every ``alarm_every``-th tag (0: none) has hi/hihi limits above its normal range.
    """
    from factory_twin.model.schema import PlantSpec

    tags = [
        {
            "name": f"t{i:03d}",
            "unit": "Pa",
            "normal_range": [0.0, 10.0],
            "alarms": {"hi": 12.0, "hihi": 15.0} if alarm_every and i % alarm_every == 0 else None,
        }
        for i in range(tags_per_machine)
    ]
    side = int(machines**0.5) + 1
    return PlantSpec.model_validate(
        {
            "schema_version": 1,
            "site": {
                "name": "Synthetic fab",
                "floor_m": [4.0 * side + 4, 4.0 * side + 4],
                "bays": [
                    {"id": "bay", "origin_m": [0, 0], "size_m": [4.0 * side + 4, 4.0 * side + 4]}
                ],
            },
            "equipment_types": [
                {
                    "id": "tool",
                    "kind": "cvd",
                    "shape": {"parts": [{"name": "body", "box": [1, 1, 1]}]},
                    "tags": tags,
                }
            ],
            "equipment": [
                {
                    "id": f"T{i:05d}",
                    "type": "tool",
                    "group": "G",
                    "bay": "bay",
                    "position_m": [2.0 + 4.0 * (i % side), 2.0 + 4.0 * (i // side)],
                }
                for i in range(machines)
            ],
        }
    )


# asyncua 2.1's client probes the server every second with a 1 s timeout and drops the
# connection when a probe is late; on a shared 2-core CI machine that is not a server fault.
WATCHDOG_S = 5.0
