"""Key performance indicators of one run, computed from its record DataFrames.

Every KPI covers the observation window ``[warmup_s, end_s]`` only (warm-up deletion);
interval quantities (WIP, queue lengths, tool states) are clipped to the window, so the
time averages are exact, not sampled. Names are flat strings, ``name`` or ``name/<object>``:

* ``throughput_lots_per_day``, ``throughput_wafers_per_day`` (lots that left the line
  finished, not scrapped), per product ``throughput_lots_per_day/<product>``;
* ``cycle_time_mean_h``, ``cycle_time_p50_h``, ``cycle_time_p95_h`` and per product, over
  lots released into the fab (initial WIP excluded) that finished in the window;
* ``x_factor`` (cycle time / raw process time, mean over lots) and per product;
* ``wip_lots`` time-average lots in the fab; ``moves_per_day`` steps completed;
* ``qtime_violations``, ``scrapped_lots``, ``reworks`` (counts over the window) and their
  ``*_per_day`` rates;
* per tool group: ``utilisation/<g>`` (productive share of the window),
  ``e10.<state>/<g>`` (share of each SEMI E10 state), ``queue_lots/<g>`` (time-average lots
  waiting), ``wait_h/<g>`` (mean wait of lots that started), and OEE after SEMI E79:
  ``availability/<g>`` (uptime = productive + standby + engineering, over total time),
  ``performance/<g>`` (productive / uptime; tools run at their nominal rate, so the rate
  efficiency is 1), ``quality/<g>`` (loads neither scrapped nor sent to rework), and
  ``oee/<g>`` = availability x performance x quality;
* per tool ``utilisation_tool/<tool>`` and ``e10_tool.<state>/<tool>``;
* per area (the bay the tools stand in) ``utilisation_area/<bay>`` and
  ``e10_area.<state>/<bay>``.

The bottleneck is the group busiest over the time its tools could work: (productive +
setup) / (productive + setup + standby + engineering), PM, failures and non-scheduled time
excluded; the longest average queue breaks ties.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from factory_twin.model import schema as s
from factory_twin.model.events import E10State

DAY_S = 86400.0
E10_STATES = [st.value for st in E10State]


@dataclass(frozen=True)
class Bottleneck:
    """The group that limits the line, with the evidence."""

    group: str
    utilisation: float
    busy: float
    queue_lots: float
    wait_h: float
    area: str = ""

    def describe(self) -> str:
        """One line of evidence."""
        return (
            f"{self.group}: busy {100 * self.busy:.1f}% of its available time "
            f"(productive {100 * self.utilisation:.1f}% of all time), "
            f"{self.queue_lots:.2f} lots queued on average, mean wait {self.wait_h:.2f} h"
        )


def _overlap(a: np.ndarray, b: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Length of [a, b] inside [lo, hi] (b NaN means still open at hi)."""
    a = np.asarray(a, dtype=float)  # an empty table (no lots at all) has object columns
    b = np.asarray(b, dtype=float)
    b = np.where(np.isnan(b), hi, b)
    return np.clip(np.minimum(b, hi) - np.maximum(a, lo), 0.0, None)


def compute_kpis(
    frames: dict[str, pd.DataFrame],
    spec: s.PlantSpec,
    warmup_s: float,
    end_s: float,
    rpt_s: dict[str, float] | None = None,
) -> tuple[dict[str, float], Bottleneck | None]:
    """Return the KPIs of one run and its bottleneck, from whole tables in memory.

    The whole-table case of :func:`compute_kpis_chunked`: every table is one chunk.

    Parameters
    ----------
    frames
        The run's tables (:meth:`Recorder.frames`).
    spec
        The plant (for tool groups and raw process times).
    warmup_s, end_s
        The observation window.
    rpt_s
        Raw process time per product (computed from the spec if None).
    """
    return compute_kpis_chunked(
        [frames["steps"]], [frames["states"]], frames["lots"], frames["qtime"],
        spec, warmup_s, end_s, rpt_s,
    )  # fmt: skip


