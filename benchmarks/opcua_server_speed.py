"""How fast the OPC UA plant simulator server builds and serves (the server half of the benchmark).

Run: ``python benchmarks/opcua_server_speed.py [--quick]``. Prints:

1. address-space build time for 10,000 tags: PlantServer's bulk path, against asyncua's
   per-variable path (``add_variable`` + EURange/EngineeringUnits properties) timed on 1,000
   tags and extrapolated;
2. 1,000 tags rewritten at 10 Hz for 10 s: share of the writes delivered to a subscribed
   client in another process (publishing 100 ms, queue size 10 so no write is merged);
3. 10,000 tags rewritten as fast as the server can for 10 s: write rate, notifications, and
   whether the client stayed connected (worst read latency while updating).

Server and client run in separate processes on loopback. Figures depend on the machine and
on what else runs on it; the script prints the load average next to them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asyncua import Client, Server, ua  # noqa: E402

from factory_twin.model.events import TagUpdate  # noqa: E402
from factory_twin.model.schema import PlantSpec  # noqa: E402
from factory_twin.model.synthetic import synthetic_plant  # noqa: E402
from factory_twin.opcua.server import PlantServer  # noqa: E402
from factory_twin.opcua.server.units import eu_information  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def synthetic_spec(machines: int, tags_per_machine: int, alarm_every: int = 5) -> PlantSpec:
    return synthetic_plant(machines, tags_per_machine, alarm_every=alarm_every)


# ----------------------------------------------------------------------------- 1. build


async def bench_build(machines: int, tags: int) -> dict[str, Any]:
    spec = synthetic_spec(machines, tags)
    server = PlantServer(
        spec, endpoint=f"opc.tcp://127.0.0.1:{free_port()}/b/", load_companion_specs=False
    )
    await server.start()
    out = {
        "tags": machines * tags,
        "nodes": server.node_count,
        "bulk_s": server.address_space_s,
        "start_s": server.build_time_s,
    }
    await server.stop()
    return out


async def bench_per_variable(machines: int, tags: int) -> dict[str, Any]:
    """asyncua's ordinary path: one add_variable (AnalogItemType) and two properties per tag."""
    srv = Server()
    await srv.init()
    idx = await srv.register_namespace("urn:bench")
    folder = await srv.nodes.objects.add_folder(idx, "Machines")
    rng = ua.Range(Low=0.0, High=10.0)
    eu = eu_information("Pa")
    t0 = time.perf_counter()
    for m in range(machines):
        obj = await folder.add_object(idx, f"T{m:05d}")
        params = await obj.add_object(idx, "Parameters")
        for i in range(tags):
            var = await params.add_variable(
                ua.NodeId(f"T{m:05d}.Parameters.t{i:03d}", idx),
                f"{idx}:t{i:03d}",
                0.0,
                varianttype=ua.VariantType.Double,
            )
            await var.add_property(
                0,
                "EURange",
                rng,
                varianttype=ua.VariantType.ExtensionObject,
                datatype=ua.NodeId(ua.ObjectIds.Range),
            )
            await var.add_property(
                0,
                "EngineeringUnits",
                eu,
                varianttype=ua.VariantType.ExtensionObject,
                datatype=ua.NodeId(ua.ObjectIds.EUInformation),
            )
    dt = time.perf_counter() - t0
    return {"tags": machines * tags, "per_variable_s": dt}


# ----------------------------------------------------------------------------- client process


async def client_main(
    url: str, ids_file: str, seconds: float, quiet_s: float, queue: int
) -> dict[str, Any]:
    """Subscribe to every id; count notifications until ``quiet_s`` without any (or ``seconds``)."""
    import psutil

    ids = Path(ids_file).read_text(encoding="utf-8").split()

    class H:
        n = 0
        last = 0.0
        status: list[str] = []

        def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
            H.n += 1
            H.last = time.perf_counter()

        def status_change_notification(self, status: Any) -> None:
            H.status.append(str(status))

    me = psutil.Process()
    res: dict[str, Any] = {"connected": False}
    try:
        async with Client(url, timeout=30, watchdog_intervall=5.0) as c:
            sub = await c.create_subscription(100, H())
            t = time.perf_counter()
            for i in range(0, len(ids), 500):
                await sub.subscribe_data_change(
                    [c.get_node(x) for x in ids[i : i + 500]], queuesize=queue
                )
            res["create_items_s"] = round(time.perf_counter() - t, 2)
            await asyncio.sleep(1.0)
            H.n = 0
            print("ready", flush=True)
            probe = c.get_node(ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime))
            worst, t0 = 0.0, time.perf_counter()
            me.cpu_percent()
            while time.perf_counter() - t0 < seconds:
                t = time.perf_counter()
                await probe.read_value()
                worst = max(worst, time.perf_counter() - t)
                if H.n and time.perf_counter() - H.last > quiet_s:
                    break
                await asyncio.sleep(0.2)
            res.update(
                connected=True,
                queue_size=queue,
                notifications=H.n,
                worst_read_s=round(worst, 3),
                status=H.status,
                client_cpu_pct=me.cpu_percent(),
            )
    except Exception as exc:
        res["error"] = f"{type(exc).__name__}: {exc}"
    return res


