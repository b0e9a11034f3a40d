"""What a worker process does for one replication of an experiment (top-level, picklable).

:func:`run_one` runs a replication into its folder (the runner streams the record tables to
Parquet); with a fixed warm-up it also computes the KPIs and the tables the comparison
reads, with an automatic warm-up it returns the deferred result until the scenario's common
warm-up is known, and :func:`finish_one` does the rest. Both run in the worker (a local
process or a Dask worker), so the parent only schedules.

Per replication folder ``rep-NNN/``:

``steps/states/wip/lots/qtime.parquet``
    the simulation records (:mod:`factory_twin.sim.records`), for the Gantt chart and cycle times;
``series.parquet``
    ``bin, t0_s, t1_s, series, group, value``: throughput (lots/day finished in the bin), WIP
    (time-average lots) and queue length per tool group (time-average lots waiting), in
    :data:`SERIES_BINS` equal bins over the whole horizon (warm-up included; it is in
    ``kpis.json``);
``tools.parquet``
    per tool: group, bay, floor position, utilisation, E10 state shares, mean queue (lots
    waiting for the work this tool did, time average) and mean wait of the lots it started;
``rails.parquet`` (plants that run the OHT fleet)
    per rail link, in the plant file's order: ``link``, ``section`` (its first link's id),
    ``entries_per_h`` (vehicles entering its section, over the KPI window) and
    ``blocked_s_per_h`` (seconds moves stood blocked in its section, over the KPI window);
``kpis.json``
    the replication's KPIs over ``[warmup_s, end_s]`` and how it ran: the simulator's
    (:mod:`factory_twin.sim.kpi`) plus ``transport_mean_min`` (mean transport time per move).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from factory_twin.model import schema as s
from factory_twin.model.config import atomic_write_text
from factory_twin.sim.kpi import E10_STATES
from factory_twin.sim.records import DEFAULT_CHUNK_ROWS, iter_parquet
from factory_twin.sim.runner import (
    ReplicationResult,
    RunOptions,
    finish_replication,
    run_replication,
)

SERIES_BINS = 200
"""Equal time bins of the stored time series (whatever the horizon: small files, fast charts)."""


@dataclass(frozen=True)
class RepOutcome:
    """A finished replication as the parent sees it (everything else is in its folder)."""

    replication: int
    kpis: dict[str, float]
    bottleneck: str | None
    warmup_s: float
    end_s: float
    events: int
    wall_s: float


def rep_dir(scenario_dir: str | Path, replication: int) -> Path:
    """The folder of one replication inside a scenario folder."""
    return Path(scenario_dir) / f"rep-{replication:03d}"


def run_one(
    spec: s.PlantSpec, options: RunOptions, replication: int
) -> RepOutcome | ReplicationResult:
    """Run one replication into ``options.out_dir``; finish it unless its KPIs are deferred."""
    result = run_replication(spec, options, replication)
    if result.deferred is not None:
        return result
    return _store(spec, result, options.out_dir or ".")


def finish_one(
    spec: s.PlantSpec, result: ReplicationResult, warmup_s: float, scenario_dir: str
) -> RepOutcome:
    """Compute a deferred replication's KPIs and tables with the common warm-up."""
    return _store(spec, finish_replication(spec, result, warmup_s), scenario_dir)


def refinish_one(
    spec: s.PlantSpec, replication: int, warmup_s: float, scenario_dir: str
) -> RepOutcome:
    """Recompute a stored replication's KPIs and tables with a new common warm-up.

    Sequential replications with an automatic warm-up move the warm-up as replications are
    added; the records on disk are read again (chunk by chunk), not re-simulated.
    """
    d = rep_dir(scenario_dir, replication)
    meta = json.loads((d / "kpis.json").read_text(encoding="utf-8"))
    from factory_twin.sim.runner import DeferredKpis

    lots = pd.read_parquet(d / "lots.parquet")
    qtime = pd.read_parquet(d / "qtime.parquet")
    deferred = DeferredKpis(
        series=np.zeros(0), lots=lots, qtime=qtime, rpt=meta["rpt_s"],
        chunk_rows=DEFAULT_CHUNK_ROWS,
        chunks={"steps": [str(d / "steps.parquet")], "states": [str(d / "states.parquet")]},
    )  # fmt: skip
    prior = ReplicationResult(
        replication=replication, kpis={}, bottleneck=None, warmup_s=math.nan,
        end_s=float(meta["end_s"]), events=int(meta["events"]), wall_s=float(meta["wall_s"]),
        deferred=deferred,
    )  # fmt: skip
    return finish_one(spec, prior, warmup_s, scenario_dir)


