"""Record a plant's live tags and alarms to a Parquet history file.

Subscribes to every bound tag and to alarm events of the plant's OPC UA servers, and
writes what arrives in row groups (memory stays bounded however long the run). Stops after
--duration, on Ctrl-C or SIGTERM; the file is finished on every path (written as
<out>.partial and renamed when complete). If the recorder is killed outright, the next record
to the same --out first keeps what the .partial holds in <out>.recovered-<time>.parquet, and
read_history/replay read a .partial directly. Lost connections are recorded (values marked
stale, the gap reported) and recording resumes when the server is back. The OHT vehicles a plant
simulator serves are recorded too, their positions thinned to one per vehicle per
--vehicle-period seconds (default 1). --deadband filters only nodes whose DataType is a number
type (a BaseDataType node may send a String next); the others, and tags whose filter the server
refuses, keep every change, and record says which once. Unless --verbose, the asyncua and
client loggers are quietened while it runs and get back the levels they had when it ends.

Example: factory-twin record plant_configs/demo_fab.yaml --duration 1h --out history.parquet
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from factory_twin.cli.args import (
    bounded_int,
    check_opc_url,
    folder_path,
    non_negative_float,
    positive_float,
)
from factory_twin.errors import ConfigError
from factory_twin.model.config import load_plant

if TYPE_CHECKING:
    from factory_twin.model.events import PlantEvent
    from factory_twin.model.schema import PlantSpec

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Return seconds for '30s', '10m', '1h', '2d' or a plain number of seconds."""
    m = _DURATION.match(text)
    if not m or float(m.group(1)) <= 0:
        msg = f"duration must look like 30s, 10m, 1h or 2d (a positive number), got {text!r}"
        raise ConfigError([msg])
    return float(m.group(1)) * _UNIT_S[m.group(2) or "s"]


def parse_overrides(items: list[str]) -> dict[str, str]:
    """Parse ID=URL pairs."""
    out: dict[str, str] = {}
    for item in items:
        eid, sep, url = item.partition("=")
        if not sep or not eid:
            msg = f"--endpoint needs ID=opc.tcp://host:port/path, got {item!r}"
            raise ConfigError([msg])
        try:
            out[eid] = check_opc_url(url)
        except ValueError as exc:
            msg = f"--endpoint {eid}: {exc}"
            raise ConfigError([msg]) from None
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument("plant", metavar="PLANT.yaml", help="plant file whose bound tags to record")
    p.add_argument("--duration", default="1h", help="how long: 30s, 10m, 1h, 2d (default 1h)")
    p.add_argument("--out", "-o", type=Path, required=True, help="Parquet file to write")
    p.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="ID=URL",
        help="use URL for endpoint ID instead of the plant file's (repeatable)",
    )
    p.add_argument(
        "--credentials",
        action="append",
        default=[],
        metavar="ID=USER:PASSWORD",
        help="log in to endpoint ID (repeatable)",
    )
    p.add_argument(
        "--publishing-ms", type=positive_float, default=250.0, help="publishing interval"
    )
    p.add_argument(
        "--sampling-ms", type=non_negative_float, default=250.0, help="sampling interval"
    )
    p.add_argument(
        "--deadband",
        type=non_negative_float,
        default=0.0,
        help="absolute deadband of numbers; nodes not of a number type (BaseDataType, String, "
        "Boolean) and servers that refuse the filter keep every change, said once",
    )
    p.add_argument(
        "--queue-size",
        type=bounded_int(1, 100_000),
        default=20,
        help="values the server buffers per tag between publishes (default 20: no sample is "
        "lost when a publish is late)",
    )
    p.add_argument(
        "--vehicle-period",
        type=non_negative_float,
        default=1.0,
        metavar="S",
        help="keep at most one position of each OHT vehicle per S seconds, always ending on "
        "where it stopped (default 1: 100 vehicles write at most 200 rows/s; 0 keeps every "
        "update)",
    )
    p.add_argument(
        "--cert-dir", type=folder_path, help="client certificate folder (secure endpoints)"
    )


