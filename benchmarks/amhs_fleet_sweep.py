"""Fleet-size sweep of the SMT2020 HVLM fab on its SMAT2022 layout (OHT fleet, sim/oht.py).

For each fleet size, ``--reps`` replications of ``--days`` simulated days (by default no
warm-up: the initial WIP fills the fab from the start; ``--warmup-days`` deletes one, for
steady-state cycle times) on ``plant_configs/smt2020_hvlm_smat2022.yaml``;
prints the mean and 95 % confidence half-width over replications of: transport time per move
(mean, p95, from request to set-down), waiting for a vehicle, blocked time per move, vehicle
utilisation, empty-travel share, moves per hour, lots finished per day, mean cycle time of the
lots finished after the warm-up, and the deadlocks the
traffic rules had to resolve. Also the same figures for the simple transport model (SMT2020's
uniform from-to time) as the reference.

Usage: ``python benchmarks/amhs_fleet_sweep.py [--fleets 40 60 80 100 120 160] [--days 2]
[--reps 2] [--warmup-days 0] [--jobs 2]`` (a Markdown table on stdout, as in docs/smat2022_layout.md).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import time
from pathlib import Path

from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.sim.oht_graph import RailGraph
from factory_twin.sim.runner import RunOptions, run_experiment

ROOT = Path(__file__).resolve().parents[1]
PLANT = ROOT / "plant_configs" / "smt2020_hvlm_smat2022.yaml"
COLS = [
    ("amhs_transport_mean_min", "transport mean (min)", 2),
    ("amhs_transport_p95_min", "transport p95 (min)", 2),
    ("amhs_wait_vehicle_mean_min", "wait for vehicle (min)", 2),
    ("amhs_blocked_per_move_s", "blocked per move (s)", 2),
    ("amhs_vehicle_utilisation", "utilisation", 3),
    ("amhs_empty_travel_share", "empty share", 3),
    ("amhs_moves_per_h", "moves/h", 0),
    ("throughput_lots_per_day", "lots out/day", 1),
    ("cycle_time_mean_h", "cycle time mean (h)", 0),
    ("amhs_deadlocks", "deadlocks", 0),
]


def rep_node_time_min(spec: s.PlantSpec, family_map: Path) -> tuple[float, float]:
    """U-FAST's way: one representative rail node per tool group (its family-node map); the
    mean free-running loaded time between consecutive route steps' groups, kinematics as in
    sim/oht.py, without and with the two hoist times (minutes, over both routes' steps)."""
    assert spec.amhs is not None
    g = RailGraph(spec.amhs)
    with open(family_map, encoding="utf-8", newline="") as f:
        rep = {r["tool_group"].lower(): r["rep_node_name"] for r in csv.DictReader(f)}
    times = []
    for route in spec.routes:
        groups = [st.tool_group for st in route.steps]
        for a, b in itertools.pairwise(groups):
            na, nb = rep.get(a.lower()), rep.get(b.lower())
            if na is None or nb is None:
                continue
            links = g.path_links(g.node_index[na], g.node_index[nb])
            times.append(g.run_time_s(links))
    mean = sum(times) / len(times)
    return mean / 60, (mean + 2 * spec.amhs.handling_s) / 60


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fleets", type=int, nargs="+", default=[40, 60, 80, 100, 120, 160])
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument(
        "--warmup-days",
        type=float,
        default=0.0,
        help="warm-up deleted from each replication (0: none, the figures of a loaded fab; "
        "give 30+ with --days 90+ for steady-state cycle times)",
    )
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--plant", default=str(PLANT))
    ap.add_argument(
        "--family-map",
        default=str(
            ROOT.parent / "shared" / "datasets" / "smat2022" / "SMAT2022_family_node_map.csv"
        ),
        help="U-FAST's SMAT2022_family_node_map.csv: also print its representative-node time",
    )
    a = ap.parse_args()
    spec = load_plant(a.plant).spec
    assert spec.amhs is not None
    if Path(a.family_map).is_file():
        free, with_hoist = rep_node_time_min(spec, Path(a.family_map))
        print(
            f"Representative-node (U-FAST-style) free-running time between consecutive steps: "
            f"{free:.2f} min, {with_hoist:.2f} min with two hoists\n"
        )
    opts = RunOptions(days=a.days, warmup_days=a.warmup_days)
    print(
        f"HVLM on SMAT2022, {a.days:g} simulated days ({a.warmup_days:g} of warm-up deleted)"
        f" x {a.reps} replications per row\n"
    )
    print("| fleet | " + " | ".join(c[1] for c in COLS) + " | wall (s) |")
    print("|---" * (len(COLS) + 2) + "|")
    rows = [("simple", spec.model_copy(update={"amhs": None}))]
    for n in a.fleets:
        rows.append(
            (str(n), spec.model_copy(update={"amhs": spec.amhs.model_copy(update={"fleet": n})}))
        )
    per_product: list[tuple[str, dict[str, str]]] = []
    for label, sp in rows:
        t0 = time.perf_counter()
        exp = run_experiment(sp, opts, a.reps, jobs=a.jobs, name=label)
        wall = time.perf_counter() - t0
        summ = exp.summary()
        cells = []
        for key, _title, nd in COLS:
            iv = summ.get(key)
            cells.append("-" if iv is None else f"{iv.mean:.{nd}f} ± {iv.half_width:.{nd}f}")
        print(f"| {label} | " + " | ".join(cells) + f" | {wall:.0f} |", flush=True)
        per_product.append(
            (
                label,
                {
                    k.split("/", 1)[1]: f"{iv.mean / 24:.1f} ± {iv.half_width / 24:.1f}"
                    for k, iv in summ.items()
                    if k.startswith("cycle_time_mean_h/")
                },
            )
        )
    if a.warmup_days > 0:  # steady state: cycle time per product, in days (as published)
        products = sorted({p for _, cells_p in per_product for p in cells_p})
        print("\nMean cycle time per product after the warm-up (days)\n")
        print("| fleet | " + " | ".join(products) + " |")
        print("|---" * (len(products) + 1) + "|")
        for label, cells_p in per_product:
            print(f"| {label} | " + " | ".join(cells_p.get(p, "-") for p in products) + " |")


if __name__ == "__main__":
    main()