def _store(spec: s.PlantSpec, r: ReplicationResult, scenario_dir: str | Path) -> RepOutcome:
    d = rep_dir(scenario_dir, r.replication)
    d.mkdir(parents=True, exist_ok=True)
    write_series(d, spec, r.end_s)
    extra = write_tools(d, spec, r.kpis, r.warmup_s, r.end_s)
    r.kpis.update(extra)
    amhs = getattr(r, "amhs", None)
    if amhs is not None and spec.amhs is not None:
        table = amhs.link_table(r.warmup_s, r.end_s)
        if table and len(table["section"]) == len(spec.amhs.links):
            df = pd.DataFrame({"link": [lk.id for lk in spec.amhs.links], **table})
            _write_parquet(df, d / "rails.parquet")
    from factory_twin.sim.model import raw_process_time

    rpt = {p.id: raw_process_time(spec, p.id) for p in spec.products}
    out = RepOutcome(
        replication=r.replication,
        kpis={k: float(v) for k, v in r.kpis.items()},
        bottleneck=None if r.bottleneck is None else r.bottleneck.group,
        warmup_s=float(r.warmup_s),
        end_s=float(r.end_s),
        events=int(r.events),
        wall_s=float(r.wall_s),
    )
    meta = asdict(out)
    meta["kpis"] = {k: (v if math.isfinite(v) else None) for k, v in out.kpis.items()}
    meta["rpt_s"] = rpt
    atomic_write_text(d / "kpis.json", json.dumps(meta, indent=1, allow_nan=False))
    return out


# --------------------------------------------------------------------------- time series


