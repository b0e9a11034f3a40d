"""Markdown tables of SMT2020 runs made with ``factory-twin simulate --out DIR``.

For each run directory prints the fab-level KPIs (throughput against the release rate of
the plant's release plans, WIP, cycle time and X-factor per product, queue-time
violations, bottleneck group and area) and the per-area utilisation with its SEMI E10
breakdown, each as mean ± half-width of the 95% t interval over the replications.

KPIs come from the run's ``summary.json``; replications whose record tables
(``rep-NNN/*.parquet``) are written but whose run has not finished yet are evaluated from
those tables with the same KPI code, so a long run can be tabulated while it continues.

Usage: ``python benchmarks/smt2020_table.py PLANT.yaml RUN_DIR [--days D --warmup-days W]
[--recompute]`` (``--days``/``--warmup-days`` matter only when KPIs are computed from the
Parquet tables: unfinished runs, or ``--recompute`` for runs made before a KPI was added).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.sim.kpi import E10_STATES, compute_kpis
from factory_twin.sim.records import read_frames
from factory_twin.sim.stats import Interval, t_interval

DAY_S = 86400.0


def release_rate(spec: s.PlantSpec) -> dict[str, float]:
    """Lots per day released by each product's constant-interval release plan."""
    out = {}
    for p in spec.products:
        rel = p.release
        if rel is not None and rel.mode == "rate" and rel.interarrival is not None:
            out[p.id] = DAY_S / rel.interarrival.mean
    return out


def replication_kpis(
    spec: s.PlantSpec, run: Path, days: float, warmup: float, *, recompute: bool = False
) -> list[dict[str, float]]:
    """Per-replication KPIs of a run directory (summary.json, else the Parquet tables)."""
    summ = run / "summary.json"
    if summ.exists() and not recompute:
        data = json.loads(summ.read_text())
        return [
            {k: (math.nan if v is None else float(v)) for k, v in r["kpis"].items()}
            for r in data.get("results", data)["per_replication"]  # older files: flat
        ]
    out = []
    for rep in sorted(run.glob("rep-*")):
        paths = {t: rep / f"{t}.parquet" for t in ("steps", "states", "wip", "lots", "qtime")}
        if not all(p.exists() for p in paths.values()):
            continue
        frames = read_frames(paths, kpi_only=True)
        kpis, bn = compute_kpis(frames, spec, warmup * DAY_S, days * DAY_S)
        if bn is not None:
            kpis[f"bottleneck_group/{bn.group}"] = 1.0
            kpis[f"bottleneck_area/{bn.area}"] = 1.0
        out.append(kpis)
    return out


def fmt(iv: Interval, scale: float = 1.0, digits: int = 1) -> str:
    """``mean ± hw`` of an interval, scaled."""
    if iv.n == 0 or math.isnan(iv.mean):
        return "-"
    m = iv.mean * scale
    if iv.n < 2 or not math.isfinite(iv.half_width):
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ± {iv.half_width * scale:.{digits}f}"


