"""Run the OPC UA plant simulator server: the plant simulated live, served over OPC UA.

Every tool appears under Objects/Machines/<id> with Identification, State (E10 state, lot,
recipe, wafer count), Parameters (one AnalogItem per tag, with units and range) and the
methods Hold, Resume and ResetAlarm; tag limits and breakdowns raise OPC UA alarms.
Runs until Ctrl-C.

One Python server process updates about 20,000 values a second. A bigger plant can be
split over N server processes (--split N) on consecutive ports. The plant is still simulated
once: this process runs the one simulation and feeds each server process the events of the
tools it serves (about equal tag counts each, in file order; every tool is served by exactly
one process), plus every lot move and the plant clock, so all of them publish the same Fab
counters and clock. A Hold, Resume, ResetAlarm or (with --allow-writes) write received by a
server process is passed to the simulation, and its effect is published by the process that
serves the tool. The command prints the endpoints and the plant-file bindings that join the
parts into one plant (details: factory_twin/app/split.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from factory_twin.app.split import split_equipment
from factory_twin.cli.args import (
    bounded_int,
    folder_path,
    non_negative_float,
    opc_url,
    positive_float,
    seed_int,
)
from factory_twin.errors import ConfigError, ConnectionFailed, FactoryTwinError
from factory_twin.model.config import load_plant
from factory_twin.model.drills import find_drill
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.security import SECURITY_MODES, load_users
from factory_twin.opcua.server import DEFAULT_ENDPOINT

__all__ = ["add_arguments", "endpoint_with_port", "run", "split_equipment"]

logger = logging.getLogger(__name__)

WRITES_PER_SECOND_PER_PROCESS = 20_000  # measured ceiling of one asyncua server process


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument("plant", metavar="PLANT.yaml", help="plant file")
    p.add_argument(
        "--endpoint",
        type=opc_url,
        metavar="URL",
        help="where to listen (default: the plant's first endpoint, else "
        f"{DEFAULT_ENDPOINT}); with --split, the first of consecutive ports",
    )
    p.add_argument(
        "--speed",
        type=non_negative_float,
        default=None,
        help="plant seconds per wall second (default 60; with --drill the drill's speed)",
    )
    p.add_argument(
        "--drill",
        metavar="ID",
        help="run drill ID of the plant file: the plant fast-forwards to the drill's start, "
        "plays its faults, marks the address space as a simulation in drill mode and scores "
        "every trainee who connects (Drill object: state, clock, scores, methods)",
    )
    p.add_argument(
        "--record",
        type=folder_path,
        metavar="DIR",
        help="with --drill: record the run to DIR (<drill>-<time>.parquet for the replay bar, "
        "<drill>-<time>.drill.json for the debrief) and keep the trainee names taken there "
        "(<drill>.tokens, salted hashes of their tokens), so a restarted drill server still "
        "knows whose name is whose, and the event log (<drill>.events: continued by a "
        "restart before the drill finished; after it finished the next run starts a new one, "
        "the last kept as <drill>.events.prev)",
    )
    p.add_argument(
        "--forget-tokens",
        action="store_true",
        help="with --record: if DIR's <drill>.tokens is damaged, start with every trainee "
        "name free (the problem logged, the old file kept as .bak) instead of refusing to "
        "start",
    )
    p.add_argument(
        "--trainer",
        action="append",
        metavar="NAME",
        help="with --drill: session/user name allowed to pause, resume, change speed, "
        "inject and finish (repeatable; default anyone)",
    )
    p.add_argument(
        "--seed", type=seed_int, default=0, help="random seed of the simulation (default 0)"
    )
    p.add_argument(
        "--security",
        choices=SECURITY_MODES,
        default="none",
        help="message security: Basic256Sha256 sign or sign-encrypt (default none)",
    )
    p.add_argument(
        "--users",
        metavar="FILE",
        help="YAML/JSON file 'user: password' (plain or sha256:<hex>); refuses anonymous logins",
    )
    p.add_argument(
        "--cert-dir",
        type=folder_path,
        metavar="DIR",
        help="server certificate and key (made on first run)",
    )
    p.add_argument(
        "--trust-dir",
        type=folder_path,
        metavar="DIR",
        help="accept only client certificates found here (default: accept any client certificate)",
    )
    p.add_argument(
        "--allow-writes",
        action="store_true",
        help="let clients write process values (they drive the simulated tag for a while)",
    )
    p.add_argument(
        "--split",
        type=bounded_int(1, 64),
        default=1,
        metavar="N",
        help="serve the plant from N server processes on consecutive ports (default 1): "
        "this process runs the one simulation and feeds each server process the tools it "
        "serves (about equal tag counts, every tool in exactly one), all lot moves and the "
        "plant clock; method calls and writes go back to the simulation",
    )
    p.add_argument(
        "--no-companion-specs",
        action="store_true",
        help="do not load the OPC UA DI/IA/Machinery nodesets even when installed",
    )
    p.add_argument(
        "--duration",
        type=positive_float,
        default=None,
        metavar="S",
        help="stop after S wall seconds",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C (or --duration); return the exit code."""
    doc = load_plant(args.plant)
    spec = doc.spec
    drill = find_drill(spec, args.drill) if getattr(args, "drill", None) else None
    if drill is None and (getattr(args, "record", None) or getattr(args, "trainer", None)):
        raise ConfigError(["--record and --trainer need --drill"])
    if getattr(args, "forget_tokens", False) and not getattr(args, "record", None):
        raise ConfigError(["--forget-tokens needs --drill and --record (the token file's place)"])
    if drill is not None and args.split != 1:
        raise ConfigError(["--drill cannot be combined with --split"])
    if args.speed is None:
        args.speed = drill.speed if drill is not None else 60.0
    if args.speed < 0:
        raise ConfigError([f"--speed must be >= 0, got {args.speed}"])
    if args.split < 1:
        raise ConfigError([f"--split must be >= 1, got {args.split}"])
    if args.split > len(spec.equipment):
        msg = f"--split {args.split} is more than the plant's {len(spec.equipment)} tools"
        raise ConfigError([msg])
    users = load_users(args.users) if args.users else None
    endpoint = args.endpoint or (spec.endpoints[0].url if spec.endpoints else DEFAULT_ENDPOINT)
    u = urlparse(endpoint)
    if u.scheme != "opc.tcp" or not u.hostname:
        raise ConfigError(
            [f"--endpoint must look like opc.tcp://host:port/path, got {endpoint!r}"]
        )
    options = {
        "speed": args.speed,
        "seed": args.seed,
        "security": args.security,
        "users": users,
        "cert_dir": Path(args.cert_dir) if args.cert_dir else None,
        "trust_dir": Path(args.trust_dir) if args.trust_dir else None,
        "allow_client_writes": bool(args.allow_writes),
        "load_companion_specs": not args.no_companion_specs,
    }
    if drill is not None:
        from factory_twin.cli.serve_drill import serve_drill

        record = Path(args.record) if args.record else None
        trainers = set(args.trainer) if args.trainer else None
        return asyncio.run(
            serve_drill(
                spec,
                drill,
                endpoint,
                options,
                args.duration,
                record,
                trainers,
                forget_tokens=bool(args.forget_tokens),
            )
        )
    if args.split == 1:
        return asyncio.run(_serve(spec, endpoint, None, options, args.duration, announce=True))
    return asyncio.run(_serve_split(spec, endpoint, options, args.split, args.duration))


