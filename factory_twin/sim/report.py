"""Plain-text tables of simulation results (KPIs with confidence intervals, differences)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from factory_twin.sim.runner import Comparison, Experiment
from factory_twin.sim.stats import Interval

_MAIN = [
    ("throughput_lots_per_day", "throughput (lots/day)"),
    ("throughput_wafers_per_day", "throughput (wafers/day)"),
    ("cycle_time_mean_h", "cycle time mean (h)"),
    ("cycle_time_p50_h", "cycle time p50 (h)"),
    ("cycle_time_p95_h", "cycle time p95 (h)"),
    ("x_factor", "X-factor (CT / RPT)"),
    ("wip_lots", "WIP (lots, time average)"),
    ("moves_per_day", "moves/day"),
    ("qtime_violations_per_day", "queue-time violations/day"),
    ("qtime_violations", "queue-time violations (count in window)"),
    ("scrapped_lots_per_day", "scrapped lots/day"),
    ("scrapped_lots", "scrapped lots (count in window)"),
]

# The OHT fleet's KPIs (amhs model 'oht', sim/oht.py), printed when present.
_AMHS = [
    ("amhs_vehicles", "vehicles in the fleet"),
    ("amhs_transport_mean_min", "transport per move, mean (min)"),
    ("amhs_transport_p95_min", "transport per move, p95 (min)"),
    ("amhs_wait_vehicle_mean_min", "wait for a vehicle, mean (min)"),
    ("amhs_blocked_per_move_s", "blocked per move (s)"),
    ("amhs_vehicle_utilisation", "vehicle utilisation"),
    ("amhs_empty_travel_share", "empty-travel share"),
    ("amhs_moves_per_h", "vehicle moves/h"),
    ("amhs_pending_max", "moves waiting, most"),
    ("amhs_deadlocks", "deadlocks resolved"),
    ("amhs_busiest_section_1_entries_per_h", "busiest section, entries/h"),
]


def number_text(v: float | None) -> str:
    """A figure as short text: thousands with separators, 3 decimals under 10, ``-`` for none.

    Examples
    --------
    >>> number_text(1234.5), number_text(12.34), number_text(0.12345), number_text(0.001)
    ('1,234', '12.3', '0.123', '1.00e-03')
    >>> number_text(float("nan")), number_text(None), number_text(float("-inf"))
    ('-', '-', 'inf')
    """
    if v is None or math.isnan(v):
        return "-"
    if math.isinf(v):
        return "inf"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 0.01 or a == 0:
        return f"{v:.3f}"
    return f"{v:.2e}"


def _row(label: str, iv: Interval, width: int) -> str:
    # one replication has no interval (its half-width is infinite): show the value alone
    hw = (
        ""
        if math.isnan(iv.half_width) or math.isinf(iv.half_width)
        else f"± {number_text(iv.half_width)}"
    )
    return f"  {label:<{width}} {number_text(iv.mean):>12} {hw:<12}"


def kpi_table(exp: Experiment, *, top_groups: int = 8) -> str:
    """Return the KPI table of an experiment: mean ± half-width of the 95% t interval."""
    summ = exp.summary()
    n = len(exp.results)
    lines = [
        f"{exp.name}: {n} replication{'s' if n != 1 else ''} of {exp.options.days:g} days"
        + (
            f", warm-up {exp.options.warmup_days:g} days"
            if exp.options.warmup_days is not None
            else f", warm-up {exp.results[0].warmup_s / 86400 if n else math.nan:.2f} days "
            "(MSER-5 on the average WIP of all replications, the same for each)"
        )
        + f", seed {exp.options.seed}"
        + (f", rule {exp.options.rule}" if exp.options.rule else ""),
        "  (mean ± half-width of the 95% confidence interval)"
        if n > 1
        else "  (one replication: no confidence interval; --replications 2 or more give one)",
    ]
    w = 40
    lotless = not any(k.startswith("cycle_time_mean_h/") for k in summ)
    if lotless:  # no products: an availability study of the tools
        lines += _e10_table(summ)
        lines += _partial_lines(exp)
        return "\n".join(lines)
    for key, label in _MAIN:
        if key in summ:
            lines.append(_row(label, summ[key], w))
    if any(key in summ for key, _ in _AMHS):
        lines.append("  OHT fleet:")
        lines += [_row(label, summ[key], w) for key, label in _AMHS if key in summ]
    products = sorted({k.split("/", 1)[1] for k in summ if k.startswith("cycle_time_mean_h/")})
    if len(products) > 1:
        lines.append("  per product:")
        for p in products:
            lines.append(
                _row(f"{p} throughput (lots/day)", summ[f"throughput_lots_per_day/{p}"], w)
            )
            lines.append(_row(f"{p} cycle time mean (h)", summ[f"cycle_time_mean_h/{p}"], w))
            lines.append(_row(f"{p} X-factor", summ[f"x_factor/{p}"], w))
    groups = [k.split("/", 1)[1] for k in summ if k.startswith("utilisation/")]
    groups.sort(key=lambda g: -summ[f"utilisation/{g}"].mean)
    if groups:
        lines.append(f"  tool groups (top {min(top_groups, len(groups))} by utilisation):")
        gw = max(14, *(len(g) for g in groups[:top_groups]))
        lines.append(
            f"    {'group':<{gw}} {'util %':>8} {'OEE %':>8} {'down %':>8} {'setup+pm %':>10} "
            f"{'queue':>8} {'wait h':>8}"
        )
        for g in groups[:top_groups]:
            down = summ[f"e10.unscheduled_down/{g}"].mean
            sched = summ[f"e10.scheduled_down/{g}"].mean
            lines.append(
                f"    {g:<{gw}} {100 * summ[f'utilisation/{g}'].mean:>8.1f} "
                f"{100 * summ[f'oee/{g}'].mean:>8.1f} {100 * down:>8.1f} {100 * sched:>10.1f} "
                f"{number_text(summ[f'queue_lots/{g}'].mean):>8} {number_text(summ[f'wait_h/{g}'].mean):>8}"
            )
    areas = sorted(
        (k.split("/", 1)[1] for k in summ if k.startswith("utilisation_area/")),
        key=lambda a: -summ[f"utilisation_area/{a}"].mean,
    )
    if len(areas) > 1:
        lines.append("  areas (E10 shares of total time, %; utilisation ± 95% half-width):")
        lines.append(
            f"    {'area':<16} {'util %':>14} {'standby':>8} {'engin.':>8} {'sched dn':>8} "
            f"{'unsch dn':>8} {'non-sch':>8}"
        )
        for a in areas:
            u = summ[f"utilisation_area/{a}"]
            hw = (
                ""
                if math.isnan(u.half_width) or math.isinf(u.half_width)
                else f"±{100 * u.half_width:.1f}"
            )
            cells = [
                f"{100 * summ[f'e10_area.{st}/{a}'].mean:>8.1f}"
                for st in (
                    "standby",
                    "engineering",
                    "scheduled_down",
                    "unscheduled_down",
                    "non_scheduled",
                )
            ]
            lines.append(f"    {a:<16} {100 * u.mean:>8.1f}{hw:>6} " + " ".join(cells))
    bn = exp.bottleneck()
    if bn is not None:
        lines.append(f"  bottleneck: {bn[0]} ({bn[1]})")
    lines += _partial_lines(exp)
    return "\n".join(lines)


def _partial_lines(exp: Experiment) -> list[str]:
    """The closing line of a run that stopped early: why, and what the table covers."""
    if exp.partial is None:
        return []
    head = "FAILED" if exp.failure is not None else "INTERRUPTED"
    return [f"  {head}: only the finished replications are summarised: {exp.partial}"]


_E10 = ("productive", "standby", "engineering", "scheduled_down", "unscheduled_down",
        "non_scheduled")  # fmt: skip


def _e10_table(summ: dict[str, Interval]) -> list[str]:
    """SEMI E10 shares per tool group (plants without products: availability studies)."""
    groups = sorted(k.split("/", 1)[1] for k in summ if k.startswith("availability/"))
    lines = [
        "  no products: SEMI E10 shares of all time per tool group, % "
        "(availability ± 95% half-width)",
    ]
    gw = max(14, *(len(g) for g in groups)) if groups else 14
    head = " ".join(f"{h:>10}" for h in ("productive", "standby", "engin.", "sched dn",
                                              "unsched dn", "non-sched"))  # fmt: skip
    lines.append(f"    {'group':<{gw}} {'availability':>18} {head}")
    for g in groups:
        av = summ[f"availability/{g}"]
        hw = "" if not math.isfinite(av.half_width) else f"±{100 * av.half_width:.2f}"
        cells = " ".join(f"{100 * summ[f'e10.{st}/{g}'].mean:>10.2f}" for st in _E10)
        lines.append(f"    {g:<{gw}} {100 * av.mean:>11.2f}{hw:>7} {cells}")
    return lines


def comparison_table(cmp: Comparison, kpis: Sequence[str] | None = None) -> str:
    """Return the paired-difference table of a comparison (scenario minus baseline)."""
    base = cmp.experiments[0]
    keys = list(kpis) if kpis is not None else [k for k, _ in _MAIN if k in cmp.differences]
    bn = base.bottleneck()
    if kpis is None and bn is not None and f"utilisation/{bn[0]}" in cmp.differences:
        keys.append(f"utilisation/{bn[0]}")  # the baseline's bottleneck
    summ = [e.summary() for e in cmp.experiments]
    lines = [
        f"baseline: {base.name}; {len(base.results)} paired replications on common random "
        f"numbers; differences are scenario - baseline with 95% confidence intervals",
    ]
    for i, e in enumerate(cmp.experiments[1:], 1):
        lines.append(f"{e.name} vs {base.name}:")
        lines.append(
            f"  {'KPI':<28} {'baseline':>10} {'scenario':>10} {'difference':>22}  verdict"
        )
        for k in keys:
            d = cmp.differences[k][i - 1]
            iv = d.interval
            diff = f"{number_text(iv.mean)} ± {number_text(iv.half_width)}"
            # a KPI of the baseline may be missing from a scenario (a tool group it removed)
            base_iv, scen_iv = summ[0].get(k), summ[i].get(k)
            base_v = None if base_iv is None else base_iv.mean
            scen_v = None if scen_iv is None else scen_iv.mean
            lines.append(
                f"  {k:<28} {number_text(base_v):>10} {number_text(scen_v):>10} {diff:>22}  "
                f"{d.verdict()}"
            )
    return "\n".join(lines)
