"""Experiment speed: parallel replications against their serial sum, and opening a big result.

1. The demo fab, base and fourth-scanner scenario x 10 replications x 365 days, run by
   ``factory_twin.app.experiment.run`` on local processes (one per core): wall time against
   the sum of the replications' own wall times (what one process would take). Targets:
   speed-up >= 1.7 on 2 cores, under 60 s in all.
2. Time to open the comparison of an SMT2020 HVLM experiment (base and one scenario x 2
   replications x 1 day, made here first): ``load_result`` + ``summary`` + ``differences``.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/plan_experiment_speed.py [--days 365]``.
Prints the figures; results go to a temporary folder removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from factory_twin.app.experiment import load_result, run

ROOT = Path(__file__).resolve().parents[1]
PLANTS = ROOT / "plant_configs"


def _experiment(folder: Path, scenarios: list[Path], **opts: object) -> Path:
    data = {"scenarios": [str(p) for p in scenarios], "seed": 1, **opts}
    path = folder / "bench.experiment.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def demo_speed(folder: Path, days: float, reps: int) -> None:
    """Figure 1: parallel wall time against the serial sum."""
    exp = _experiment(
        folder,
        [PLANTS / "demo_fab.yaml", PLANTS / "demo_fab_fourth_scanner.scenario.yaml"],
        horizon_days=days, warmup="auto", replications=reps,
    )  # fmt: skip
    t0 = time.perf_counter()
    res = run(exp)
    wall = time.perf_counter() - t0
    serial = sum(sum(sc.meta["wall_s"]) for sc in res.scenarios)
    n = sum(len(sc.replications) for sc in res.scenarios)
    print(f"demo fab, 2 scenarios x {reps} replications x {days:g} days on {os.cpu_count()} cores")
    print(f"  wall {wall:.1f} s; serial sum of the {n} replications {serial:.1f} s; "
          f"speed-up {serial / wall:.2f}")  # fmt: skip
    t0 = time.perf_counter()
    run(exp)
    print(f"  second run (all stored, nothing simulated): {time.perf_counter() - t0:.2f} s")


def smt2020_open(folder: Path, days: float) -> None:
    """Figure 2: time to open an SMT2020 comparison."""
    hvlm = PLANTS / "smt2020_hvlm.yaml"
    sc = folder / "hvlm_fifo.scenario.yaml"
    sc.write_text(yaml.safe_dump({"base": str(hvlm), "changes": [
        {"change": "set_dispatch", "group": "Litho_BE_110", "rule": "fifo"}]}))  # fmt: skip
    sub = folder / "smt"
    sub.mkdir()
    exp = _experiment(sub, [hvlm, sc], horizon_days=days, warmup=0, replications=2)
    t0 = time.perf_counter()
    run(exp)
    print(
        f"SMT2020 HVLM, 2 scenarios x 2 replications x {days:g} day(s): run {time.perf_counter() - t0:.1f} s"
    )
    out = sub / "bench.results"
    t0 = time.perf_counter()
    res = load_result(out)
    s = res.summary()
    d = res.differences()
    dt = time.perf_counter() - t0
    print(f"  open the comparison (load_result + summary + differences): {dt:.2f} s "
          f"({len(s)} KPI rows, {len(d)} differences)")  # fmt: skip
    t0 = time.perf_counter()
    g = res.gantt(res.base.name, 0, 0.0, days * 86400.0)
    print(
        f"  Gantt of one replication, whole horizon: {time.perf_counter() - t0:.2f} s, {len(g)} rows"
    )


def main() -> None:
    """Run the benchmarks and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--smt-days", type=float, default=1.0)
    ap.add_argument("--skip-smt", action="store_true")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="plan-exp-bench-"))
    try:
        demo_speed(folder, args.days, args.replications)
        if not args.skip_smt:
            smt2020_open(folder, args.smt_days)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