def endpoint_with_port(endpoint: str, offset: int) -> str:
    """Return ``endpoint`` with its port moved by ``offset`` (4840 when it has none)."""
    u = urlparse(endpoint)
    port = (u.port or 4840) + offset
    return urlunparse(u._replace(netloc=f"{u.hostname}:{port}"))


async def _serve(
    spec: PlantSpec,
    endpoint: str,
    equipment: list[str] | None,
    options: dict[str, Any],
    duration: float | None,
    *,
    announce: bool,
) -> int:
    from factory_twin.app.simulator import EmbeddedPlantSimulator

    sim = EmbeddedPlantSimulator(spec, endpoint=endpoint, equipment=equipment, **options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await sim.start()
    except ConnectionFailed:
        raise
    except OSError as exc:
        msg = f"cannot serve on {endpoint}: {exc}"
        raise FactoryTwinError(msg) from None
    server = sim.server
    assert server is not None
    if announce:
        n_tags = sum(len(spec.equipment_type(e.type).tags) for e in server.equipment)
        print(f"serving {spec.site.name}: {len(server.equipment)} tools, {n_tags} tags")
        print(f"endpoint: {server.endpoint_url}  (security {options['security']})")
        print(f"namespace: urn:factory-twin:plant (ns={server.namespace_index})")
        if server.companion_specs_loaded:
            print("companion specs: DI, IA, Machinery")
        else:
            print(
                "warning: companion specs (OPC UA DI, IA, Machinery) not loaded: "
                f"{server.companion.problem}; the machines use factory_twin's own types"
            )
        print(f"speed: {options['speed']:g} plant seconds per second; Ctrl-C stops", flush=True)
    await _serve_until(sim, stop, duration)
    if announce:
        print(f"stopped at plant time {sim.now_s:.0f} s", flush=True)
    return 0


async def _serve_until(sim: Any, stop: asyncio.Event, duration: float | None) -> None:
    """Serve until ``stop`` is set (or ``duration`` seconds pass), then stop the simulator."""
    try:
        if duration is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration)
        else:
            await stop.wait()
    finally:
        await sim.stop()


