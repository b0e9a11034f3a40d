"""OPC UA client throughput: our PlantClient pipeline vs a bare asyncua client.

Measures, for 1,000 and 10,000 monitored items at 100 ms publishing:

* data-change notifications per second that reach our client's queue (TagUpdates drained
  from ``PlantClient.drain()``), and what a bare asyncua client (subscription handler that
  only counts) receives from the same server: the ceiling, and the ratio (target >= 0.8);
* time to connect, bind and create the monitored items;
* CPU (% of one core) and peak RSS of each client process;
* with 1,000 items, time from a server restart (new process listening) to the first fresh
  value in our client's queue (target < 5 s), and how fast the loss is noticed.

The server is our plant simulator server (:class:`factory_twin.opcua.server.PlantServer`)
in a separate process, writing every process tag every 100 ms; each client runs in its own
process. Windows are short (5 s by default); the machine is shared, so read the figures as
a ratio between clients run back to back on the same server, not as absolute limits.

Usage::

    python benchmarks/opcua_throughput.py [--items 1000 10000] [--window 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TAGS_PER_TOOL = 15  # process tags; + 5 standard machine tags = 20 monitored items per tool
ITEMS_PER_TOOL = TAGS_PER_TOOL + 5


def bench_spec(n_tools: int, url: str = "opc.tcp://127.0.0.1:4840/bench/") -> Any:
    """A plant of ``n_tools`` identical tools with TAGS_PER_TOOL float tags each."""
    from factory_twin.model.schema import PlantSpec

    width = 4.0 * n_tools + 4
    return PlantSpec.model_validate(
        {
            "schema_version": 1,
            "site": {
                "name": "bench",
                "floor_m": [width, 10],
                "bays": [{"id": "b", "origin_m": [0, 0], "size_m": [width, 10]}],
            },
            "endpoints": [{"id": "sim", "url": url}],
            "equipment_types": [
                {
                    "id": "t",
                    "kind": "other",
                    "shape": {"parts": [{"name": "b", "box": [1, 1, 1]}]},
                    "tags": [{"name": f"v{i}"} for i in range(TAGS_PER_TOOL)],
                }
            ],
            "equipment": [
                {
                    "id": f"EQ-{k:05d}",
                    "type": "t",
                    "group": "G",
                    "bay": "b",
                    "position_m": [2 + 4 * k, 5],
                    "opcua": {"endpoint": "sim"},
                }
                for k in range(n_tools)
            ],
        }
    )


# ----------------------------------------------------------------------------- server process


async def serve(n_tools: int, port: int, period_s: float, rate: float) -> None:
    """Run a PlantServer; every ``period_s`` write the next ``rate * period_s`` process tags
    (round robin), or all of them when ``rate`` is 0."""
    from factory_twin.model.events import TagUpdate
    from factory_twin.opcua.server import PlantServer

    spec = bench_spec(n_tools)
    srv = PlantServer(
        spec, endpoint=f"opc.tcp://127.0.0.1:{port}/bench/", load_companion_specs=False
    )
    await srv.start()
    print(json.dumps({"ready": time.time(), "build_s": srv.build_time_s}), flush=True)
    names = [(e.id, f"v{i}") for e in spec.equipment for i in range(TAGS_PER_TOOL)]
    per_cycle = len(names) if rate <= 0 else max(1, min(len(names), round(rate * period_s)))
    k = cursor = writes = 0
    t0 = time.monotonic()
    while True:
        k += 1
        start = time.monotonic()
        now = time.time()
        batch = [names[(cursor + j) % len(names)] for j in range(per_cycle)]
        cursor = (cursor + per_cycle) % len(names)
        writes += await srv.apply(
            TagUpdate(eq, tag, float(k) + j * 1e-6, now) for j, (eq, tag) in enumerate(batch)
        )
        if k % 20 == 0:
            print(
                json.dumps({"writes_per_s": round(writes / (time.monotonic() - t0))}), flush=True
            )
        await asyncio.sleep(max(0.0, period_s - (time.monotonic() - start)))


# ----------------------------------------------------------------------------- client processes


def _usage() -> tuple[float, float]:
    import psutil

    p = psutil.Process()
    c = p.cpu_times()
    return c.user + c.system, time.monotonic()


async def client_bare(url: str, n_tools: int, window: float, start_at: float) -> dict[str, Any]:
    """A bare asyncua client subscribed to the same nodes our client binds: the ceiling."""
    from asyncua import Client, ua

    from factory_twin.opcua.client import STANDARD_TAGS

    class Counter:
        n = 0

        def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
            Counter.n += 1

    client = Client(url, timeout=30, watchdog_intervall=5.0)  # same tolerance as ours
    t0 = time.perf_counter()
    await client.connect()
    ns = await client.get_namespace_index("urn:factory-twin:plant")
    nodes = []
    for k in range(n_tools):
        eq = f"EQ-{k:05d}"
        nodes += [
            client.get_node(ua.NodeId(f"{eq}.Parameters.v{i}", ns)) for i in range(TAGS_PER_TOOL)
        ]
        nodes += [
            client.get_node(ua.NodeId(f"{eq}.State.{leaf}", ns))
            for leaf, _ in STANDARD_TAGS.values()
        ]
    sub = await client.create_subscription(100, Counter())
    t1 = time.perf_counter()
    for s in range(0, len(nodes), 1000):
        # queue size 1 (newest value only), as PlantClient asks by default
        res = await sub.subscribe_data_change(
            nodes[s : s + 1000], queuesize=1, sampling_interval=100
        )
        bad = [r for r in res if isinstance(r, ua.StatusCode)]
        assert not bad, bad[:3]
    create_s = time.perf_counter() - t1
    ready_s = time.perf_counter() - t0
    late = time.time() > start_at
    await asyncio.sleep(max(0.0, start_at - time.time()))
    c0, m0 = _usage()
    n0 = Counter.n
    await asyncio.sleep(window)
    c1, m1 = _usage()
    n = Counter.n - n0
    await client.disconnect()
    return {
        "items": len(nodes),
        "notif_per_s": n / (m1 - m0),
        "create_items_s": create_s,
        "ready_s": ready_s,
        "cpu_pct": 100 * (c1 - c0) / (m1 - m0),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "window_started_late": late,
    }


async def client_ours(url: str, n_tools: int, window: float, start_at: float) -> dict[str, Any]:
    """Our pipeline: PlantClient -> queue -> drain(), counting TagUpdates."""
    from factory_twin.model.events import TagUpdate
    from factory_twin.opcua.client import PlantClient

    spec = bench_spec(n_tools, url)
    client = PlantClient(spec, publishing_ms=100, sampling_ms=100)
    client.request_timeout_s = 30
    t0 = time.perf_counter()
    await client.start()
    ok = await client.wait_connected(300)
    assert ok, client.status()
    ready_s = time.perf_counter() - t0
    count = 0
    stop = False

    async def drainer() -> None:
        nonlocal count
        while not stop:
            count += sum(1 for e in client.drain(100_000) if isinstance(e, TagUpdate))
            await asyncio.sleep(0.02)

    task = asyncio.create_task(drainer())
    late = time.time() > start_at
    await asyncio.sleep(max(0.0, start_at - time.time()))
    c0, m0 = _usage()
    n0 = count
    await asyncio.sleep(window)
    c1, m1 = _usage()
    n = count - n0
    stop = True
    await task
    items = client.monitored_item_count()
    problems = client.problems()
    await client.stop()
    return {
        "items": items,
        "problems": len(problems),
        "notif_per_s": n / (m1 - m0),
        "ready_s": ready_s,
        "cpu_pct": 100 * (c1 - c0) / (m1 - m0),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "window_started_late": late,
    }


async def client_restart(url: str, n_tools: int) -> dict[str, Any]:
    """Connect, then report (on stdout) when values go stale and when fresh ones return."""
    from factory_twin.model.events import ConnectionStatus, Quality, TagUpdate
    from factory_twin.opcua.client import PlantClient

    client = PlantClient(bench_spec(n_tools, url), publishing_ms=100, sampling_ms=100)
    await client.start()
    assert await client.wait_connected(120)
    print(json.dumps({"connected": time.time()}), flush=True)
    stale_at = lost_at = fresh_at = None
    gap = None
    deadline = time.monotonic() + 300
    while (fresh_at is None or gap is None) and time.monotonic() < deadline:
        for e in client.drain(100_000):
            if isinstance(e, ConnectionStatus):
                if not e.connected and lost_at is None:
                    lost_at = time.time()
                if e.connected and e.gap_s is not None:
                    gap = e.gap_s
            elif isinstance(e, TagUpdate):
                if e.quality is Quality.STALE and stale_at is None:
                    stale_at = time.time()
                elif (
                    fresh_at is None
                    and stale_at is not None
                    and e.quality is Quality.GOOD
                    and e.tag.startswith("v")
                ):
                    fresh_at = time.time()
        await asyncio.sleep(0.01)
    await client.stop()
    return {"stale_at": stale_at, "lost_at": lost_at, "fresh_at": fresh_at, "gap_s": gap}


# ----------------------------------------------------------------------------- orchestration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def _read_json(proc: subprocess.Popen[str], key: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            msg = f"process ended before reporting {key!r}"
            raise RuntimeError(msg)
        if line.startswith("{"):
            d = json.loads(line)
            if key in d:
                return d
    msg = f"no {key!r} within {timeout} s"
    raise TimeoutError(msg)


def _server_rate(proc: subprocess.Popen[str]) -> int | None:
    """Latest writes/s the server reported (non-blocking best effort)."""
    import selectors

    sel = selectors.DefaultSelector()
    assert proc.stdout is not None
    sel.register(proc.stdout, selectors.EVENT_READ)
    rate = None
    while sel.select(timeout=0):
        line = proc.stdout.readline()
        if not line:
            break
        if "writes_per_s" in line:
            rate = json.loads(line)["writes_per_s"]
    return rate


def run_scenario(n_items: int, window: float, warmup: float, rate: float) -> dict[str, Any]:
    n_tools = max(1, n_items // ITEMS_PER_TOOL)
    port = _free_port()
    url = f"opc.tcp://127.0.0.1:{port}/bench/"
    server = _spawn("serve", "--tools", str(n_tools), "--port", str(port), "--rate", str(rate))
    try:
        ready = _read_json(server, "ready")
        out: dict[str, Any] = {
            "items": n_tools * ITEMS_PER_TOOL,
            "server_build_s": ready["build_s"],
        }
        # both clients in the same window, so they see the same server (its publish cadence
        # under load bounds what any client can receive)
        start_at = time.time() + (20 if n_tools * ITEMS_PER_TOOL <= 2000 else 90) + warmup
        procs = {
            mode: _spawn("client", mode, "--url", url, "--tools", str(n_tools),
                         "--window", str(window), "--start-at", str(start_at))
            for mode in ("bare", "ours")
        }  # fmt: skip
        for mode, c in procs.items():
            out[mode] = _read_json(c, "notif_per_s")
            c.wait(60)
        out["server_writes_per_s"] = _server_rate(server)
        out["ratio"] = out["ours"]["notif_per_s"] / max(out["bare"]["notif_per_s"], 1e-9)
        return out
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def run_restart(n_items: int, rate: float) -> dict[str, Any]:
    n_tools = max(1, n_items // ITEMS_PER_TOOL)
    port = _free_port()
    url = f"opc.tcp://127.0.0.1:{port}/bench/"
    server = _spawn("serve", "--tools", str(n_tools), "--port", str(port), "--rate", str(rate))
    _read_json(server, "ready")
    c = _spawn("restart", "--url", url, "--tools", str(n_tools))
    _read_json(c, "connected")
    time.sleep(2)
    killed_at = time.time()
    server.kill()
    server.wait(30)
    server = _spawn("serve", "--tools", str(n_tools), "--port", str(port), "--rate", str(rate))
    try:
        ready = _read_json(server, "ready")
        res = _read_json(c, "fresh_at", 120)
        c.wait(30)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return {
        "items": n_tools * ITEMS_PER_TOOL,
        "stale_after_kill_s": res["stale_at"] - killed_at,
        "server_restart_build_s": ready["build_s"],
        "listening_to_first_fresh_value_s": res["fresh_at"] - ready["ready"],
        "kill_to_first_fresh_value_s": res["fresh_at"] - killed_at,
        "reported_gap_s": res["gap_s"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd")
    s = sub.add_parser("serve")
    s.add_argument("--tools", type=int, required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--period", type=float, default=0.1)
    s.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="value writes per second (0 = all tags each period)",
    )
    c = sub.add_parser("client")
    c.add_argument("mode", choices=["bare", "ours"])
    c.add_argument("--url", required=True)
    c.add_argument("--tools", type=int, required=True)
    c.add_argument("--window", type=float, default=5.0)
    c.add_argument("--start-at", type=float, required=True, help="epoch second the window starts")
    r = sub.add_parser("restart")
    r.add_argument("--url", required=True)
    r.add_argument("--tools", type=int, required=True)
    p.add_argument("--items", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--window", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--no-restart", action="store_true")
    p.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="server value writes per second (default 1000: sustainable on a shared 2-core box; "
        "0 = every tag every 100 ms, which saturates a pure-Python server)",
    )
    p.add_argument("--json", type=Path, help="also write the results here")
    a = p.parse_args()
    if a.cmd == "serve":
        asyncio.run(serve(a.tools, a.port, a.period, a.rate))
        return
    if a.cmd == "client":
        fn = client_bare if a.mode == "bare" else client_ours
        print(json.dumps(asyncio.run(fn(a.url, a.tools, a.window, a.start_at))), flush=True)
        return
    if a.cmd == "restart":
        print(json.dumps(asyncio.run(client_restart(a.url, a.tools))), flush=True)
        return
    results: dict[str, Any] = {"scenarios": []}
    for n in a.items:
        res = run_scenario(n, a.window, a.warmup, a.rate)
        results["scenarios"].append(res)
        b, o = res["bare"], res["ours"]
        print(
            f"{res['items']:>6} items @100 ms: bare {b['notif_per_s']:8.0f}/s  ours {o['notif_per_s']:8.0f}/s  "
            f"ratio {res['ratio']:.2f}  | create MIs bare {b['create_items_s']:.2f} s, ours "
            f"connect+bind+subscribe {o['ready_s']:.2f} s | CPU bare {b['cpu_pct']:.0f}% ours "
            f"{o['cpu_pct']:.0f}% | peak RSS bare {b['peak_rss_mb']:.0f} MB ours {o['peak_rss_mb']:.0f} MB"
            f" | server writes/s {res['server_writes_per_s']}",
            flush=True,
        )
    if not a.no_restart:
        rr = run_restart(min(a.items), a.rate)
        results["restart"] = rr
        print(
            f"restart ({rr['items']} items): stale {rr['stale_after_kill_s']:.2f} s after kill; first "
            f"fresh value {rr['listening_to_first_fresh_value_s']:.2f} s after the new server listened "
            f"({rr['kill_to_first_fresh_value_s']:.2f} s after kill, server build "
            f"{rr['server_restart_build_s']:.1f} s); reported gap {rr['reported_gap_s']:.1f} s",
            flush=True,
        )
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
