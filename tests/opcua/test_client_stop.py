"""A client's stop() ends an endpoint's retry loop even when a cancel is lost.

On Python 3.11, ``asyncio.wait_for`` returns (or raises) the inner result instead of
CancelledError when the inner call ends together with the cancel; the link's knock on a
refused port is such a call, so under load a stop() could leave the link retrying for ever
(seen as ``factory-twin record --duration 1s`` against a dead endpoint never ending). Here the
retry wait swallows the first cancel on purpose, as that race does, against a port where
nothing listens.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from _client_support import free_port, plant_spec, wait_for

from factory_twin.opcua.client import PlantClient
from factory_twin.opcua.client_link import _EndpointLink


async def test_stop_ends_the_retry_loop_even_when_a_cancel_is_lost(monkeypatch: Any) -> None:
    real = _EndpointLink._wait_retry
    waiting = asyncio.Event()
    lost: list[float] = []

    async def wait_losing_the_first_cancel(
        self: _EndpointLink, delay: float, exc: Exception
    ) -> None:
        waiting.set()
        try:
            await real(self, delay, exc)
        except asyncio.CancelledError:
            if lost:
                raise
            lost.append(time.monotonic())  # swallowed, as wait_for does in that race

    monkeypatch.setattr(_EndpointLink, "_wait_retry", wait_losing_the_first_cancel)
    c = PlantClient(plant_spec(free_port()), reconnect_initial_s=0.5, reconnect_max_s=1.0)
    await c.start()
    await asyncio.wait_for(waiting.wait(), 10)
    t0 = time.monotonic()
    await asyncio.wait_for(c.stop(), 10)  # before the fix: waits for ever on the task
    assert lost, "the retry wait did not see the cancel"
    assert time.monotonic() - t0 < 5
    status = c.status()["sim"]
    assert not status.connected and status.message == "stopped"
    # nothing retries afterwards
    n = len(lost)
    await asyncio.sleep(1.5)
    assert len(lost) == n
    assert await wait_for(lambda: c.status()["sim"].message == "stopped", 1)
