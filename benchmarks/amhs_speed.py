"""Cost of the vehicle-level OHT fleet against the simple transport model on SMT2020 HVLM.

Runs ``--days`` simulated days of ``plant_configs/smt2020_hvlm_smat2022.yaml`` (the HVLM fab
on its SMAT2022 layout) twice, each in a fresh process on one core: with the simple transport
model (SMT2020's from-to time; ``amhs`` removed) and with the OHT fleet of ``--fleet``
vehicles on the rails (sim/oht.py). Prints CPU seconds per simulated day (``process_time``
of the run, plant loading excluded), events, peak memory (RSS) of each process, the ratio
OHT / simple (target: at most 2x), the extrapolated simulated year on one core, and the
fleet's section passages per day with the extra CPU time per passage (the cost that sets the
ratio) against the budget per passage the 2x target leaves.

Usage: ``python benchmarks/amhs_speed.py [--days 5] [--fleet 100]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLANT = ROOT / "plant_configs" / "smt2020_hvlm_smat2022.yaml"


def one(kind: str, days: float, fleet: int) -> dict[str, float]:
    """Run one replication in this process and return its figures."""
    from factory_twin.model.config import load_plant
    from factory_twin.sim.runner import RunOptions, run_replication

    spec = load_plant(PLANT).spec
    assert spec.amhs is not None
    if kind == "simple":
        spec = spec.model_copy(update={"amhs": None})
    else:
        spec = spec.model_copy(update={"amhs": spec.amhs.model_copy(update={"fleet": fleet})})
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    c0, w0 = time.process_time(), time.perf_counter()
    r = run_replication(spec, RunOptions(days=days, warmup_days=0.0), 0)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {
        "cpu_s": cpu,
        "wall_s": wall,
        "events": float(r.events),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": rss0,
        "moves_per_h": r.kpis.get("amhs_moves_per_h", float("nan")),
        "lots_per_day": r.kpis["throughput_lots_per_day"],
        "passages": float(r.amhs.entries.sum()) if r.amhs is not None else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=5.0)
    ap.add_argument("--fleet", type=int, default=100)
    ap.add_argument("--one", choices=["simple", "oht"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.one, a.days, a.fleet)))
        return
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = {}
    for kind in ("simple", "oht"):
        out = subprocess.run(
            [sys.executable, __file__, "--one", kind, "--days", str(a.days), "--fleet", str(a.fleet)],
            check=True, capture_output=True, text=True, env=env,
        ).stdout  # fmt: skip
        res[kind] = json.loads(out.strip().splitlines()[-1])
    print(
        f"SMT2020 HVLM on SMAT2022, {a.days:g} simulated days, one core (load {os.getloadavg()[0]:.1f})"
    )
    print(
        f"{'model':<22}{'CPU s/day':>10}{'events/day':>12}{'peak RSS MB':>13}{'year (CPU min)':>16}"
    )
    for kind, label in (("simple", "simple transport"), ("oht", f"OHT, {a.fleet} vehicles")):
        f = res[kind]
        per_day = f["cpu_s"] / a.days
        print(
            f"{label:<22}{per_day:>10.2f}{f['events'] / a.days:>12,.0f}{f['rss_mb']:>13.0f}"
            f"{per_day * 365 / 60:>16.1f}"
        )
    ratio = res["oht"]["cpu_s"] / res["simple"]["cpu_s"]
    print(f"ratio OHT / simple: {ratio:.1f}x (target <= 2x: {'met' if ratio <= 2 else 'NOT met'})")
    print(f"OHT moves per hour: {res['oht']['moves_per_h']:.0f}")
    extra = res["oht"]["cpu_s"] - res["simple"]["cpu_s"]
    passages = res["oht"]["passages"]
    if passages > 0:
        print(
            f"OHT section passages per day: {passages / a.days:,.0f}; extra CPU per passage: "
            f"{extra / passages * 1e6:.1f} us (the 2x target needs about "
            f"{res['simple']['cpu_s'] / passages * 1e6:.2f} us)"
        )


if __name__ == "__main__":
    main()
