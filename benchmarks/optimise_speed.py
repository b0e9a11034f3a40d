"""Speed of optimisation studies: parallel trials, and how fast the search finds the optimum.

1. Trials per minute on the demo fab (one-year horizon, 5 replications per trial, the demo
   study's variables) on 2 local processes, against the same trials run serially in this
   process (the speed-up; target >= 1.7).
2. Trials the search needs to reach the brute-force optimum of the small test plant
   (tests/data/optimise_plant.yaml: 64 tool sets, the optimum computed here by simulating
   every one with the study's replications and seed), median over 5 seeds, against random
   search with the same budget (target: fewer). A run that never reaches it counts as the
   budget + 1.

Usage::

    .venv/bin/python benchmarks/optimise_speed.py [--trials 4] [--days 365] [--budget 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "app"))  # the optimisation tests' helpers

from optimise_helpers import InProcessClient, brute_force, write_small_study  # noqa: E402

from factory_twin.app.optimise import run  # noqa: E402

DEMO = ROOT / "plant_configs" / "demo_fab.study.yaml"


def demo_study(d: Path, trials: int, days: float) -> Path:
    text = DEMO.read_text()
    text = text.replace("base: demo_fab.yaml", f"base: {DEMO.parent / 'demo_fab.yaml'}")
    text = text.replace("horizon_days: 120", f"horizon_days: {days:g}")
    text = text.replace("warmup_days: 20", "warmup_days: 30")
    text = text.replace("replications: 3 ", "replications: 5 ")
    text = text.replace("budget: {trials: 40, wall_minutes: 15}", f"budget: {{trials: {trials}}}")
    text = text.replace("selection: {top_k: 4, replications: 8}", "selection: {top_k: 1, replications: 5}")  # fmt: skip
    p = d / "bench.study.yaml"
    p.write_text(text)
    return p


def parallel_speed(trials: int, days: float) -> None:
    import os
    import resource

    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        p = demo_study(Path(tmp), trials, days)
        c0, t0 = time.process_time(), time.perf_counter()
        run(p, Path(tmp) / "serial", executor=InProcessClient(), processes=1, select=False)
        serial, serial_cpu = time.perf_counter() - t0, time.process_time() - c0
        k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        c0, t0 = time.process_time(), time.perf_counter()
        run(p, Path(tmp) / "two", processes=2, select=False)
        two = time.perf_counter() - t0
        k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        two_cpu = (
            time.process_time() - c0 + (k1.ru_utime + k1.ru_stime - k0.ru_utime - k0.ru_stime)
        )
    load1 = os.getloadavg()[0]
    print(f"demo fab, {days:g}-day horizon, 5 replications per trial, {trials} trials "
          f"(machine load {load0:.1f} -> {load1:.1f} on {os.cpu_count()} cores):")  # fmt: skip
    print(f"  serial      {serial:7.1f} s wall, {serial_cpu:6.1f} s CPU, {60 * trials / serial:6.2f} trials/min")  # fmt: skip
    print(f"  2 processes {two:7.1f} s wall, {two_cpu:6.1f} s CPU, {60 * trials / two:6.2f} trials/min")  # fmt: skip
    print(f"  speed-up    {serial / two:.2f}x (target >= 1.7; needs 2 idle cores)")


def search_efficiency(budget: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        p = write_small_study(d / "small.study.yaml", budget)
        feasible = {k: cost for k, (cost, ok) in brute_force(p).items() if ok}
        assert feasible, "no feasible tool set"
        cheapest = min(feasible, key=feasible.__getitem__)
        best = (
            feasible[cheapest],
            {f"tools/{g}": n for g, n in zip("ABC", cheapest, strict=True)},
        )
        print(
            f"\nsmall plant, brute force over 64 tool sets: optimum {best[1]} ({best[0] / 1e6:g} M)"
        )
        found: dict[str, list[int]] = {}
        for sampler in ("tpe", "random"):
            for seed in range(5):
                q = write_small_study(d / f"{sampler}{seed}.study.yaml", budget,
                                      sampler=sampler, processes="1")  # fmt: skip
                # the sampler's seed: a different search, the same simulation streams
                out = run(q, d / f"{sampler}{seed}", executor=InProcessClient(), processes=1,
                          select=False, sampler_seed=seed)  # fmt: skip
                hit = [r.number + 1 for r in out.trials
                       if r.state == "complete" and r.params == best[1]]  # fmt: skip
                found.setdefault(sampler, []).append(min(hit) if hit else budget + 1)
        for sampler, ns in found.items():
            print(f"  {sampler:<7} trials to the optimum per seed {ns}, median {statistics.median(ns):g}")  # fmt: skip
        tpe, rnd = statistics.median(found["tpe"]), statistics.median(found["random"])
        print(f"  TPE needs {tpe:g} trials, random search {rnd:g} (target: fewer)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=4, help="demo fab trials per mode")
    ap.add_argument("--days", type=float, default=365.0, help="demo fab horizon")
    ap.add_argument("--budget", type=int, default=30, help="small plant trial budget")
    args = ap.parse_args()
    search_efficiency(args.budget)
    parallel_speed(args.trials, args.days)


if __name__ == "__main__":
    main()