def run(args: argparse.Namespace) -> int:
    """Record until the duration ends or a signal arrives.

    Returns 0 when the file is complete, 1 when no server delivered anything.
    """
    duration = parse_duration(args.duration)
    overrides = parse_overrides(args.endpoint)
    creds: dict[str, tuple[str, str]] = {}
    for item in args.credentials:
        eid, sep, up = item.partition("=")
        user, sep2, pw = up.partition(":")
        if not (sep and sep2 and eid and user):
            msg = f"--credentials needs ID=USER:PASSWORD, got {item!r}"
            raise ConfigError([msg])
        creds[eid] = (user, pw)
    if args.out.suffix.lower() != ".parquet":
        msg = f"--out must be a .parquet file, got {args.out}"
        raise ConfigError([msg])
    doc = load_plant(args.plant)
    spec = doc.spec
    for name, known in (("--endpoint", overrides), ("--credentials", creds)):
        unknown = sorted(set(known) - {ep.id for ep in spec.endpoints})
        if unknown:
            have = ", ".join(ep.id for ep in spec.endpoints) or "none"
            msg = f"{name}: {args.plant} has no endpoint {', '.join(unknown)} (it has: {have})"
            raise ConfigError([msg])
    if not any(e.opcua is not None for e in spec.equipment):
        msg = f"{args.plant}: no equipment is bound to an OPC UA endpoint (nothing to record)"
        raise ConfigError([msg])
    quiet = contextlib.nullcontext() if getattr(args, "verbose", 0) else quiet_loggers(_QUIET)
    with quiet:
        return asyncio.run(_record(spec, args, duration, overrides, creds))


# Loggers record quietens while it runs (unless --verbose): our own status lines say what
# happens, asyncua's tracebacks on a lost server do not; record prints each connection change
# once itself, the client's log would say the same again.
_QUIET = {"asyncua": logging.CRITICAL, "factory_twin.opcua.client": logging.ERROR}


@contextlib.contextmanager
def quiet_loggers(levels: dict[str, int]) -> Iterator[None]:
    """Set each named logger's level while the block runs, then put back the one it had
    (NOTSET too), so a host that calls record in-process keeps its own log levels."""
    before = {name: logging.getLogger(name).level for name in levels}
    try:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        yield
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


async def _record(
    spec: PlantSpec,
    args: argparse.Namespace,
    duration: float,
    overrides: dict[str, str],
    creds: dict[str, tuple[str, str]],
) -> int:
    from factory_twin.model.events import ConnectionStatus, TagUpdate
    from factory_twin.opcua.client import PlantClient
    from factory_twin.opcua.historian import HistoryWriter

    client = PlantClient(
        spec,
        endpoint_overrides=overrides or None,
        credentials=creds or None,
        publishing_ms=args.publishing_ms,
        sampling_ms=args.sampling_ms,
        deadband=args.deadband,
        cert_dir=args.cert_dir,
        queue_size=args.queue_size,
    )
    writer = HistoryWriter(args.out, vehicle_period_s=getattr(args, "vehicle_period", 1.0))
    if writer.recovered is not None:
        print(f"an unfinished recording was left in {writer.partial}: its data is kept in "
              f"{writer.recovered}", flush=True)  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    why = "duration reached"

    def on_signal(name: str) -> None:
        nonlocal why
        why = f"{name} received"
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig.name)
    received = {"tag": 0, "other": 0}
    told: set[str] = set()

    def take(events: list[PlantEvent]) -> None:
        for ev in events:
            if isinstance(ev, TagUpdate):
                received["tag"] += 1
            else:
                received["other"] += 1
                if isinstance(ev, ConnectionStatus):
                    print(f"{ev.endpoint}: {ev.message}", file=sys.stderr, flush=True)
                    # which tags could not be bound, or go without the deadband (each once)
                    if ev.connected:
                        for problem in [*client.problems(), *client.notices()]:
                            if problem not in told:
                                told.add(problem)
                                print(f"{ev.endpoint}: {problem}", file=sys.stderr, flush=True)
        writer.add(events)

    print(f"recording to {args.out} for {args.duration} (Ctrl-C to stop)", flush=True)
    t_end = time.monotonic() + duration
    try:
        await client.start()
        while not stop.is_set():
            left = t_end - time.monotonic()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(0.2, left))
            take(client.drain())
    finally:
        try:
            await client.stop()
        finally:
            take(client.drain())
            path = writer.close()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
    print(
        f"{path}: {writer.rows_written} rows ({received['tag']} tag updates, "
        f"{writer.counts.get('alarm', 0)} alarm events, "
        f"{writer.counts.get('connection', 0)} connection changes); stopped: {why}",
        flush=True,
    )
    kept = ""
    if writer.backup is not None:
        kept = f"; the earlier {path.name} is kept as {writer.backup}"
        print(f"the earlier {path.name} is kept as {writer.backup}", flush=True)
    if received["tag"] == 0 and writer.counts.get("alarm", 0) == 0:
        print(
            "factory-twin record: error: nothing was recorded (no server delivered a value); "
            f"{path} holds only the connection log{kept}",
            file=sys.stderr,
            flush=True,
        )
        return 1
    return 0