def compute_kpis_chunked(
    steps: Iterable[pd.DataFrame],
    states: Iterable[pd.DataFrame],
    lots: pd.DataFrame,
    qtime: pd.DataFrame,
    spec: s.PlantSpec,
    warmup_s: float,
    end_s: float,
    rpt_s: dict[str, float] | None = None,
) -> tuple[dict[str, float], Bottleneck | None]:
    """Return the KPIs of one run and its bottleneck, reading the big tables chunk by chunk.

    Only one chunk of ``steps`` or ``states`` is in memory at a time (the small ``lots``
    and ``qtime`` tables are whole), so memory stays bounded for any horizon. The chunks
    need only the columns in :data:`factory_twin.sim.records.KPI_COLUMNS`, strings plain
    or categorical.

    Parameters
    ----------
    steps, states
        Chunks of the two big tables, in any split (e.g. Parquet record batches).
    lots, qtime
        The whole small tables.
    spec, warmup_s, end_s, rpt_s
        As for :func:`compute_kpis`.
    """
    acc = KpiAccumulator(spec, warmup_s, end_s)
    for chunk in steps:
        acc.add_steps(chunk)
    for chunk in states:
        acc.add_states(chunk)
    return acc.finish(lots, qtime, rpt_s)


class KpiAccumulator:
    """Partial sums of the KPIs over chunks of the ``steps`` and ``states`` tables.

    Every KPI from the two big tables is a sum or count over the observation window (state
    time per tool and state, queue time per group, waits, loads, moves, reworks), so each
    chunk adds its partial sums to fixed arrays indexed by the plant's groups, tools and
    E10 states; :meth:`finish` turns them, with the small ``lots`` and ``qtime`` tables,
    into the KPIs. Rows of groups, tools or states the plant does not name are ignored.

    Parameters
    ----------
    spec
        The plant.
    warmup_s, end_s
        The observation window.
    """

    def __init__(self, spec: s.PlantSpec, warmup_s: float, end_s: float) -> None:
        if not end_s > warmup_s:
            msg = f"the observation window is empty: warm-up {warmup_s} s, end {end_s} s"
            raise ValueError(msg)
        self.spec = spec
        self.warmup_s = float(warmup_s)
        self.end_s = float(end_s)
        self.groups = list(spec.groups())
        self.tools = [e.id for e in spec.equipment]
        self._group_index = {g: i for i, g in enumerate(self.groups)}
        self._tool_index = {t: i for i, t in enumerate(self.tools)}
        self._state_index = {st: j for j, st in enumerate(E10_STATES)}
        ng, nt = len(self.groups), len(self.tools)
        self.moves = 0
        self.reworks = 0
        self.queue_s = np.zeros(ng)  # lot-seconds waiting, per group
        self.wait_n = np.zeros(ng, np.int64)  # lots that started, per group
        self.wait_h = np.zeros(ng)  # their summed waits
        self.loads = np.zeros(ng, np.int64)  # loads finished in the window, per group
        self.loads_ok = np.zeros(ng, np.int64)  # ... neither scrapped nor sent to rework
        self.state_s = np.zeros((nt, len(E10_STATES)))  # seconds per tool and E10 state
        self.setup_s = np.zeros(nt)  # seconds in the setup substate, per tool
        self.chunks = {"steps": 0, "states": 0}

    def add_steps(self, steps: pd.DataFrame) -> None:
        """Add one chunk of the ``steps`` table."""
        self._add_steps(
            _codes(steps["group"], self._group_index),
            steps["queue_enter_s"].to_numpy(dtype=float),
            steps["start_s"].to_numpy(dtype=float),
            steps["end_s"].to_numpy(dtype=float),
            steps["outcome"].to_numpy(),
        )

    def _add_steps(
        self,
        gc: np.ndarray,
        qe: np.ndarray,
        st_s: np.ndarray,
        end: np.ndarray,
        outcome: np.ndarray,
    ) -> None:
        lo, hi = self.warmup_s, self.end_s
        in_win = (end >= lo) & (end <= hi)
        self.moves += int(in_win.sum())
        self.reworks += int((in_win & (outcome == 1)).sum())
        qarea = _overlap(qe, st_s, lo, hi)
        started = (st_s >= lo) & (st_s <= hi)
        wait = (st_s - qe) / 3600.0
        # group sums by integer codes (np.bincount): no per-row Python strings, so millions
        # of rows (strings read back as categoricals) stay small in memory
        ng = len(self.groups)
        has = gc >= 0
        self.queue_s += np.bincount(gc[has], weights=qarea[has], minlength=ng)
        sel = has & started
        self.wait_n += np.bincount(gc[sel], minlength=ng)
        self.wait_h += np.bincount(gc[sel], weights=wait[sel], minlength=ng)
        sel = has & in_win
        self.loads += np.bincount(gc[sel], minlength=ng)
        self.loads_ok += np.bincount(gc[sel & (outcome == 0)], minlength=ng)
        self.chunks["steps"] += 1

    def add_rows(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Add one chunk of ``steps`` or ``states`` given as the recorder's row tuples.

        Only the columns the KPIs need are taken out of the rows (no Parquet, no full
        DataFrame): the cheap path for runs that keep just the statistics.
        """
        from factory_twin.sim.records import COLUMNS

        at = {c: i for i, c in enumerate(COLUMNS[table])}
        n = len(rows)

        # map/itemgetter keep the per-row work in C (a chunk is 200,000 rows)
        def num(col: str) -> np.ndarray:
            return np.fromiter(map(itemgetter(at[col]), rows), float, n)

        def codes(col: str, index: dict[str, int]) -> np.ndarray:
            keys = map(itemgetter(at[col]), rows)
            return np.fromiter(map(index.get, keys, repeat(-1)), np.int64, n)

        if table == "steps":
            outcome = np.fromiter(map(itemgetter(at["outcome"]), rows), np.int64, n)
            self._add_steps(
                codes("group", self._group_index), num("queue_enter_s"), num("start_s"),
                num("end_s"), outcome,
            )  # fmt: skip
        elif table == "states":
            self._add_states(
                codes("tool", self._tool_index), codes("state", self._state_index),
                codes("substate", {"setup": 0}), num("start_s"), num("end_s"),
            )  # fmt: skip
        else:
            msg = f"no KPI chunks of table {table!r}"
            raise ValueError(msg)

    def add_states(self, states: pd.DataFrame) -> None:
        """Add one chunk of the ``states`` table."""
        self._add_states(
            _codes(states["tool"], self._tool_index), _codes(states["state"], self._state_index),
            _codes(states["substate"], {"setup": 0}), states["start_s"].to_numpy(dtype=float),
            states["end_s"].to_numpy(dtype=float),
        )  # fmt: skip

    def _add_states(
        self, tc: np.ndarray, sc: np.ndarray, sub: np.ndarray, start: np.ndarray, end: np.ndarray
    ) -> None:
        dur = _overlap(start, end, self.warmup_s, self.end_s)
        nt, ns = len(self.tools), len(E10_STATES)
        has = (tc >= 0) & (sc >= 0)
        cells = np.bincount(tc[has] * ns + sc[has], weights=dur[has], minlength=nt * ns)
        self.state_s += cells.reshape(nt, ns)
        sel = (tc >= 0) & (sub == 0)
        self.setup_s += np.bincount(tc[sel], weights=dur[sel], minlength=nt)
        self.chunks["states"] += 1

    def finish(
        self, lots: pd.DataFrame, qtime: pd.DataFrame, rpt_s: dict[str, float] | None = None
    ) -> tuple[dict[str, float], Bottleneck | None]:
        """Return the KPIs and the bottleneck from the sums so far and the small tables.

        Parameters
        ----------
        lots, qtime
            The run's whole ``lots`` and ``qtime`` tables.
        rpt_s
            Raw process time per product (computed from the spec if None).
        """
        spec, warmup_s, end_s = self.spec, self.warmup_s, self.end_s
        if rpt_s is None:
            from factory_twin.sim.model import raw_process_time

            rpt_s = {p.id: raw_process_time(spec, p.id) for p in spec.products}
        span = end_s - warmup_s
        days = span / DAY_S
        k: dict[str, float] = {}

        # -- throughput and cycle time
        ex = lots["exit_s"].to_numpy()
        done = (ex >= warmup_s) & (ex <= end_s)
        scrapped = lots["scrapped"].to_numpy(dtype=bool)
        fin = lots[done & ~scrapped]
        k["throughput_lots_per_day"] = len(fin) / days
        k["throughput_wafers_per_day"] = float(fin["wafers"].sum()) / days
        k["scrapped_lots"] = float((done & scrapped).sum())
        ctl = fin[~fin["initial"].to_numpy(dtype=bool)]
        ct_h = (ctl["exit_s"] - ctl["release_s"]).to_numpy() / 3600.0
        _ct(k, "", ct_h)
        rpt = ctl["product"].map(rpt_s).to_numpy(dtype=float) / 3600.0
        with np.errstate(divide="ignore", invalid="ignore"):
            xf = ct_h / rpt
        k["x_factor"] = float(np.mean(xf)) if len(xf) else math.nan
        for p in spec.products:
            pm = (ctl["product"] == p.id).to_numpy()
            k[f"throughput_lots_per_day/{p.id}"] = float((fin["product"] == p.id).sum()) / days
            _ct(k, f"/{p.id}", ct_h[pm])
            k[f"x_factor/{p.id}"] = float(np.mean(xf[pm])) if pm.any() else math.nan
        # -- WIP and moves
        wip_area = _overlap(lots["release_s"].to_numpy(), ex, warmup_s, end_s).sum()
        k["wip_lots"] = float(wip_area / span)
        k["moves_per_day"] = float(self.moves) / days
        k["reworks"] = float(self.reworks)
        qt = qtime
        k["qtime_violations"] = float(((qt["time_s"] >= warmup_s) & (qt["time_s"] <= end_s)).sum())
        for name in ("scrapped_lots", "qtime_violations", "reworks"):  # counts: rates beside
            k[f"{name}_per_day"] = k[name] / days

        # -- queues, per group
        qsum = dict(zip(self.groups, self.queue_s, strict=True))
        wn, ws = self.wait_n, self.wait_h
        wmean = {g: ws[i] / wn[i] for i, g in enumerate(self.groups) if wn[i] > 0}
        on, ok = self.loads, self.loads_ok
        qual = {g: ok[i] / on[i] for i, g in enumerate(self.groups) if on[i] > 0}

        # -- tool states
        # a tool with no state row in the window was in its last state: frames cover all tools
        by_tool = pd.DataFrame(self.state_s, index=self.tools, columns=E10_STATES)
        setup_t = pd.Series(self.setup_s, index=self.tools)
        tool_share = by_tool[E10_STATES].to_numpy() / span
        prod_col = E10_STATES.index("productive")
        for i, tid in enumerate(by_tool.index):
            k[f"utilisation_tool/{tid}"] = float(tool_share[i, prod_col])
            for j, st in enumerate(E10_STATES):
                k[f"e10_tool.{st}/{tid}"] = float(tool_share[i, j])
        bn: Bottleneck | None = None
        best: tuple[float, float] | None = None
        for g, members in spec.groups().items():
            ids = [e.id for e in members]
            tot = by_tool.loc[ids].sum()
            total = span * len(ids)
            prod = float(tot["productive"])
            for st in E10_STATES:
                k[f"e10.{st}/{g}"] = float(tot[st]) / total
            k[f"utilisation/{g}"] = prod / total
            up = float(tot["productive"] + tot["standby"] + tot["engineering"])
            avail = up / total
            perf = prod / up if up > 0 else 0.0
            q = float(qual.get(g, 1.0))
            k[f"availability/{g}"] = avail
            k[f"performance/{g}"] = perf
            k[f"quality/{g}"] = q
            k[f"oee/{g}"] = avail * perf * q
            ql = float(qsum.get(g, 0.0)) / span
            k[f"queue_lots/{g}"] = ql
            wm = float(wmean.get(g, math.nan))
            k[f"wait_h/{g}"] = wm
            # busy share of the time the tools could work (PM, failures and non-scheduled
            # time excluded): a group that is never idle while others idle limits the line
            # even if its downtime keeps its productive share low (SMT2020's setup-heavy
            # implanters)
            setup = float(setup_t.reindex(ids, fill_value=0.0).sum())
            avail = prod + setup + float(tot["standby"] + tot["engineering"])
            busy = (prod + setup) / avail if avail > 0 else 0.0
            rank = (busy, ql)
            if best is None or rank > best:
                best = rank
                bn = Bottleneck(
                    g, prod / total, busy, ql, 0.0 if math.isnan(wm) else wm, members[0].bay
                )
        # -- per area (the bay a tool stands in: an SMT2020 area such as Litho or Dry Etch)
        bays: dict[str, list[str]] = {}
        for e in spec.equipment:
            bays.setdefault(e.bay, []).append(e.id)
        for bay, ids in bays.items():
            tot = by_tool.loc[ids].sum()
            total = span * len(ids)
            for st in E10_STATES:
                k[f"e10_area.{st}/{bay}"] = float(tot[st]) / total
            k[f"utilisation_area/{bay}"] = float(tot["productive"]) / total
        return k, bn


def _codes(col: pd.Series, index: dict[str, int]) -> np.ndarray:
    """Indices into ``index`` of a string column (-1 for missing or unknown names)."""
    codes, names = _factor(col)
    lookup = np.array([index.get(n, -1) for n in names] + [-1], dtype=np.int64)
    return lookup[codes]  # code -1 picks the trailing -1


def _factor(col: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes of a string column (-1 for missing) and the names they stand for."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy().astype(np.int64), [str(c) for c in col.cat.categories]
    codes, uniq = pd.factorize(col)
    return codes.astype(np.int64), [str(u) for u in uniq]


def _ct(k: dict[str, float], suffix: str, ct_h: np.ndarray) -> None:
    if len(ct_h):
        k[f"cycle_time_mean_h{suffix}"] = float(np.mean(ct_h))
        k[f"cycle_time_p50_h{suffix}"] = float(np.percentile(ct_h, 50))
        k[f"cycle_time_p95_h{suffix}"] = float(np.percentile(ct_h, 95))
    else:
        for q in ("mean", "p50", "p95"):
            k[f"cycle_time_{q}_h{suffix}"] = math.nan


def wip_series(frames: dict[str, pd.DataFrame], end_s: float, bins: int) -> np.ndarray:
    """Return the time-average WIP in ``bins`` equal time bins over [0, end_s]."""
    lots = frames["lots"]
    a = lots["release_s"].to_numpy()
    b = lots["exit_s"].to_numpy()
    edges = np.linspace(0.0, end_s, bins + 1)
    out = np.empty(bins)
    for i in range(bins):
        out[i] = _overlap(a, b, edges[i], edges[i + 1]).sum() / (edges[i + 1] - edges[i])
    return out


def summarise_states(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return total seconds per tool and E10 state (a pivot of the states table)."""
    st = frames["states"]
    d = (st["end_s"] - st["start_s"]).rename("seconds")
    return (
        pd.concat([st[["tool", "state"]], d], axis=1)
        .groupby(["tool", "state"])["seconds"]
        .sum()
        .unstack(fill_value=0.0)
    )


def as_float_dict(d: dict[str, Any]) -> dict[str, float]:
    """Return a copy with every value a float."""
    return {key: float(v) for key, v in d.items()}