async def run_with_client(
    server: PlantServer, updates: list[TagUpdate], period_s: float, seconds: float, queue: int
) -> dict[str, Any]:
    """Start a client process, then rewrite ``updates`` every ``period_s`` (0: flat out)."""
    import psutil

    ids = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_ids_{os.getpid()}.txt"
    ids.write_text(
        "\n".join(server.node_id(u.equipment, u.tag) for u in updates), encoding="utf-8"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        server.endpoint_url,
        str(ids),
        str(seconds + 30),
        "2.0",
        str(queue),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await proc.stdout.readline()
    if line.decode().strip() != "ready":
        rest = (await proc.stdout.read()).decode()
        return {"error": (line.decode() + rest).strip()}
    me = psutil.Process()
    me.cpu_percent()
    writes, k = 0, 0
    t0 = time.perf_counter()
    due = t0
    while time.perf_counter() - t0 < seconds:
        k += 1
        writes += await server.apply(
            [TagUpdate(u.equipment, u.tag, float(k), float(k)) for u in updates]
        )
        # a fixed schedule (round k due at t0 + k * period): a late round shortens the next
        # wait instead of lowering the rate, so "10 Hz" means 10 rounds a second
        due += period_s
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
    elapsed = time.perf_counter() - t0
    server_cpu = me.cpu_percent()
    out = await proc.stdout.read()
    await proc.wait()
    ids.unlink(missing_ok=True)
    res = json.loads(out.decode().strip().splitlines()[-1])
    res.update(
        writes=writes,
        rounds=k,
        seconds=round(elapsed, 1),
        rounds_per_s=round(k / elapsed, 1),
        writes_per_s=round(writes / elapsed),
        server_cpu_pct=server_cpu,
        # what the server does per second of its own CPU (the machine may be shared)
        writes_per_cpu_s=round(writes / max(1e-9, elapsed * server_cpu / 100.0)),
    )
    if "notifications" in res:
        res["delivered_pct"] = round(100.0 * res["notifications"] / max(1, writes), 1)
        res["notifications_per_s"] = round(res["notifications"] / elapsed)
    return res


async def bench_serving(
    machines: int, tags: int, period_s: float, seconds: float, queue: int
) -> dict[str, Any]:
    spec = synthetic_spec(machines, tags, alarm_every=0)
    server = PlantServer(
        spec, endpoint=f"opc.tcp://127.0.0.1:{free_port()}/s/", load_companion_specs=False
    )
    await server.start()
    updates = [TagUpdate(e.id, f"t{i:03d}", 0.0, 0.0) for e in spec.equipment for i in range(tags)]
    try:
        return await run_with_client(server, updates, period_s, seconds, queue)
    finally:
        await server.stop()


async def main(quick: bool) -> None:
    seconds = 5.0 if quick else 10.0
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    b = await bench_build(200, 50)
    print(
        f"[build] bulk: {b['tags']:,} tags -> {b['nodes']:,} nodes in {b['bulk_s']:.2f} s "
        f"(whole start incl. asyncua init {b['start_s']:.2f} s)"
    )
    p = await bench_per_variable(20, 50)
    est = p["per_variable_s"] * 10
    print(
        f"[build] per-variable (add_variable + 2 properties): {p['tags']:,} tags in "
        f"{p['per_variable_s']:.2f} s -> ~{est:.0f} s for 10,000 ({est / b['bulk_s']:.0f}x the bulk path)"
    )
    # queue size 10: every write is counted, none merged into the next (delivery share)
    r = await bench_serving(20, 50, 0.1, seconds, 10)
    print(f"[1k @ 10 Hz] {json.dumps(r)}")
    # queue size 1: the client wants the latest value of each tag (rate and liveness)
    r = await bench_serving(200, 50, 0.0, seconds, 1)
    print(f"[10k flat out] {json.dumps(r)}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        url, ids_file, secs, quiet = (
            sys.argv[2],
            sys.argv[3],
            float(sys.argv[4]),
            float(sys.argv[5]),
        )
        queue = int(sys.argv[6])
        print(json.dumps(asyncio.run(client_main(url, ids_file, secs, quiet, queue))), flush=True)
        sys.exit(0)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 s windows instead of 10 s")
    a = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(a.quick))
