"""Reading an experiment's result folder back: KPIs, CIs, paired differences, charts' data.

:func:`load_result` opens a folder written by :func:`factory_twin.app.experiment.run` (or
``factory-twin experiment``) and returns an :class:`ExperimentResult` whose accessors give
pandas DataFrames in long form (one row per scenario, replication and item), ready to plot
or to export as CSV. Only small files are read on open (``experiment.json``, each scenario's
``complete.json`` and ``kpis.parquet``); time series, tool tables, lots and the Gantt records
are read when asked for, the Gantt only for its time window.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from factory_twin.errors import ConfigError
from factory_twin.sim.stats import t_interval, t_intervals

RESULT_FORMAT = 1

BETTER, WORSE, NO_DIFFERENCE, HIGHER, LOWER = (
    "better", "worse", "no significant difference", "higher", "lower",
)  # fmt: skip

_HIGHER_BETTER = (
    "throughput_", "moves_per_day", "oee/", "availability/", "performance/", "quality/",
    "on_time",
)  # fmt: skip
_LOWER_BETTER = (
    "cycle_time_", "x_factor", "wip_lots", "qtime_violations", "scrapped_lots", "reworks",
    "wait_h/", "queue_lots/", "late", "transport_",
)  # fmt: skip


def kpi_direction(kpi: str) -> int:
    """+1 if a higher value of ``kpi`` is better, -1 if lower is better, 0 if neither.

    Utilisation and E10 state shares are neither: a busier tool is not better or worse in
    itself.

    Examples
    --------
    >>> kpi_direction("throughput_lots_per_day"), kpi_direction("cycle_time_mean_h/LOGIC-A")
    (1, -1)
    >>> kpi_direction("utilisation/SCAN")
    0
    """
    if kpi.startswith(_HIGHER_BETTER):
        return 1
    if kpi.startswith(_LOWER_BETTER):
        return -1
    return 0


def verdict(kpi: str, low: float, high: float, mean: float) -> str:
    """``better``, ``worse`` or ``no significant difference`` for a difference CI of ``kpi``.

    KPIs with no direction (:func:`kpi_direction` 0) are ``higher`` or ``lower``.
    """
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0.0 <= high:
        return NO_DIFFERENCE
    d = kpi_direction(kpi)
    if d == 0:
        return HIGHER if mean > 0 else LOWER
    return BETTER if (mean > 0) == (d > 0) else WORSE


@dataclass
class ScenarioResult:
    """One complete scenario of a result folder.

    Attributes
    ----------
    name
        The scenario's name (its file name without ``.scenario.yaml``).
    key
        The hash its folder is named by.
    folder
        Its folder.
    meta
        Its ``complete.json``: options, seed, replications and why they stopped, warm-up,
        the changes in words, the engine version.
    """

    name: str
    key: str
    folder: Path
    meta: dict[str, Any]
    _kpis: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def replications(self) -> list[int]:
        """The replication numbers stored (0, 1, ...)."""
        return [int(r) for r in self.meta["replication_numbers"]]

    @property
    def warmup_s(self) -> float:
        """The warm-up deleted from every replication (s)."""
        return float(self.meta["warmup_s"])

    @property
    def description(self) -> list[str]:
        """The scenario's changes in words (the base plant: one line naming its file)."""
        return list(self.meta.get("description", []))

    def kpis(self) -> pd.DataFrame:
        """``replication, kpi, value`` for every KPI of every replication."""
        if self._kpis is None:
            path = self.folder / "kpis.parquet"
            try:
                self._kpis = pd.read_parquet(path)
            except (OSError, ValueError) as exc:  # cut or overwritten: ArrowInvalid
                why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                msg = f"{path} is damaged: {why}; run the experiment again"
                raise ConfigError([msg]) from None
        return self._kpis

    def rep_dir(self, replication: int) -> Path:
        """The folder of one replication."""
        return self.folder / f"rep-{replication:03d}"


