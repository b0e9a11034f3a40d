"""``factory-twin serve PLANT --drill ID``: the plant simulator running a drill, headless."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

from factory_twin.errors import ConnectionFailed, FactoryTwinError
from factory_twin.model.drills import describe_injection
from factory_twin.model.schema import Drill, PlantSpec


async def serve_drill(
    spec: PlantSpec,
    drill: Drill,
    endpoint: str,
    options: dict[str, Any],
    duration: float | None,
    record: Path | None,
    trainers: set[str] | None,
    *,
    forget_tokens: bool = False,
) -> int:
    """Serve ``drill`` until it finishes, Ctrl-C or ``duration`` wall seconds; print scores.

    With ``record`` the trainee names taken are kept in ``<record>/<drill>.tokens``; a
    damaged token file refuses the start (FactoryTwinError naming the file and line, the
    file kept as .bak) unless ``forget_tokens``, which starts with every name free.
    """
    from factory_twin.app.drill_server import DrillSimulator
    from factory_twin.opcua.server.drill_tokens import TokenFileError

    try:
        sim = DrillSimulator(
            spec,
            drill,
            endpoint=endpoint,
            record_dir=record,
            trainers=trainers,
            forget_tokens=forget_tokens,
            **options,
        )
    except TokenFileError as exc:
        msg = f"{exc}, or start again with --forget-tokens (every name free, the file kept)"
        raise FactoryTwinError(msg) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    print(
        f"drill {drill.id}: {drill.name}; warming the plant up to {drill.start_at_s:g} s",
        flush=True,
    )
    try:
        await sim.start()
    except ConnectionFailed:
        raise
    except OSError as exc:
        msg = f"cannot serve on {endpoint}: {exc}"
        raise FactoryTwinError(msg) from None
    print(f"serving {spec.site.name} in DRILL mode (simulated plant)")
    print(f"endpoint: {sim.endpoint_url}  (security {options['security']})")
    print(f"speed: {sim.speed:g} plant seconds per second; drill length {drill.planned_end_s:g} s")
    for inj in drill.injections:
        print(f"  fault {inj.id}: {describe_injection(inj)}")
    if sim.token_path is not None:
        n = len(sim.taken_names)
        print(f"trainee names: {n} taken, kept in {sim.token_path} (hashes of their tokens)")
    else:
        print("trainee names: kept in memory only (give --record DIR to keep them over restarts)")
    log = sim.events
    if log.path is not None:
        fresh = (
            " (a new log: the old file was damaged, see the error logged)" if log.problem else ""
        )
        if log.previous is not None:
            fresh = f" (a new run: the finished run's log is kept as {log.previous})"
        print(f"event log: {log.last} entries kept in {log.path}, log id {log.id}{fresh}")
    else:
        print("event log: kept in memory only (give --record DIR to keep it over restarts)")
    print("trainees: connect with a session name (or user); Ctrl-C stops", flush=True)

    async def until_finished() -> None:
        while sim.state != "finished":
            await asyncio.sleep(0.2)

    waits = {asyncio.create_task(stop.wait()), asyncio.create_task(until_finished())}
    try:
        await asyncio.wait(waits, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
        await sim.stop()
    print(f"stopped at drill time {sim.clock_s:.0f} s ({sim.state})")
    if not sim.scores:
        print("no trainee took part")
    for name, sc in sim.scores.items():
        verdict = "PASS" if sc.passed else "FAIL"
        print(
            f"  {name}: {sc.score:g} / {sc.max_points:g} points ({sc.percent:.0f} %), "
            f"{len(sc.wrong)} wrong action(s): {verdict}"
        )
    if sim.log_path is not None:
        print(f"recorded: {sim.history_path} and {sim.log_path}", flush=True)
    return 0