async def _serve_split(
    spec: PlantSpec,
    endpoint: str,
    options: dict[str, Any],
    parts: int,
    duration: float | None,
) -> int:
    from factory_twin.app.split import SplitPlantSimulator

    groups = split_equipment(spec, parts)
    urls = [endpoint_with_port(endpoint, i) for i in range(parts)]
    sim = SplitPlantSimulator(
        spec,
        endpoints=urls,
        groups=groups,
        log_level=logging.getLogger().getEffectiveLevel(),
        **options,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(sim.start())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # Ctrl-C while the server processes start
        sim.abort_start()
        with contextlib.suppress(FactoryTwinError):
            await starting
        await sim.stop()
        print("stopped", flush=True)
        return 0
    stopping.cancel()
    starting.result()  # a server process that failed to start: FactoryTwinError, exit 1
    n_tags = sum(len(spec.equipment_type(e.type).tags) for e in spec.equipment)
    print(
        f"serving {spec.site.name}: {len(spec.equipment)} tools, {n_tags} tags from {parts} "
        "server processes fed by one simulation"
    )
    print("Bind the tools to these endpoints in the plant file:\n")
    print("endpoints:")
    for i, url in enumerate(sim.urls):
        print(f'  - {{id: sim{i + 1}, url: "{url}", security: {options["security"]}}}')
    print("\n# and in 'equipment', give each tool its endpoint:")
    for i, group in enumerate(groups):
        print(f"#   sim{i + 1}: {', '.join(group)}")
        print(f"#     e.g.  - {{id: {group[0]}, ..., opcua: {{endpoint: sim{i + 1}}}}}")
    print(f"\nspeed: {options['speed']:g} plant seconds per second; Ctrl-C stops", flush=True)
    failed = asyncio.create_task(sim.failed.wait())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait(
            {failed, stopping}, timeout=duration, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        failed.cancel()
        stopping.cancel()
        await sim.stop()
    if sim.failed.is_set():
        print("factory-twin: error: a server process stopped; stopped the others", file=sys.stderr)
        return 1
    print(f"stopped at plant time {sim.now_s:.0f} s", flush=True)
    return 0
