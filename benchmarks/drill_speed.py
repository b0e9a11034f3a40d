"""Drill latencies over real OPC UA, with 1 and with 10 trainee clients connected.

* injection -> alarm: the trainer injects an ad-hoc ``alarm`` fault; the time until the
  alarm event reaches each trainee client;
* action -> score: a trainee holds a healthy tool (a wrong action, -1 point); the time until
  the trainer client sees that trainee's score event;
* server CPU per trainee: process CPU seconds per wall second while the drill runs with
  N trainees connected and idle, divided by N. The server *and* the trainee clients run in
  this process, so this is an upper bound of the server's share (it includes the simulation
  itself, which does not grow with N).

Prints median and p95 (targets: < 1 s median, < 2 s p95 with 10 trainees).

Usage::

    .venv/bin/python benchmarks/drill_speed.py [--rounds 10] [--trainees 1 10]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import statistics
import time
from pathlib import Path

from factory_twin.app.drill_server import DrillSimulator
from factory_twin.model.config import load_plant
from factory_twin.model.drills import find_drill
from factory_twin.opcua.drill_client import DrillClient

HEALTHY = ["LMET-01", "LMET-02", "FILM-01", "FILM-02", "DEF-01", "DEF-02", "TRK-01", "TRK-02"]
DEMO = Path(__file__).resolve().parents[1] / "plant_configs" / "demo_fab.yaml"


def _url() -> str:
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return f"opc.tcp://127.0.0.1:{sk.getsockname()[1]}/factory_twin/"


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


async def _wait(client: DrillClient, pred, timeout: float = 10.0) -> float:  # type: ignore[no-untyped-def]
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        for n in client.drain():
            if pred(n):
                return time.perf_counter()
        await asyncio.sleep(0.002)
    raise TimeoutError


async def run(n_trainees: int, rounds: int) -> None:
    spec = load_plant(DEMO).spec
    base = find_drill(spec, "oht_jam")
    # no warm-up; a wrong action costs 1 point, so every round changes a score
    penalties = base.penalties.model_copy(update={"hold_healthy_tool": 1.0})
    drill = base.model_copy(update={"start_at_s": 0.0, "penalties": penalties})
    sim = DrillSimulator(spec, drill, endpoint=_url(), speed=60, load_companion_specs=False)
    await sim.start()
    trainer = DrillClient(sim.endpoint_url, "trainer", trainer=True)
    await trainer.connect()
    trainees = [DrillClient(sim.endpoint_url, f"t{i:02d}") for i in range(n_trainees)]
    for t in trainees:
        await t.connect()
    while sim.clock_s < 130:  # the jam (at 120 s) has fired: calling maintenance scores
        await asyncio.sleep(0.1)
    for t in trainees:
        await t.call_maintenance("OHT", "rail blocked")  # +20 points each
    await asyncio.sleep(1.0)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(5.0)
    cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    inj: list[float] = []
    act: list[float] = []
    tools = ["ETCH-01", "ETCH-03", "CMP-01", "PVD-01", "ASH-01", "CVD-01", "RTA-01", "WET-01"]
    for r in range(rounds):
        for c in [trainer, *trainees]:
            c.drain()
        tool = tools[r % len(tools)]
        t0 = time.perf_counter()
        await trainer.inject("breakdown", tool, duration_s=120)
        for t in trainees:
            got = await _wait(
                t, lambda n, tool=tool: n.kind == "alarm" and n.equipment == tool and n.active
            )
            inj.append(got - t0)
        who = trainees[r % n_trainees]
        healthy = HEALTHY[r % len(HEALTHY)]
        t0 = time.perf_counter()
        await who.machine(healthy, "Hold")  # a wrong action: -1 point
        got = await _wait(trainer, lambda n, w=who.name: n.kind == "score" and n.trainee == w)
        act.append(got - t0)
        await asyncio.sleep(0.3)
    for c in [trainer, *trainees]:
        await c.disconnect()
    await sim.stop()
    print(f"{n_trainees:>2} trainee(s): injection -> alarm at each trainee: median "
          f"{statistics.median(inj) * 1000:.0f} ms, p95 {_p95(inj) * 1000:.0f} ms; "
          f"action -> score at the trainer: median {statistics.median(act) * 1000:.0f} ms, "
          f"p95 {_p95(act) * 1000:.0f} ms; server CPU {cpu * 100:.1f} % "
          f"({cpu * 100 / n_trainees:.2f} % per trainee)")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--trainees", type=int, nargs="+", default=[1, 10])
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for n in args.trainees:
        asyncio.run(run(n, args.rounds))


if __name__ == "__main__":
    main()
