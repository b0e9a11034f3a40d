"""The data of the Plan workspace's comparison: KPI and difference tables, chart and heat-map data.

Everything here is pandas over an :class:`~factory_twin.app.experiment_result.ExperimentResult`
(no Qt), so that a table or chart shows exactly what its CSV export holds.

The tables show the KPIs a planner decides on (:func:`comparison_kpis`): throughput, cycle
time mean and p90, X-factor (each overall and per product), WIP, the utilisation of the
busiest groups and, where lots have due dates, the on-time share. Cycle-time p90 and the
on-time share are not simulator KPIs; :func:`derived_kpis` computes them per replication
from the lots the cycle-time KPIs count. The intervals and the paired differences are those
of :meth:`ExperimentResult.summary` and :meth:`ExperimentResult.differences`, computed over
the chosen KPIs only (on SMT2020 all ~11,600 of them take tens of seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from factory_twin.app.experiment_result import ExperimentResult, ScenarioResult

TOP_GROUPS = 5
HEAT_METRICS = {
    "utilisation": ("utilisation", "Utilisation (%)", 100.0),
    "queue": ("mean_queue_lots", "Mean queue (lots)", 1.0),
    "wait": ("mean_wait_h", "Mean wait (h)", 1.0),
}
"""Heat-map metric -> (tools column, legend title, scale of the shown value)."""

RAIL_METRICS = {
    "rail_blocked": (
        "blocked_s_per_h",
        "Blocked s/h per rail link\n(mean of replications, whole run)",
    ),
    "rail_entries": (
        "entries_per_h",
        "Vehicle entries/h per rail link\n(mean of replications, after warm-up)",
    ),
}
"""Rail heat-map metric (scenarios running the OHT fleet) -> (rails column, legend title)."""

_LABELS = [
    ("throughput_lots_per_day", "Throughput (lots/day)"),
    ("cycle_time_mean_h", "Cycle time mean (h)"),
    ("cycle_time_p90_h", "Cycle time p90 (h)"),
    ("x_factor", "X-factor"),
    ("wip_lots", "WIP (lots)"),
    ("utilisation", "Utilisation"),
    ("on_time_share", "On-time delivery (%)"),
    ("transport_mean_min", "Transport mean (min)"),
]


def kpi_label(kpi: str) -> str:
    """A KPI's name for people: ``cycle_time_mean_h/LOGIC-A`` -> ``Cycle time mean (h), LOGIC-A``.

    Examples
    --------
    >>> kpi_label("utilisation/SCAN")
    'Utilisation, SCAN'
    >>> kpi_label("throughput_lots_per_day")
    'Throughput (lots/day)'
    """
    head, _, item = kpi.partition("/")
    text = dict(_LABELS).get(head, head.replace("_", " "))
    return f"{text}, {item}" if item else text


def derived_kpis(res: ExperimentResult) -> pd.DataFrame:
    """Cycle-time p90 and on-time share per replication: ``scenario, replication, kpi, value``.

    ``cycle_time_p90_h`` (and ``/<product>``) counts the lots the cycle-time KPIs count
    (released into the fab, finished unscrapped after the warm-up); ``on_time_share`` (and
    ``/<product>``, in %) the lots finished unscrapped after the warm-up that have a due date,
    on time when they left by it. No on-time rows when no lot has a due date.
    """
    rows: list[tuple[str, int, str, float]] = []
    cols = ["product", "release_s", "exit_s", "scrapped", "initial", "due_s"]
    for sc in res.scenarios:
        for r in sc.replications:
            lots = pd.read_parquet(sc.rep_dir(r) / "lots.parquet", columns=cols)
            ex = lots["exit_s"].to_numpy(dtype=float)
            fin = (ex >= sc.warmup_s) & ~lots["scrapped"].to_numpy(dtype=bool) & np.isfinite(ex)
            d = lots[fin]
            ct = d[~d["initial"].to_numpy(dtype=bool)]
            cth = (ct["exit_s"] - ct["release_s"]).to_numpy(dtype=float) / 3600.0
            rows.append((sc.name, r, "cycle_time_p90_h", _p90(cth)))
            due = d[np.isfinite(d["due_s"].to_numpy(dtype=float))]
            ok = (due["exit_s"] <= due["due_s"]).to_numpy()
            if len(due):
                rows.append((sc.name, r, "on_time_share", 100.0 * float(ok.mean())))
            for prod in sorted(set(lots["product"].astype(str))):
                m = (ct["product"] == prod).to_numpy()
                rows.append((sc.name, r, f"cycle_time_p90_h/{prod}", _p90(cth[m])))
                dm = (due["product"] == prod).to_numpy()
                if dm.any():
                    share = 100.0 * float(ok[dm].mean())
                    rows.append((sc.name, r, f"on_time_share/{prod}", share))
    return pd.DataFrame(rows, columns=["scenario", "replication", "kpi", "value"])


def _p90(v: np.ndarray) -> float:
    return float(np.percentile(v, 90)) if len(v) else math.nan


def top_groups(res: ExperimentResult, n: int = TOP_GROUPS) -> list[str]:
    """The ``n`` tool groups with the highest mean utilisation in the base scenario."""
    k = res.base.kpis()
    u = k[k["kpi"].str.startswith("utilisation/")]
    means = u.groupby("kpi")["value"].mean().sort_values(ascending=False, kind="stable")
    return [str(x).split("/", 1)[1] for x in means.index[:n]]


def products(res: ExperimentResult) -> list[str]:
    """The products of the base scenario (as its per-product throughput KPIs name them)."""
    k = res.base.kpis()
    names = k.loc[k["kpi"].str.startswith("throughput_lots_per_day/"), "kpi"].unique()
    return sorted(str(x).split("/", 1)[1] for x in names)


@dataclass
class Comparison:
    """The tables and data of one result, computed once and kept (see the module notes).

    Parameters
    ----------
    res
        The experiment's results.
    n_groups
        How many of the busiest groups the tables and charts show.
    """

    res: ExperimentResult
    n_groups: int = TOP_GROUPS
    _derived: pd.DataFrame | None = field(default=None, repr=False)
    _sub: ExperimentResult | None = field(default=None, repr=False)
    _tools: pd.DataFrame | None = field(default=None, repr=False)
    _rails: pd.DataFrame | None = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def groups(self) -> list[str]:
        """The busiest groups of the base."""
        if "groups" not in self._cache:
            groups = top_groups(self.res, self.n_groups)
            # the bottleneck of every scenario is shown too, wherever it ranks
            for b in self.res.bottlenecks()["group"]:
                if isinstance(b, str) and b and b not in groups:
                    groups.append(b)
            self._cache["groups"] = groups
        return list(self._cache["groups"])

    def kpis(self) -> list[str]:
        """The KPIs of the tables, in table order (those no scenario has are left out)."""
        if "kpis" in self._cache:
            return list(self._cache["kpis"])
        prods = products(self.res)
        want: list[str] = []
        for head in ("throughput_lots_per_day", "cycle_time_mean_h", "cycle_time_p90_h",
                     "x_factor"):  # fmt: skip
            want += [head] + [f"{head}/{p}" for p in prods]
        want += ["wip_lots"] + [f"utilisation/{g}" for g in self.groups]
        want += ["on_time_share"] + [f"on_time_share/{p}" for p in prods]
        want += ["transport_mean_min"]
        have = set(self.sub().kpis()["kpi"])
        self._cache["kpis"] = [k for k in want if k in have]
        return list(self._cache["kpis"])

    def derived(self) -> pd.DataFrame:
        """:func:`derived_kpis` of the result (read once)."""
        if self._derived is None:
            self._derived = derived_kpis(self.res)
        return self._derived

    def sub(self) -> ExperimentResult:
        """The result restricted to the table KPIs (plus the derived ones)."""
        if self._sub is None:
            der = self.derived()
            prods = products(self.res)
            keep = {"throughput_lots_per_day", "cycle_time_mean_h", "x_factor", "wip_lots",
                    "transport_mean_min"}  # fmt: skip
            keep |= {f"{h}/{p}" for h in ("throughput_lots_per_day", "cycle_time_mean_h",
                                         "x_factor") for p in prods}  # fmt: skip
            keep |= {f"utilisation/{g}" for g in self.groups}
            scs = []
            for sc in self.res.scenarios:
                k = sc.kpis()
                k = k[k["kpi"].isin(keep)]
                d = der.loc[der["scenario"] == sc.name, ["replication", "kpi", "value"]]
                frame = pd.concat([k, d], ignore_index=True)
                scs.append(ScenarioResult(sc.name, sc.key, sc.folder, sc.meta, _kpis=frame))
            self._sub = ExperimentResult(self.res.path, self.res.meta, scs)
        return self._sub

    def kpi_table(self) -> pd.DataFrame:
        """``kpi, label, scenario, mean, half_width, low, high, sd, n`` in table order."""
        if "kpi_table" not in self._cache:
            s = self.sub().summary()
            order = {k: i for i, k in enumerate(self.kpis())}
            s = s[s["kpi"].isin(order)].copy()
            s["label"] = s["kpi"].map(kpi_label)
            s["_o"] = s["kpi"].map(order)
            s = s.sort_values(["_o"], kind="stable").drop(columns="_o")
            cols = ["kpi", "label", "scenario", "mean", "half_width", "low", "high", "sd", "n"]
            self._cache["kpi_table"] = s[cols].reset_index(drop=True)
        return self._cache["kpi_table"].copy()

    def difference_table(self) -> pd.DataFrame:
        """Paired differences against the base in table order (columns of ``differences()``)."""
        if "diff_table" not in self._cache:
            d = self.sub().differences()
            order = {k: i for i, k in enumerate(self.kpis())}
            d = d[d["kpi"].isin(order)].copy()
            d["label"] = d["kpi"].map(kpi_label)
            d["_o"] = d["kpi"].map(order)
            d = d.sort_values(["scenario", "_o"], kind="stable").drop(columns="_o")
            self._cache["diff_table"] = d.reset_index(drop=True)
        return self._cache["diff_table"].copy()

    # -- charts

    def series_mean(self, name: str) -> pd.DataFrame:
        """``scenario, group, time_d, value, in_warmup``: the mean over replications per bin.

        ``queue`` keeps the busiest groups only.
        """
        key = f"series:{name}"
        if key not in self._cache:
            df = self.res.series(name)
            if name == "queue":
                df = df[df["group"].isin(self.groups)]
            g = df.groupby(["scenario", "group", "time_d"], sort=False)
            m = g.agg(value=("value", "mean"), in_warmup=("in_warmup", "all")).reset_index()
            self._cache[key] = m
        return self._cache[key].copy()

    def warmup_days(self) -> dict[str, float]:
        """The warm-up per scenario in days."""
        return {sc.name: sc.warmup_s / 86400.0 for sc in self.res.scenarios}

    def ecdf(self) -> pd.DataFrame:
        """``scenario, product, cycle_time_h, share``: the empirical CDF per product.

        All replications' lots pooled (the lots of the cycle-time KPIs).
        """
        if "ecdf" not in self._cache:
            ct = self.res.cycle_times()
            parts = []
            for (scn, prod), d in ct.groupby(["scenario", "product"], sort=False):
                v = np.sort(d["cycle_time_h"].to_numpy(dtype=float))
                parts.append(
                    pd.DataFrame(
                        {
                            "scenario": scn,
                            "product": prod,
                            "cycle_time_h": v,
                            "share": np.arange(1, len(v) + 1) / len(v),
                        }
                    )
                )
            cols = ["scenario", "product", "cycle_time_h", "share"]
            self._cache["ecdf"] = (
                pd.concat(parts, ignore_index=True) if parts else (pd.DataFrame(columns=cols))
            )
        return self._cache["ecdf"].copy()

    def states(self) -> pd.DataFrame:
        """``scenario, group, state, share``: mean E10 shares of the busiest groups."""
        if "states" not in self._cache:
            st = self.res.states()
            st = st[st["group"].isin(self.groups)]
            m = st.groupby(["scenario", "group", "state"], sort=False)["share"].mean()
            self._cache["states"] = m.reset_index()
        return self._cache["states"].copy()

    def utilisation(self) -> pd.DataFrame:
        """``scenario, group, mean, half_width, n``: utilisation of the busiest groups."""
        t = self.kpi_table()
        u = t[t["kpi"].str.startswith("utilisation/")].copy()
        u["group"] = u["kpi"].str.split("/", n=1).str[1]
        return u[["scenario", "group", "mean", "half_width", "n"]].reset_index(drop=True)

    # -- heat map

    def tools(self) -> pd.DataFrame:
        """:meth:`ExperimentResult.tool_utilisation` (read once)."""
        if self._tools is None:
            self._tools = self.res.tool_utilisation()
        return self._tools

    def heat_values(self, scenario: str, metric: str) -> pd.Series:
        """Per tool of ``scenario``: the heat-map value (``utilisation`` in %, ``queue``, ``wait``)."""
        col, _title, scale = HEAT_METRICS[metric]
        t = self.tools()
        d = t[t["scenario"] == scenario]
        return pd.Series(d[col].to_numpy(dtype=float) * scale, index=d["tool"].astype(str))

    def heat_range(self, metric: str) -> tuple[float, float]:
        """The colour scale of a metric: 0 to its largest value over every scenario."""
        col, _title, scale = HEAT_METRICS[metric]
        v = self.tools()[col].to_numpy(dtype=float) * scale
        hi = float(np.nanmax(v)) if len(v) and np.isfinite(v).any() else 1.0
        if metric == "utilisation":
            return 0.0, 100.0
        return 0.0, hi if hi > 0 else 1.0

    def rails(self) -> pd.DataFrame:
        """:meth:`ExperimentResult.rail_load` (read once)."""
        if self._rails is None:
            self._rails = self.res.rail_load()
        return self._rails

    def has_rails(self) -> bool:
        """True when a scenario kept its rail links' figures (it ran the OHT fleet)."""
        return len(self.rails()) > 0

    def rail_values(self, scenario: str, metric: str) -> pd.Series:
        """Per rail link of ``scenario`` (the plant file's order): the rail metric's value."""
        col, _title = RAIL_METRICS[metric]
        r = self.rails()
        d = r[r["scenario"] == scenario]
        return pd.Series(d[col].to_numpy(dtype=float), index=d["link"].astype(str))

    def rail_range(self, metric: str) -> tuple[float, float]:
        """0 to the rail metric's largest value over every scenario (one scale to compare)."""
        col, _title = RAIL_METRICS[metric]
        v = self.rails()[col].to_numpy(dtype=float)
        hi = float(np.nanmax(v)) if len(v) and np.isfinite(v).any() else 1.0
        return 0.0, hi if hi > 0 else 1.0

    def bottleneck(self, scenario: str) -> str | None:
        """The group most often named the bottleneck in ``scenario``'s replications."""
        b = self.res.bottlenecks()
        row = b[b["scenario"] == scenario]
        g = row["group"].iloc[0] if len(row) else None
        return None if g is None or (isinstance(g, float) and math.isnan(g)) else str(g)

    def gantt_window(self, scenario: str, replication: int, t0_s: float, t1_s: float,
                     max_bars: int = 5000) -> pd.DataFrame:  # fmt: skip
        """:meth:`ExperimentResult.gantt` of one replication's window."""
        return self.res.gantt(scenario, replication, t0_s, t1_s, max_bars=max_bars)

    def horizon_s(self) -> float:
        """The simulated horizon of a replication (s)."""
        opts = self.res.base.meta.get("options", {})
        return float(opts.get("days", 1.0)) * 86400.0