@dataclass
class ExperimentResult:
    """An experiment's results: its scenarios (the base first) and pandas accessors.

    Examples
    --------
    >>> res = load_result("plant_configs/demo_fab.results")      # doctest: +SKIP
    >>> res.summary().query("kpi == 'cycle_time_mean_h'")      # doctest: +SKIP
    >>> res.differences().query("verdict == 'better'")         # doctest: +SKIP
    """

    path: Path
    meta: dict[str, Any]
    scenarios: list[ScenarioResult]

    # -- basics

    @property
    def name(self) -> str:
        """The experiment's name."""
        return str(self.meta.get("name", self.path.name))

    @property
    def base(self) -> ScenarioResult:
        """The base scenario (the first)."""
        return self.scenarios[0]

    def names(self) -> list[str]:
        """Scenario names in order, base first."""
        return [sc.name for sc in self.scenarios]

    def scenario(self, name: str) -> ScenarioResult:
        """The scenario called ``name`` (KeyError naming the ones there are)."""
        for sc in self.scenarios:
            if sc.name == name:
                return sc
        msg = f"no scenario {name!r} in {self.path} (there are: {', '.join(self.names())})"
        raise KeyError(msg)

    # -- KPIs

    def kpis(self) -> pd.DataFrame:
        """``scenario, replication, kpi, value``: every KPI of every replication."""
        parts = [sc.kpis().assign(scenario=sc.name) for sc in self.scenarios]
        df = pd.concat(parts, ignore_index=True)
        return df[["scenario", "replication", "kpi", "value"]]

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """``scenario, kpi, mean, half_width, low, high, sd, n``: the t interval per KPI.

        ``n`` is the number of replications behind the interval (NaN values dropped).
        """
        parts = []
        for sc in self.scenarios:
            wide = _wide(sc.kpis())
            iv = t_intervals(wide.to_numpy(dtype=float), level)
            parts.append(pd.DataFrame({"scenario": sc.name, "kpi": wide.columns, **iv}))
        if not parts:
            return pd.DataFrame(columns=["scenario", "kpi", *_IV_COLS])
        return pd.concat(parts, ignore_index=True)[["scenario", "kpi", *_IV_COLS]]

    def differences(self, level: float = 0.95) -> pd.DataFrame:
        """Paired differences (scenario - base) per KPI on common random numbers.

        Columns ``scenario, kpi, base_mean, mean, half_width, low, high, sd, n, change_pct,
        verdict``: the t interval of the per-replication differences over the replications
        both have (``n`` of them), the mean change relative to the base mean, and ``verdict``
        (better / worse / no significant difference, by each KPI's direction; ``higher`` or
        ``lower`` for KPIs with no direction such as utilisation).
        """
        base = _wide(self.base.kpis())
        cols = ["scenario", "kpi", "base_mean", *_IV_COLS, "change_pct", "verdict"]
        parts = []
        for sc in self.scenarios[1:]:
            other = _wide(sc.kpis())
            reps = base.index.intersection(other.index)
            kpis = base.columns.intersection(other.columns)
            a = base.loc[reps, kpis].to_numpy(dtype=float)
            b = other.loc[reps, kpis].to_numpy(dtype=float)
            ok = ~(np.isnan(a) | np.isnan(b))
            iv = t_intervals(np.where(ok, b - a, np.nan), level)
            with np.errstate(invalid="ignore", divide="ignore"):
                bm = np.where(ok, a, 0.0).sum(axis=0) / ok.sum(axis=0)
                change = np.where(bm != 0, 100.0 * iv["mean"] / np.abs(bm), math.nan)
            verdicts = [
                verdict(str(k), lo, hi, m)
                for k, lo, hi, m in zip(kpis, iv["low"], iv["high"], iv["mean"], strict=True)
            ]
            parts.append(
                pd.DataFrame(
                    {
                        "scenario": sc.name,
                        "kpi": kpis,
                        "base_mean": bm,
                        **iv,
                        "change_pct": change,
                        "verdict": verdicts,
                    }
                )
            )
        if not parts:
            return pd.DataFrame(columns=cols)
        return pd.concat(parts, ignore_index=True)[cols]

    def replication_counts(self) -> pd.DataFrame:
        """``scenario, replications, stop, half_width_pct``: how many and why they stopped.

        ``stop`` is ``fixed``, ``target met`` or ``cap reached``; ``half_width_pct`` maps
        each chosen KPI to its final 95 % half-width in % of its mean (sequential runs).
        """
        return pd.DataFrame(
            [
                {
                    "scenario": sc.name,
                    "replications": len(sc.replications),
                    "stop": sc.meta.get("stop", "fixed"),
                    "half_width_pct": sc.meta.get("half_width_pct", {}),
                }
                for sc in self.scenarios
            ]
        )

    def bottlenecks(self) -> pd.DataFrame:
        """``scenario, group, replications``: the group named bottleneck most often."""
        rows = []
        for sc in self.scenarios:
            names = [b for b in sc.meta.get("bottlenecks", []) if b]
            g = max(set(names), key=lambda n: (names.count(n), n)) if names else None
            rows.append({"scenario": sc.name, "group": g, "replications": names.count(g)})
        return pd.DataFrame(rows)

    def warmup(self) -> pd.DataFrame:
        """``scenario, warmup_s, method``: the warm-up deleted (shade it on time charts)."""
        return pd.DataFrame(
            [
                {
                    "scenario": sc.name,
                    "warmup_s": sc.warmup_s,
                    "method": sc.meta.get("warmup_method"),
                }
                for sc in self.scenarios
            ]
        )

    # -- chart data

    def series(self, name: str, group: str | None = None) -> pd.DataFrame:
        """A time series: ``throughput`` (lots/day), ``wip`` (lots) or ``queue`` (lots).

        Columns ``scenario, replication, group, t0_s, t1_s, time_d, value, in_warmup``:
        one row per time bin (``time_d`` its middle in days); ``group`` names the tool group
        for ``queue`` (all groups, or only ``group``) and is empty otherwise.
        """
        if name not in ("throughput", "wip", "queue"):
            msg = f"no series {name!r}: use throughput, wip or queue"
            raise ValueError(msg)
        filters: list[Any] = [("series", "==", name)]
        if group is not None:
            filters.append(("group", "==", group))
        parts = []
        for sc in self.scenarios:
            for r in sc.replications:
                df = pd.read_parquet(sc.rep_dir(r) / "series.parquet", filters=filters)
                parts.append(df.assign(scenario=sc.name, replication=r, warm=sc.warmup_s))
        df = pd.concat(parts, ignore_index=True)
        df["time_d"] = (df["t0_s"] + df["t1_s"]) / 2 / 86400.0
        df["in_warmup"] = df["t1_s"] <= df["warm"]
        cols = ["scenario", "replication", "group", "t0_s", "t1_s", "time_d", "value", "in_warmup"]
        return df[cols]

    def cycle_times(self) -> pd.DataFrame:
        """Per lot: ``scenario, replication, lot, product, release_s, exit_s, cycle_time_h``.

        The lots the cycle-time KPIs count: released into the fab (not initial WIP),
        finished (not scrapped) inside the observation window (after the warm-up).
        """
        parts = []
        cols = ["lot", "product", "release_s", "exit_s", "scrapped", "initial"]
        for sc in self.scenarios:
            for r in sc.replications:
                lots = pd.read_parquet(sc.rep_dir(r) / "lots.parquet", columns=cols)
                ex = lots["exit_s"]
                keep = (
                    (ex >= sc.warmup_s)
                    & ~lots["scrapped"].astype(bool)
                    & ~lots["initial"].astype(bool)
                )
                d = lots.loc[keep, ["lot", "product", "release_s", "exit_s"]].copy()
                d["cycle_time_h"] = (d["exit_s"] - d["release_s"]) / 3600.0
                parts.append(d.assign(scenario=sc.name, replication=r))
        df = pd.concat(parts, ignore_index=True)
        return df[
            ["scenario", "replication", "lot", "product", "release_s", "exit_s", "cycle_time_h"]
        ]

    def states(self) -> pd.DataFrame:
        """``scenario, replication, group, state, share``: SEMI E10 state shares per tool group."""
        k = self.kpis()
        m = k["kpi"].str.startswith("e10.")
        d = k[m].copy()
        parts = d["kpi"].str.slice(4).str.split("/", n=1, expand=True)
        d["state"], d["group"] = parts[0], parts[1]
        d = d.rename(columns={"value": "share"})
        return d[["scenario", "replication", "group", "state", "share"]].reset_index(drop=True)

    def rail_load(self) -> pd.DataFrame:
        """Per scenario and rail link, means over the replications that kept ``rails.parquet``
        (plants running the OHT fleet): ``scenario, link, section, entries_per_h,
        blocked_s_per_h, n``; empty when no scenario has them."""
        out = []
        for sc in self.scenarios:
            paths = [sc.rep_dir(r) / "rails.parquet" for r in sc.replications]
            reps = [pd.read_parquet(p) for p in paths if p.is_file()]
            if not reps:
                continue
            df = pd.concat(reps, ignore_index=True)
            num = ["entries_per_h", "blocked_s_per_h"]
            mean = df.groupby(["link", "section"], sort=False)[num].mean().reset_index()
            out.append(mean.assign(scenario=sc.name, n=len(reps)))
        cols = ["scenario", "link", "section", "entries_per_h", "blocked_s_per_h", "n"]
        if not out:
            return pd.DataFrame(columns=cols)
        return pd.concat(out, ignore_index=True)[cols]

    def tool_utilisation(self) -> pd.DataFrame:
        """Per scenario and tool, means over the replications (the 3-D heat map's data).

        Columns ``scenario, tool, group, bay, x_m, y_m, utilisation, mean_queue_lots,
        mean_wait_h`` and the E10 shares ``e10.<state>``; ``utilisation_hw`` is the 95 %
        half-width of the utilisation.
        """
        out = []
        for sc in self.scenarios:
            reps = [pd.read_parquet(sc.rep_dir(r) / "tools.parquet") for r in sc.replications]
            df = pd.concat(reps, ignore_index=True)
            num = [c for c in df.columns if c not in ("tool", "group", "bay")]
            mean = df.groupby(["tool", "group", "bay"], sort=False)[num].mean().reset_index()
            hw = df.groupby("tool", sort=False)["utilisation"].agg(
                lambda v: t_interval(v.to_numpy(dtype=float)).half_width
            )
            mean["utilisation_hw"] = mean["tool"].map(hw)
            out.append(mean.assign(scenario=sc.name))
        df = pd.concat(out, ignore_index=True)
        first = ["scenario", "tool", "group", "bay", "x_m", "y_m", "utilisation",
                 "utilisation_hw", "mean_queue_lots", "mean_wait_h"]  # fmt: skip
        return df[first + [c for c in df.columns if c not in first]]

    def gantt(
        self,
        scenario: str,
        replication: int,
        t0_s: float,
        t1_s: float,
        *,
        max_bars: int = 5000,
    ) -> pd.DataFrame:
        """Tool events of one replication in ``[t0_s, t1_s]`` (see :mod:`...experiment_gantt`)."""
        from factory_twin.app.experiment_gantt import gantt_frame

        sc = self.scenario(scenario)
        if replication not in sc.replications:
            msg = f"scenario {scenario!r} has no replication {replication} (it has {sc.replications})"
            raise KeyError(msg)
        plant = json.loads((sc.folder / "plant.json").read_text(encoding="utf-8"))
        return gantt_frame(sc.rep_dir(replication), plant, t0_s, t1_s, max_bars=max_bars)