def _area_at(edges: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``F(e) = sum_i |[a_i, b_i) ∩ [0, e)|`` at every edge (intervals with a <= b).

    The time integral of the number of open intervals up to each edge; differences of
    consecutive edges are the per-bin areas. Additive over chunks of intervals.
    """
    out = np.zeros(len(edges))
    for x, sign in ((a, 1.0), (b, -1.0)):
        xs = np.sort(x)
        cs = np.concatenate([[0.0], np.cumsum(xs)])
        c = np.searchsorted(xs, edges, side="left")
        out += sign * (c * edges - cs[c])
    return out


def series_frame(
    spec: s.PlantSpec,
    end_s: float,
    lots: pd.DataFrame,
    steps_chunks: Any,
    bins: int = SERIES_BINS,
) -> pd.DataFrame:
    """Throughput, WIP and queue length per tool group in ``bins`` equal bins over ``[0, end_s]``.

    ``steps_chunks`` yields DataFrames with ``group, queue_enter_s, start_s`` (bounded
    memory: one chunk at a time). A lot still waiting at the end waits until ``end_s``.
    """
    edges = np.linspace(0.0, end_s, bins + 1)
    width = np.diff(edges)
    groups = list(spec.groups())
    gi = {g: i for i, g in enumerate(groups)}
    q_area = np.zeros((len(groups), bins + 1))
    for ch in steps_chunks:
        if not len(ch):
            continue
        a = ch["queue_enter_s"].to_numpy(dtype=float)
        b = ch["start_s"].to_numpy(dtype=float)
        b = np.where(np.isnan(b), end_s, b)
        ok = ~np.isnan(a)
        codes = ch["group"].astype(object).map(gi).fillna(-1).to_numpy(dtype=np.int64)
        for i in np.unique(codes[ok & (codes >= 0)]):
            m = ok & (codes == i)
            q_area[i] += _area_at(edges, np.minimum(a[m], end_s), np.minimum(b[m], end_s))
    rel = lots["release_s"].to_numpy(dtype=float)
    ex = lots["exit_s"].to_numpy(dtype=float)
    ex = np.where(np.isnan(ex), end_s, ex)
    wip = np.maximum(np.diff(_area_at(edges, rel, np.minimum(ex, end_s))) / width, 0.0)
    finished = lots["exit_s"].notna().to_numpy() & ~lots["scrapped"].to_numpy(dtype=bool)
    counts = np.histogram(lots["exit_s"].to_numpy(dtype=float)[finished], bins=edges)[0]
    thr = counts / (width / 86400.0)
    parts = [
        _series_rows(edges, "throughput", "", thr),
        _series_rows(edges, "wip", "", wip),
    ]
    for g, i in gi.items():
        # differences of large sums: clip the rounding below zero
        parts.append(_series_rows(edges, "queue", g, np.maximum(np.diff(q_area[i]) / width, 0.0)))
    return pd.concat(parts, ignore_index=True)


def _series_rows(edges: np.ndarray, name: str, group: str, values: np.ndarray) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "bin": np.arange(n, dtype=np.int32),
            "t0_s": edges[:-1],
            "t1_s": edges[1:],
            "series": name,
            "group": group,
            "value": values.astype(float),
        }
    )


def write_series(d: Path, spec: s.PlantSpec, end_s: float) -> None:
    """Write ``series.parquet`` from the replication's records."""
    lots = pd.read_parquet(d / "lots.parquet", columns=["release_s", "exit_s", "scrapped"])
    chunks = iter_parquet(d / "steps.parquet", ["group", "queue_enter_s", "start_s"])
    _write_parquet(series_frame(spec, end_s, lots, chunks), d / "series.parquet")


# --------------------------------------------------------------------------- per tool


def tools_frame(
    spec: s.PlantSpec,
    kpis: dict[str, float],
    warmup_s: float,
    end_s: float,
    steps_chunks: Any,
) -> pd.DataFrame:
    """Per tool: utilisation and E10 shares (from the KPIs), mean queue and mean wait.

    A group shares one queue; a tool's queue is the waiting of the lots it went on to
    process (time average over the window), its wait the mean of those lots' waits that
    ended in the window. Lots still waiting at the end count in the group's ``queue_lots``
    KPI but belong to no tool yet.
    """
    tools = [e.id for e in spec.equipment]
    ti = {t: i for i, t in enumerate(tools)}
    q = np.zeros(len(tools))
    wsum = np.zeros(len(tools))
    wn = np.zeros(len(tools))
    span = end_s - warmup_s
    moves = [0.0, 0.0]  # transport seconds, moves (of steps started in the window)
    for ch in steps_chunks:
        if not len(ch):
            continue
        code = ch["tool"].astype(object).map(ti).fillna(-1).to_numpy(dtype=np.int64)
        a = ch["queue_enter_s"].to_numpy(dtype=float)
        b = ch["start_s"].to_numpy(dtype=float)
        ok = (code >= 0) & ~np.isnan(a) & ~np.isnan(b)
        lo = np.clip(a, warmup_s, end_s)
        hi = np.clip(b, warmup_s, end_s)
        ov = np.where(ok, np.maximum(hi - lo, 0.0), 0.0)
        q += np.bincount(code[ok], weights=ov[ok], minlength=len(tools))
        started = ok & (b >= warmup_s) & (b <= end_s)
        wsum += np.bincount(code[started], weights=(b - a)[started] / 3600.0, minlength=len(tools))
        wn += np.bincount(code[started], minlength=len(tools))
        tr = ch["transport_s"].to_numpy(dtype=float)[started]
        moves[0] += float(np.nansum(tr))
        moves[1] += float(np.count_nonzero(~np.isnan(tr)))
    rows: list[dict[str, Any]] = []
    for i, e in enumerate(spec.equipment):
        row: dict[str, Any] = {
            "tool": e.id, "group": e.group, "bay": e.bay,
            "x_m": float(e.position_m[0]), "y_m": float(e.position_m[1]),
            "utilisation": kpis.get(f"utilisation_tool/{e.id}", math.nan),
            "mean_queue_lots": q[i] / span if span > 0 else math.nan,
            "mean_wait_h": wsum[i] / wn[i] if wn[i] > 0 else math.nan,
            "starts": int(wn[i]),
        }  # fmt: skip
        for st in E10_STATES:
            row[f"e10.{st}"] = kpis.get(f"e10_tool.{st}/{e.id}", math.nan)
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["transport_mean_min"] = moves[0] / moves[1] / 60.0 if moves[1] else math.nan
    return df


def write_tools(
    d: Path, spec: s.PlantSpec, kpis: dict[str, float], warmup_s: float, end_s: float
) -> dict[str, float]:
    """Write ``tools.parquet`` from the replication's records and KPIs.

    Returns the KPIs found on the way: ``transport_mean_min``, the mean transport time of
    the moves to the steps that started in the window (vehicle wait, handling and travel).
    """
    cols = ["tool", "queue_enter_s", "start_s", "transport_s"]
    df = tools_frame(spec, kpis, warmup_s, end_s, iter_parquet(d / "steps.parquet", cols))
    extra = {"transport_mean_min": float(df.attrs.pop("transport_mean_min"))}
    _write_parquet(df, d / "tools.parquet")
    return extra


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_parquet(tmp, index=False)
    tmp.replace(path)
