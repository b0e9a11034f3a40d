"""Every value PlantServer.apply writes is one update a subscribed client receives.

A client that asks for a monitored-item queue of 10 gets each write of each tag, in order,
even when several rounds land inside one publishing interval; a client with queue size 1
asks for the newest value only, and always ends on the last one written.
(benchmarks/opcua_server_speed.py measures the same at 1,000 tags x 10 Hz.)
"""

from __future__ import annotations

from typing import Any

import pytest
from _server_support import WATCHDOG_S, find_free_port, synthetic_spec, wait_until
from asyncua import Client

from factory_twin.model.events import TagUpdate
from factory_twin.opcua.server import PlantServer

ROUNDS = 5


class _Values:
    def __init__(self) -> None:
        self.by_node: dict[str, list[float]] = {}

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.by_node.setdefault(node.nodeid.Identifier, []).append(val)


@pytest.mark.parametrize("queue", [10, 1])
async def test_every_write_reaches_a_queued_subscriber(queue: int) -> None:
    spec = synthetic_spec(4, 50)
    updates = [TagUpdate(e.id, f"t{i:03d}", 0.0, 0.0) for e in spec.equipment for i in range(50)]
    server = PlantServer(
        spec, endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/dlv/", load_companion_specs=False
    )
    async with server, Client(server.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        seen = _Values()
        sub = await c.create_subscription(100, seen)
        ids = [server.node_id(u.equipment, u.tag) for u in updates]
        await sub.subscribe_data_change([c.get_node(x) for x in ids], queuesize=queue)
        await wait_until(lambda: len(seen.by_node) == len(ids), timeout=30, what="initial values")
        seen.by_node.clear()
        written = 0
        # rounds back to back: several land inside one 100 ms publishing interval
        for k in range(1, ROUNDS + 1):
            written += await server.apply(
                [TagUpdate(u.equipment, u.tag, float(k), float(k)) for u in updates]
            )
        assert written == ROUNDS * len(ids)
        await wait_until(
            lambda: (
                len(seen.by_node) == len(ids)
                and all(v[-1] == float(ROUNDS) for v in seen.by_node.values())
            ),
            timeout=30,
            what="the last round at the client",
        )
    if queue >= ROUNDS:
        expected = [float(k) for k in range(1, ROUNDS + 1)]
        wrong = {n: v for n, v in seen.by_node.items() if v != expected}
        assert not wrong, (
            f"{len(wrong)} tags missed or merged writes, e.g. {next(iter(wrong.items()))}"
        )
        assert sum(len(v) for v in seen.by_node.values()) == written
    else:
        # newest value only: never more notifications than writes, never out of order
        for v in seen.by_node.values():
            assert v == sorted(v) and len(v) <= ROUNDS