_IV_COLS = ["mean", "half_width", "low", "high", "sd", "n"]


def _iv(iv: Any) -> dict[str, Any]:
    return {"mean": iv.mean, "half_width": iv.half_width, "low": iv.low, "high": iv.high,
            "sd": iv.sd, "n": iv.n}  # fmt: skip


def _wide(k: pd.DataFrame) -> pd.DataFrame:
    return k.pivot_table(
        index="replication", columns="kpi", values="value", dropna=False, sort=False
    )


def load_result(path: str | Path) -> ExperimentResult:
    """Open a result folder (``experiment.json`` and its complete scenarios).

    Raises
    ------
    ConfigError
        If ``path`` is not a result folder, or a scenario it lists is not complete.
    """
    root = Path(path)
    marker = root / "experiment.json"
    if not marker.is_file():
        msg = f"{root}: not an experiment result folder (no experiment.json); run `factory-twin experiment` first"
        raise ConfigError([msg])
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ConfigError([f"{marker}: cannot read: {exc}"]) from None
    if not isinstance(meta, dict):
        raise ConfigError([f"{marker}: expected a JSON object, got {type(meta).__name__}"])
    if meta.get("format") != RESULT_FORMAT:
        raise ConfigError([f"{marker}: unknown result format {meta.get('format')!r}"])
    from factory_twin.app.experiment_store import COMPLETE, is_complete

    entries = meta.get("scenarios")
    if not isinstance(entries, list):
        raise ConfigError([f"{marker}: 'scenarios' must be a list, got {entries!r:.60}"])
    scenarios = []
    problems = []
    for i, entry in enumerate(entries):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and isinstance(entry.get("key"), str)
            and entry["key"] not in ("", ".", "..")
            and Path(entry["key"]).name == entry["key"]
        ):
            problems.append(f"{marker}: scenarios[{i}] needs a 'name' and a folder 'key'")
            continue
        folder = root / entry["key"]
        if not is_complete(folder):
            problems.append(
                f"{folder}: scenario {entry['name']!r} is not complete (run the experiment again)"
            )
            continue
        try:  # is_complete just read it; it may have changed since
            sc_meta = json.loads((folder / COMPLETE).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            problems.append(f"{folder / COMPLETE}: cannot read: {exc}")
            continue
        scenarios.append(ScenarioResult(entry["name"], entry["key"], folder, sc_meta))
    if problems:
        raise ConfigError(problems)
    return ExperimentResult(root, meta, scenarios)