def tables(spec: s.PlantSpec, reps: list[dict[str, float]], name: str) -> str:
    """The Markdown tables of one run."""

    def iv(key: str) -> Interval:
        return t_interval([r.get(key, math.nan) for r in reps])

    rel = release_rate(spec)
    lines = [f"**{name}** ({len(reps)} replications)", "", "| KPI | value (95% CI) |", "|---|---|"]
    lines.append(f"| release rate (lots/day, from the release plans) | {sum(rel.values()):.2f} |")
    lines.append(f"| throughput (lots/day) | {fmt(iv('throughput_lots_per_day'), digits=2)} |")
    lines.append(f"| WIP (lots, time average) | {fmt(iv('wip_lots'), digits=0)} |")
    lines.append(f"| moves per day | {fmt(iv('moves_per_day'), digits=0)} |")
    lines.append(f"| cycle time, all new lots (days) | {fmt(iv('cycle_time_mean_h'), 1 / 24)} |")
    lines.append(f"| X-factor, all new lots | {fmt(iv('x_factor'), digits=2)} |")
    lines.append(f"| queue-time violations (per day) | {fmt(iv('qtime_violations_per_day'))} |")
    lines.append(f"| scrapped lots | {fmt(iv('scrapped_lots'))} |")
    lines += ["", "| product | released/day | throughput/day | cycle time (days) | p95 (days) | X-factor |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for p in spec.products:
        lines.append(
            f"| {p.id} | {rel.get(p.id, math.nan):.2f} | "
            f"{fmt(iv(f'throughput_lots_per_day/{p.id}'), digits=2)} | "
            f"{fmt(iv(f'cycle_time_mean_h/{p.id}'), 1 / 24)} | "
            f"{fmt(iv(f'cycle_time_p95_h/{p.id}'), 1 / 24)} | {fmt(iv(f'x_factor/{p.id}'), digits=2)} |"
        )
    areas = sorted(
        {k.split("/", 1)[1] for r in reps for k in r if k.startswith("utilisation_area/")}
    )
    areas.sort(key=lambda a: -iv(f"utilisation_area/{a}").mean)
    lines += ["", "| area | tools | productive % | standby % | engineering % | scheduled down % | "
              "unscheduled down % |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    ntools: dict[str, int] = {}
    for e in spec.equipment:
        ntools[e.bay] = ntools.get(e.bay, 0) + 1
    for a in areas:
        cells = [fmt(iv(f"e10_area.{st}/{a}"), 100) for st in E10_STATES[:5]]
        lines.append(f"| {a} | {ntools.get(a, 0)} | " + " | ".join(cells) + " |")
    groups = sorted({k.split("/", 1)[1] for r in reps for k in r if k.startswith("utilisation/")})
    groups.sort(key=lambda g: -iv(f"utilisation/{g}").mean)
    lines += [
        "",
        "| most utilised tool groups | productive % | queue (lots) | wait (h) |",
        "|---|---|---|---|",
    ]
    for g in groups[:5]:
        lines.append(
            f"| {g} | {fmt(iv(f'utilisation/{g}'), 100)} | {fmt(iv(f'queue_lots/{g}'))} | "
            f"{fmt(iv(f'wait_h/{g}'), digits=2)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("plant", type=Path)
    ap.add_argument("run", type=Path)
    ap.add_argument("--days", type=float, default=150.0)
    ap.add_argument("--warmup-days", type=float, default=50.0)
    ap.add_argument(
        "--recompute", action="store_true",
        help="evaluate every replication from its Parquet tables with the current KPI code",
    )  # fmt: skip
    args = ap.parse_args(argv)
    spec = load_plant(args.plant).spec
    reps = replication_kpis(spec, args.run, args.days, args.warmup_days, recompute=args.recompute)
    if not reps:
        print(f"{args.run}: no finished replication yet", file=sys.stderr)
        return 1
    span = args.days - args.warmup_days
    summ = args.run / "summary.json"
    if summ.exists() and not args.recompute:
        o = json.loads(summ.read_text())["options"]
        span = o["days"] - (o["warmup_days"] or 0.0)
        bn = json.loads(summ.read_text()).get("bottleneck")
    else:
        bn = None
    for r in reps:
        r["qtime_violations_per_day"] = r.get("qtime_violations", math.nan) / span
    print(tables(spec, reps, args.run.name))
    if bn is not None:
        print(f"\nbottleneck: {bn['group']} (area {bn.get('area')}): {bn['evidence']}")
    else:
        names = [k.split("/", 1)[1] for r in reps for k in r if k.startswith("bottleneck_group/")]
        areas = [k.split("/", 1)[1] for r in reps for k in r if k.startswith("bottleneck_area/")]
        if names:
            print(f"\nbottleneck groups per replication: {names}; areas: {areas}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
