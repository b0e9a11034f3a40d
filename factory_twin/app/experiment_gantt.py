"""Lot Gantt data of one replication: what each tool did in a time window.

Read from the replication's record tables (``steps.parquet``, ``states.parquet``) for the
window only. Rows (one per bar) have the columns of :data:`GANTT_COLUMNS`:

* ``kind`` ``process``: a lot (or a batch member) on the tool, with ``lot, product, step,
  recipe`` and ``wait_s`` (its wait in the group queue before it started);
* ``setup``, ``pm``, ``failure``, ``engineering`` (qualification, operator hold) and
  ``down`` (other scheduled downtime): the tool's state intervals.

When the window holds more bars than ``max_bars`` (a day of a fab of a thousand tools),
processing and setup bars are aggregated: each tool's window is cut into equal time cells
(as many as fit ``max_bars`` over all tools) and each cell becomes one row per kind with
``count`` (bars starting in it), ``busy_share`` (share of the cell the tool spent so),
``aggregated`` True and no lot. PMs, failures and holds are few and always kept as bars.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

GANTT_COLUMNS = [
    "tool", "group", "kind", "start_s", "end_s", "lot", "product", "step", "recipe",
    "wait_s", "count", "busy_share", "aggregated",
]  # fmt: skip

_KINDS = {
    ("scheduled_down", "setup"): "setup",
    ("scheduled_down", "pm"): "pm",
    ("unscheduled_down", None): "failure",
    ("engineering", None): "engineering",
    ("scheduled_down", None): "down",
}
_AGGREGATED = ("process", "setup")  # the frequent kinds; PMs, failures and holds stay bars


def _read(path: Path, columns: list[str], t0: float, t1: float) -> pd.DataFrame:
    import pyarrow.dataset as ds

    f = ds.field
    flt = (f("start_s") < t1) & ((f("end_s") > t0) | f("end_s").is_nan())
    table = ds.dataset(path, format="parquet").to_table(columns=columns, filter=flt)
    return table.to_pandas()


def _recipes(plant: dict[str, Any]) -> dict[tuple[str, int], str]:
    routes = {r["id"]: r["steps"] for r in plant.get("routes", [])}
    out: dict[tuple[str, int], str] = {}
    for p in plant.get("products", []):
        for i, st in enumerate(routes.get(p["route"], []), start=1):
            out[(p["id"], i)] = st.get("recipe") or st.get("name") or f"step {i}"
    return out


def gantt_frame(
    rep_dir: Path, plant: dict[str, Any], t0_s: float, t1_s: float, *, max_bars: int = 5000
) -> pd.DataFrame:
    """Return the Gantt rows of one replication folder for ``[t0_s, t1_s]``.

    Parameters
    ----------
    rep_dir
        The replication's folder (with ``steps.parquet`` and ``states.parquet``).
    plant
        The plant as JSON data (``plant.json`` of the scenario): groups and recipes.
    t0_s, t1_s
        The window; bars are clipped to it.
    max_bars
        More processing bars than this are aggregated per tool and time cell.
    """
    if not t1_s > t0_s:
        msg = f"the Gantt window must have t1 > t0, got [{t0_s}, {t1_s}]"
        raise ValueError(msg)
    group_of = {e["id"]: e["group"] for e in plant.get("equipment", [])}
    cols = ["lot", "product", "step", "tool", "queue_enter_s", "start_s", "end_s"]
    st = _read(rep_dir / "steps.parquet", cols, t0_s, t1_s)
    st = st[st["start_s"].notna() & st["tool"].notna()]
    proc = pd.DataFrame(
        {
            "tool": st["tool"].astype(str).to_numpy(),
            "kind": "process",
            "start_s": np.maximum(st["start_s"].to_numpy(dtype=float), t0_s),
            "end_s": np.minimum(st["end_s"].fillna(t1_s).to_numpy(dtype=float), t1_s),
            "lot": st["lot"].astype(str).to_numpy(),
            "product": st["product"].astype(str).to_numpy(),
            "step": st["step"].to_numpy(dtype=np.int64),
            "wait_s": (st["start_s"] - st["queue_enter_s"]).to_numpy(dtype=float),
        }
    )
    rec = _recipes(plant)
    proc["recipe"] = [
        rec.get((p, int(s)), "") for p, s in zip(proc["product"], proc["step"], strict=True)
    ]
    proc["count"] = 1
    proc["busy_share"] = math.nan
    proc["aggregated"] = False
    states = _read(
        rep_dir / "states.parquet", ["tool", "state", "substate", "start_s", "end_s"], t0_s, t1_s
    )
    kind = [
        _KINDS.get((a, b if b in ("setup", "pm") else None)) or _KINDS.get((a, None))
        for a, b in zip(states["state"].astype(str), states["substate"].astype(str), strict=True)
    ]
    states = states.assign(kind=kind)
    states = states[states["kind"].notna()]
    ev = pd.DataFrame(
        {
            "tool": states["tool"].astype(str).to_numpy(),
            "kind": states["kind"].to_numpy(),
            "start_s": np.maximum(states["start_s"].to_numpy(dtype=float), t0_s),
            "end_s": np.minimum(states["end_s"].fillna(t1_s).to_numpy(dtype=float), t1_s),
            "lot": "", "product": "", "step": 0, "recipe": "", "wait_s": math.nan,
            "count": 1, "busy_share": math.nan, "aggregated": False,
        }
    )  # fmt: skip
    if len(proc) + len(ev) > max_bars:
        many = ev["kind"].isin(_AGGREGATED).to_numpy()
        proc = _aggregate(pd.concat([proc, ev[many]], ignore_index=True), t0_s, t1_s, max_bars)
        ev = ev[~many]
    out = pd.concat([proc, ev], ignore_index=True)
    out["group"] = out["tool"].map(group_of).fillna("")
    return out.sort_values(["tool", "start_s"], kind="stable").reset_index(drop=True)[
        GANTT_COLUMNS
    ]


def _aggregate(proc: pd.DataFrame, t0: float, t1: float, max_bars: int) -> pd.DataFrame:
    """One row per tool, kind and time cell: how many bars, and the share of the cell."""
    tools = pd.unique(proc["tool"])
    cells = max(1, max_bars // max(len(tools), 1))
    width = (t1 - t0) / cells
    a = proc["start_s"].to_numpy()
    b = proc["end_s"].to_numpy()
    first = np.clip(((a - t0) // width).astype(np.int64), 0, cells - 1)
    last = np.clip(((np.maximum(b, a) - t0) // width).astype(np.int64), 0, cells - 1)
    k = last - first + 1
    row = np.repeat(np.arange(len(proc)), k)
    cell = np.repeat(first, k) + (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k))
    lo = np.maximum(a[row], t0 + cell * width)
    hi = np.minimum(b[row], t0 + (cell + 1) * width)
    busy = np.maximum(hi - lo, 0.0)
    starts_here = cell == first[row]
    df = pd.DataFrame(
        {"tool": proc["tool"].to_numpy()[row], "kind": proc["kind"].to_numpy()[row],
         "cell": cell, "busy": busy, "n": starts_here}
    )  # fmt: skip
    g = df.groupby(["tool", "kind", "cell"], sort=False).agg(busy=("busy", "sum"), n=("n", "sum"))
    g = g.reset_index()
    return pd.DataFrame(
        {
            "tool": g["tool"], "kind": g["kind"],
            "start_s": t0 + g["cell"] * width, "end_s": t0 + (g["cell"] + 1) * width,
            "lot": "", "product": "", "step": 0, "recipe": "", "wait_s": math.nan,
            "count": g["n"].astype(np.int64),
            "busy_share": np.minimum(g["busy"] / width, 1.0),  # batch members overlap
            "aggregated": True,
        }
    )  # fmt: skip
