"""A separate-process asyncua client for the server load tests (and the benchmark).

usage: python _load_client.py URL NS EQUIPMENT_PREFIXES_FILE SECONDS

Reads node ids (one per line) from the file, subscribes to all of them (publishing 100 ms,
queue size 1, monitored items created 500 at a time), prints ``ready``, then counts data
changes for SECONDS while probing a read every 200 ms, and prints one JSON line of results.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from asyncua import Client, ua


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self.nodes: set[str] = set()
        self.status: list[str] = []

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.n += 1
        self.nodes.add(node.nodeid.Identifier)

    def status_change_notification(self, status: Any) -> None:
        self.status.append(str(status))


async def main(url: str, ids_file: str, seconds: float) -> dict[str, Any]:
    with open(ids_file, encoding="utf-8") as f:
        ids = [line.strip() for line in f if line.strip()]
    counter = Counter()
    result: dict[str, Any] = {"connected": False}
    # asyncua 2.1's watchdog probes the server every second with a 1 s timeout; on a loaded
    # 2-core machine a 1000-item CreateMonitoredItems alone can take longer, so give it 5 s.
    async with Client(url, timeout=30, watchdog_intervall=5.0) as c:
        sub = await c.create_subscription(100, counter)
        t = time.perf_counter()
        for i in range(0, len(ids), 1000):
            await sub.subscribe_data_change(
                [c.get_node(x) for x in ids[i : i + 1000]], queuesize=1
            )
        result["create_items_s"] = time.perf_counter() - t
        await asyncio.sleep(0.5)
        start_n = counter.n
        print("ready", flush=True)
        probe = c.get_node(ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime))
        worst = 0.0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            t = time.perf_counter()
            await probe.read_value()
            worst = max(worst, time.perf_counter() - t)
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - t0
        await probe.read_value()
        result.update(
            connected=True,
            notifications=counter.n - start_n,
            per_s=(counter.n - start_n) / elapsed,
            distinct=len(counter.nodes),
            status=counter.status,
            worst_read_s=worst,
        )
    return result


if __name__ == "__main__":
    try:
        res = asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
    except Exception as exc:  # report, do not hide: the test asserts on it
        res = {"connected": False, "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(res), flush=True)
