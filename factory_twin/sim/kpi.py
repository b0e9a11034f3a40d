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
* ``qtime_violations``, ``scrapped_lots``, ``reworks``;
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
from dataclasses import dataclass
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
    b = np.where(np.isnan(b), hi, b)
    return np.clip(np.minimum(b, hi) - np.maximum(a, lo), 0.0, None)


def compute_kpis(
    frames: dict[str, pd.DataFrame],
    spec: s.PlantSpec,
    warmup_s: float,
    end_s: float,
    rpt_s: dict[str, float] | None = None,
) -> tuple[dict[str, float], Bottleneck | None]:
    """Return the KPIs of one run and its bottleneck.

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
    if not end_s > warmup_s:
        msg = f"the observation window is empty: warm-up {warmup_s} s, end {end_s} s"
        raise ValueError(msg)
    if rpt_s is None:
        from factory_twin.sim.model import raw_process_time

        rpt_s = {p.id: raw_process_time(spec, p.id) for p in spec.products}
    span = end_s - warmup_s
    days = span / DAY_S
    k: dict[str, float] = {}
    lots, steps, states = frames["lots"], frames["steps"], frames["states"]

    # -- throughput and cycle time
    ex = lots["exit_s"].to_numpy()
    done = (ex >= warmup_s) & (ex <= end_s)
    fin = lots[done & ~lots["scrapped"].to_numpy()]
    k["throughput_lots_per_day"] = len(fin) / days
    k["throughput_wafers_per_day"] = float(fin["wafers"].sum()) / days
    k["scrapped_lots"] = float((done & lots["scrapped"].to_numpy()).sum())
    ctl = fin[~fin["initial"].to_numpy()]
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
    end = steps["end_s"].to_numpy()
    in_win = (end >= warmup_s) & (end <= end_s)
    k["moves_per_day"] = float(in_win.sum()) / days
    k["reworks"] = float((in_win & (steps["outcome"].to_numpy() == 1)).sum())
    qt = frames["qtime"]
    k["qtime_violations"] = float(((qt["time_s"] >= warmup_s) & (qt["time_s"] <= end_s)).sum())

    # -- queues, per group
    groups = spec.groups()
    qarea = _overlap(steps["queue_enter_s"].to_numpy(), steps["start_s"].to_numpy(), warmup_s, end_s)
    st_s = steps["start_s"].to_numpy()
    started = (st_s >= warmup_s) & (st_s <= end_s)
    wait = (st_s - steps["queue_enter_s"].to_numpy()) / 3600.0
    # group sums by integer codes (np.bincount): no per-row Python strings, so a year of
    # records (millions of rows, strings read back as categoricals) stays small in memory
    gc, gnames = _factor(steps["group"])
    ng = len(gnames)
    has = gc >= 0
    qs = np.bincount(gc[has], weights=qarea[has], minlength=ng)
    qsum = dict(zip(gnames, qs, strict=True))
    sel = has & started
    wn = np.bincount(gc[sel], minlength=ng)
    ws = np.bincount(gc[sel], weights=wait[sel], minlength=ng)
    wmean = {g: ws[i] / wn[i] for i, g in enumerate(gnames) if wn[i] > 0}
    sel = has & in_win
    on = np.bincount(gc[sel], minlength=ng)
    ok = np.bincount(gc[sel & (steps["outcome"].to_numpy() == 0)], minlength=ng)
    qual = {g: ok[i] / on[i] for i, g in enumerate(gnames) if on[i] > 0}

    # -- tool states
    dur = _overlap(states["start_s"].to_numpy(), states["end_s"].to_numpy(), warmup_s, end_s)
    tool_group = {e.id: e.group for e in spec.equipment}
    tc, tnames = _factor(states["tool"])
    sc, snames = _factor(states["state"])
    uc, unames = _factor(states["substate"])
    nt, ns = len(tnames), len(snames)
    has = (tc >= 0) & (sc >= 0)
    cells = np.bincount(tc[has] * ns + sc[has], weights=dur[has], minlength=nt * ns)
    by_tool = pd.DataFrame(cells.reshape(nt, ns), index=tnames, columns=snames)
    by_tool = by_tool.reindex(columns=E10_STATES, fill_value=0.0)
    sel = (tc >= 0) & (uc == unames.index("setup")) if "setup" in unames else np.zeros(len(tc), bool)
    setup_t = pd.Series(np.bincount(tc[sel], weights=dur[sel], minlength=nt), index=tnames)
    by_tool = by_tool.reindex(list(tool_group), fill_value=0.0)
    # a tool with no state row in the window was in its last state: frames cover all tools
    tool_share = by_tool[E10_STATES].to_numpy() / span
    prod_col = E10_STATES.index("productive")
    for i, tid in enumerate(by_tool.index):
        k[f"utilisation_tool/{tid}"] = float(tool_share[i, prod_col])
        for j, st in enumerate(E10_STATES):
            k[f"e10_tool.{st}/{tid}"] = float(tool_share[i, j])
    bn: Bottleneck | None = None
    best: tuple[float, float] | None = None
    for g, members in groups.items():
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
        # busy share of the time the tools could work (PM, failures and non-scheduled time
        # excluded): a group that is never idle while others idle limits the line even if
        # its downtime keeps its productive share low (SMT2020's setup-heavy implanters)
        setup = float(setup_t.reindex(ids, fill_value=0.0).sum())
        avail = prod + setup + float(tot["standby"] + tot["engineering"])
        busy = (prod + setup) / avail if avail > 0 else 0.0
        rank = (busy, ql)
        if best is None or rank > best:
            best = rank
            bn = Bottleneck(g, prod / total, busy, ql, 0.0 if math.isnan(wm) else wm, members[0].bay)
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
