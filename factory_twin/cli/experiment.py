"""Run an experiment file: every scenario on common random numbers, results stored on disk.

Reads NAME.experiment.yaml (scenarios, horizon, warm-up, replications, seed, executor) and
writes the result folder (default NAME.results/ beside it) that `factory-twin report` and
the Plan workspace open. A scenario already run with the same plant, options and engine
version is read from the folder, not run again. Prints a progress line while running, then
the main KPIs with 95% confidence intervals and the paired differences against the base (and
the OHT fleet's KPIs when the plant runs its fleet: transport time mean and p95, wait for a
vehicle, utilisation, empty-travel share, moves per hour, blocked time per move, deadlocks).
Ctrl-C stops the run: complete scenarios are kept, unfinished ones removed.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from factory_twin.app import experiment as ex
from factory_twin.app.experiment import ExperimentResult, load_experiment, plan
from factory_twin.cli.run_options import ProgressLine, add_run_options, duration

_SHOWN = [
    ("throughput_lots_per_day", "throughput (lots/day)"),
    ("cycle_time_mean_h", "cycle time mean (h)"),
    ("cycle_time_p95_h", "cycle time p95 (h)"),
    ("wip_lots", "WIP (lots)"),
    ("x_factor", "X-factor"),
]
# the OHT fleet's KPIs (amhs model 'oht'), shown when the scenarios run the fleet
_SHOWN_AMHS = [
    ("amhs_vehicles", "OHT vehicles"),
    ("amhs_transport_mean_min", "transport mean (min)"),
    ("amhs_transport_p95_min", "transport p95 (min)"),
    ("amhs_wait_vehicle_mean_min", "wait for vehicle (min)"),
    ("amhs_vehicle_utilisation", "vehicle utilisation"),
    ("amhs_empty_travel_share", "empty-travel share"),
    ("amhs_moves_per_h", "vehicle moves/h"),
    ("amhs_blocked_per_move_s", "blocked per move (s)"),
    ("amhs_deadlocks", "deadlocks"),
]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument("experiment", type=Path, metavar="EXPERIMENT.yaml", help="experiment file")
    add_run_options(
        p,
        out_help="result folder (default: NAME.results beside the experiment file)",
        dask_help="run on this Dask scheduler (host:port or dask://host:port); the result "
        "folder must be on a filesystem the workers share",
    )


class _Line(ProgressLine):
    """The progress line of an experiment: a report per replication."""

    def __call__(self, scenario: str, rep: int, done: int, total: int, eta_s: float) -> None:
        if rep < 0:
            text = f"running {total} replications ..."
        else:
            eta = "" if math.isnan(eta_s) else f", about {duration(eta_s)} left"
            text = f"[{done}/{total}] {scenario} replication {rep} done{eta}"
        self.show(text)


def summary_text(res: ExperimentResult) -> str:
    """The main KPIs per scenario and the differences against the base, as text."""
    summ = res.summary().set_index(["scenario", "kpi"])
    shown = _SHOWN + [(k, lab) for k, lab in _SHOWN_AMHS if k in summ.index.get_level_values(1)]
    lines = []
    w = max(len(n) for n in res.names()) + 2
    for sc in res.scenarios:
        lines.append(f"{sc.name}: {len(sc.replications)} replications ({sc.meta.get('stop')}), "
                     f"warm-up {sc.warmup_s / 86400:.2f} days")  # fmt: skip
        for k, label in shown:
            if (sc.name, k) in summ.index:
                r = summ.loc[(sc.name, k)]
                hw = "" if not math.isfinite(r["half_width"]) else f" ± {r['half_width']:.3g}"
                lines.append(f"  {label:<24} {r['mean']:.4g}{hw}")
    if len(res.scenarios) > 1:
        lines.append("")
        lines.append("differences against the base (paired, 95% CI):")
        d = res.differences().set_index(["scenario", "kpi"])
        for sc in res.scenarios[1:]:
            for k, label in shown:
                if (sc.name, k) in d.index:
                    r = d.loc[(sc.name, k)]
                    hw = "" if not math.isfinite(r["half_width"]) else f" ± {r['half_width']:.3g}"
                    lines.append(
                        f"  {sc.name:<{w}} {label:<24} {r['mean']:+.4g}{hw}  {r['verdict']}"
                    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run; return 0, 2 on bad input, 130 if interrupted."""
    exp = load_experiment(args.experiment)
    out, planned = plan(exp, args.out)
    cached = [p.name for p in planned if p.cached]
    if cached:
        print(f"already in {out}: {', '.join(cached)} (not run again)", file=sys.stderr)
    for p in planned:
        if p.damaged is not None:
            print(f"{p.damaged}: running {p.name} again", file=sys.stderr)
    line = _Line()
    t0 = time.perf_counter()
    try:
        res = ex.run(exp, out, progress=line, executor=args.dask, processes=args.processes)
    finally:
        line.close()
    print(summary_text(res))
    print(f"\nresults in {out} ({time.perf_counter() - t0:.1f} s); "
          f"report: factory-twin report {out} -o report.html")  # fmt: skip
    return 0
