"""ISA-18.2 alarm performance report from the alarm journal.

The journal (:mod:`factory_twin.app.alarm_journal`) stores every alarm *transition*
(raised, acknowledged, returned to normal). This module turns the transitions of a period
into the key performance indicators of ANSI/ISA-18.2-2016 ("Management of Alarm Systems
for the Process Industries", clause 16 and its table of recommended alarm performance
metrics) and EEMUA 191 (3rd edition, 2013), each with its target and a verdict:

* **annunciation rate**: alarms per 10 minutes, per hour and per day, per operator position
  (targets: ~1 per 10 min, ~6 per hour, ~150 per day "very likely acceptable"; ~2, ~12 and
  ~300 "maximum manageable");
* **alarm floods**: 10-minute intervals with more than 10 alarms for one operator position,
  consecutive ones merged into one flood period (target: < ~1 % of the time in flood);
* **bad actors**: the 10 most frequent alarms and their share of all alarms (target: the
  top 10 carry ~1 % to 5 % at most);
* **chattering alarms**: ISA-18.2 defines a chattering alarm as one that "repeatedly
  transitions between the alarm state and the normal state in a short period of time";
  the usual working rule (ISA-18.2 practice, EEMUA 191, Hollifield and Habibi's *Alarm
  Management Handbook*) is 3 or more activations of the same alarm within 1 minute
  (target: zero);
* **stale alarms**: ISA-18.2 defines a stale alarm as one that "remains annunciated for an
  extended period of time (e.g., 24 hours)" (target: fewer than 5 present on any day);
* **priority distribution** of the annunciated alarms (target: ~80 % low, ~15 % medium,
  ~5 % high, < 1 % highest; the journal's ``critical`` is the highest priority).

An *alarm* is an activation (annunciation): a transition of one alarm, identified by
``(equipment, code)``, into the unacknowledged active state from a state that was not
active. Acknowledgements, returns to normal and repeated "active" events (a reconnecting
client refreshes the conditions) are not alarms. The plant clock of the journal is used
as is: epoch seconds for a live plant, plant seconds for a simulation; 10-minute intervals
are aligned to multiples of 600 s of that clock.

The figures are plain pandas DataFrames (:class:`AlarmReport`); :func:`write_csv` writes
one CSV per table and :func:`~factory_twin.app.alarm_report_html.write_html` a
self-contained HTML page.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from factory_twin.app.alarm_journal import PRIORITIES, JournalEntry, priority_rank
from factory_twin.model.config import atomic_write_text
from factory_twin.model.events import AlarmState

if TYPE_CHECKING:
    from factory_twin.app.alarm_journal import AlarmJournal

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- targets
# ISA-18.2-2016 table "Recommended alarm performance metrics" (after EEMUA 191), per
# operator position. The figures are the standard's; the names are ours.
ACCEPTABLE_PER_10MIN = 1.0
"""Average alarms per 10 minutes that is "very likely acceptable" (ISA-18.2)."""
MANAGEABLE_PER_10MIN = 2.0
"""Average alarms per 10 minutes that is the "maximum manageable" (ISA-18.2)."""
ACCEPTABLE_PER_HOUR = 6.0
"""Average alarms per hour that is "very likely acceptable" (ISA-18.2, EEMUA 191)."""
MANAGEABLE_PER_HOUR = 12.0
"""Average alarms per hour that is the "maximum manageable" (ISA-18.2, EEMUA 191)."""
ACCEPTABLE_PER_DAY = 150.0
"""Average alarms per day that is "very likely acceptable" (ISA-18.2)."""
MANAGEABLE_PER_DAY = 300.0
"""Average alarms per day that is the "maximum manageable" (ISA-18.2)."""
FLOOD_THRESHOLD = 10
"""A 10-minute interval with MORE than this many alarms is a flood (ISA-18.2)."""
FLOOD_WINDOW_S = 600.0
"""The interval of the rate and flood measures: 10 minutes."""
TARGET_FLOOD_TIME_SHARE = 0.01
"""Share of time in flood to stay below: ~1 % (ISA-18.2)."""
TARGET_TOP10_SHARE = 0.05
"""Largest share of all alarms the 10 most frequent alarms should carry: 5 % (ISA-18.2)."""
CHATTER_COUNT = 3
"""Activations of one alarm within :data:`CHATTER_WINDOW_S` that make it chattering."""
CHATTER_WINDOW_S = 60.0
"""The chattering window: 1 minute."""
TARGET_CHATTERING = 0
"""Chattering alarms to tolerate: none (ISA-18.2: zero, with action plans)."""
STALE_AFTER_S = 24 * 3600.0
"""An alarm active longer than this is stale (ISA-18.2's example: 24 hours)."""
TARGET_STALE = 5
"""Stale alarms present on any day should stay below this (ISA-18.2: fewer than 5)."""
TARGET_PRIORITY_SHARE: dict[str, float] = {
    "low": 0.80,
    "medium": 0.15,
    "high": 0.05,
    "critical": 0.01,
}
"""ISA-18.2 distribution of annunciated priorities (~80/15/5 %, highest < 1 %)."""
PRIORITY_TOLERANCE = 0.05
"""How far (absolute share) a priority may exceed its target before it is flagged."""

# verdicts
OK = "ok"
"""The metric meets the "very likely acceptable" target."""
MANAGEABLE = "manageable"
"""Between the acceptable and the maximum manageable figure."""
OVER = "over target"
"""The metric misses its target: the alarm system needs work here."""
NO_DATA = "no data"
"""Nothing to judge (no alarm in the period)."""

DEFAULT_POSITION = "plant"
"""The operator position of every tool when no mapping is given (one console)."""

_ACTIVE = {AlarmState.ACTIVE_UNACKED.value, AlarmState.ACTIVE_ACKED.value}
_CLEARED = {AlarmState.CLEARED_UNACKED.value, AlarmState.CLEARED.value}
_RAISED = AlarmState.ACTIVE_UNACKED.value


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """The thresholds of the report (defaults: the ISA-18.2 / EEMUA 191 figures)."""

    window_s: float = FLOOD_WINDOW_S
    flood_threshold: int = FLOOD_THRESHOLD
    chatter_count: int = CHATTER_COUNT
    chatter_window_s: float = CHATTER_WINDOW_S
    stale_after_s: float = STALE_AFTER_S
    top_n: int = 10


@dataclass(frozen=True)
class AlarmReport:
    """The alarm performance of one period: every metric as a DataFrame.

    Attributes
    ----------
    start_s, end_s
        The period (plant clock, inclusive).
    bins
        One row per 10-minute interval and operator position: ``bin_start_s``,
        ``position``, ``alarms``, ``flood``.
    rates
        Per position: alarms, hours, average per 10 min / hour / day, peak per 10 min,
        flood intervals, share of time in flood and the verdicts.
    floods
        Flood periods: ``position``, ``start_s``, ``end_s``, ``duration_min``, ``alarms``,
        ``peak_per_10min``.
    bad_actors
        The most frequent alarms: ``rank``, ``equipment``, ``code``, ``priority``,
        ``message``, ``alarms``, ``share``, ``cumulative_share``.
    chattering
        Alarms with at least ``chatter_count`` activations within ``chatter_window_s``.
    stale
        Alarms active longer than ``stale_after_s`` within the period.
    priorities
        Count, share, target share and verdict of each priority.
    summary
        One row per metric: ``metric``, ``value``, ``unit``, ``target``, ``verdict``.
    """

    start_s: float
    end_s: float
    settings: ReportSettings
    transitions: int
    alarms: int
    bins: pd.DataFrame
    rates: pd.DataFrame
    floods: pd.DataFrame
    bad_actors: pd.DataFrame
    chattering: pd.DataFrame
    stale: pd.DataFrame
    priorities: pd.DataFrame
    summary: pd.DataFrame
    positions: tuple[str, ...] = field(default=(DEFAULT_POSITION,))

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return every table by name (the order of the exports)."""
        return {
            "summary": self.summary,
            "rates": self.rates,
            "per_10min": self.bins,
            "floods": self.floods,
            "bad_actors": self.bad_actors,
            "chattering": self.chattering,
            "stale": self.stale,
            "priorities": self.priorities,
        }


# --------------------------------------------------------------------------- periods

PERIODS: dict[str, float | None] = {
    "last hour": 3600.0,
    "last shift (12 h)": 12 * 3600.0,
    "last day": 86400.0,
    "last week": 7 * 86400.0,
    "all": None,
}
"""Named report periods and their length in seconds (None: the whole journal)."""


def period_bounds(
    period: str, *, first_s: float | None, last_s: float | None, now_s: float
) -> tuple[float, float]:
    """Return ``(start_s, end_s)`` of a named period of :data:`PERIODS`.

    The period ends now when the journal runs on the epoch clock (a live plant) and at the
    last journal entry when it runs on plant seconds (a simulation or replay).

    Parameters
    ----------
    period
        A key of :data:`PERIODS`.
    first_s, last_s
        Times of the first and last journal entries (None for an empty journal).
    now_s
        The wall clock (epoch seconds).

    Examples
    --------
    >>> period_bounds("last hour", first_s=0.0, last_s=7200.0, now_s=1.7e9)
    (3600.0, 7200.0)
    >>> period_bounds("all", first_s=50.0, last_s=7200.0, now_s=1.7e9)
    (50.0, 7200.0)
    """
    if period not in PERIODS:
        msg = f"unknown report period {period!r}; choose one of {', '.join(PERIODS)}"
        raise ValueError(msg)
    if last_s is None:
        end = now_s
    else:
        end = max(now_s, last_s) if last_s > 1e9 else last_s
    length = PERIODS[period]
    if length is None:
        return (first_s if first_s is not None else end, end)
    return (end - length, end)


# --------------------------------------------------------------------------- input


def entries_frame(entries: Iterable[JournalEntry]) -> pd.DataFrame:
    """Return journal entries as a DataFrame sorted by time (oldest first)."""
    cols = ["row_id", "time_s", "equipment", "code", "severity", "priority", "state", "message"]
    rows = [
        (e.row_id, e.time_s, e.equipment, e.code, e.severity, e.priority, e.state, e.message)
        for e in entries
    ]
    df = pd.DataFrame.from_records(rows, columns=cols)
    return df.sort_values(["time_s", "row_id"], kind="stable").reset_index(drop=True)


def _activity(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``key``, ``rise`` (entered the active state) and ``fall`` (left it) per alarm."""
    df = df.copy()
    df["key"] = df["equipment"].astype(str) + "\x1f" + df["code"].astype(str)
    flag = pd.Series(np.nan, index=df.index)
    flag[df["state"].isin(_ACTIVE)] = 1.0
    flag[df["state"].isin(_CLEARED)] = 0.0
    grp = df["key"]
    # states we do not know (e.g. shelved) keep the alarm as it was
    active = flag.groupby(grp).ffill().fillna(0.0).astype(bool)
    before = active.groupby(grp).shift(1, fill_value=False).astype(bool)
    df["active"] = active
    df["rise"] = active & ~before
    df["fall"] = ~active & before
    return df


# --------------------------------------------------------------------------- metrics


def _verdict_rate(value: float, acceptable: float, manageable: float) -> str:
    if value <= acceptable:
        return OK
    return MANAGEABLE if value <= manageable else OVER


def _bins(
    alarms: pd.DataFrame, start_s: float, end_s: float, positions: list[str], s: ReportSettings
) -> pd.DataFrame:
    w = s.window_s
    first = math.floor(start_s / w) * w
    n = max(1, math.ceil((end_s - first) / w))
    starts = first + w * np.arange(n)
    parts = []
    for pos in positions:
        t = alarms.loc[alarms["position"] == pos, "time_s"].to_numpy(dtype=float)
        # an alarm exactly at end_s belongs to the last interval, not to a new one
        idx = np.minimum(np.floor((t - first) / w).astype(np.int64), n - 1)
        counts = np.bincount(idx, minlength=n)[:n]
        parts.append(pd.DataFrame({"bin_start_s": starts, "position": pos, "alarms": counts}))
    out = pd.concat(parts, ignore_index=True)
    out["flood"] = out["alarms"] > s.flood_threshold
    return out


def _floods(bins: pd.DataFrame, s: ReportSettings) -> pd.DataFrame:
    rows = []
    for pos, b in bins.groupby("position", sort=False):
        fl = b["flood"].to_numpy()
        cnt = b["alarms"].to_numpy()
        t0 = b["bin_start_s"].to_numpy()
        # consecutive flood intervals form one flood period
        edges = np.diff(np.concatenate(([0], fl.astype(np.int8), [0])))
        for a, z in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            rows.append(
                (
                    pos,
                    float(t0[a]),
                    float(t0[z - 1] + s.window_s),
                    (z - a) * s.window_s / 60.0,
                    int(cnt[a:z].sum()),
                    int(cnt[a:z].max()),
                )
            )
    cols = ["position", "start_s", "end_s", "duration_min", "alarms", "peak_per_10min"]
    return pd.DataFrame.from_records(rows, columns=cols)


def _rates(
    alarms: pd.DataFrame, bins: pd.DataFrame, span_s: float, positions: list[str]
) -> pd.DataFrame:
    hours = span_s / 3600.0
    rows = []
    for pos in positions:
        b = bins[bins["position"] == pos]
        n = int((alarms["position"] == pos).sum())
        per_10 = n / (span_s / FLOOD_WINDOW_S)
        per_h = n / hours
        per_d = n / (hours / 24.0)
        flood_share = float(b["flood"].mean()) if len(b) else 0.0
        rows.append(
            {
                "position": pos,
                "alarms": n,
                "hours": hours,
                "per_10min": per_10,
                "per_hour": per_h,
                "per_day": per_d,
                "peak_per_10min": int(b["alarms"].max()) if len(b) else 0,
                "flood_intervals": int(b["flood"].sum()),
                "flood_time_share": flood_share,
                "verdict_per_10min": _verdict_rate(
                    per_10, ACCEPTABLE_PER_10MIN, MANAGEABLE_PER_10MIN
                ),
                "verdict_per_hour": _verdict_rate(per_h, ACCEPTABLE_PER_HOUR, MANAGEABLE_PER_HOUR),
                "verdict_per_day": _verdict_rate(per_d, ACCEPTABLE_PER_DAY, MANAGEABLE_PER_DAY),
                "verdict_flood": OK if flood_share < TARGET_FLOOD_TIME_SHARE else OVER,
            }
        )
    return pd.DataFrame(rows)


def _bad_actors(alarms: pd.DataFrame, top_n: int) -> pd.DataFrame:
    cols = ["rank", "equipment", "code", "priority", "message", "alarms", "share"]
    if alarms.empty:
        return pd.DataFrame(columns=[*cols, "cumulative_share"])
    g = alarms.groupby(["equipment", "code"], sort=False)
    top = (
        g.agg(
            alarms=("time_s", "size"),
            priority=("priority", "last"),
            message=("message", "last"),
            last_s=("time_s", "max"),
        )
        .reset_index()
        # ties: the alarm seen last ranks first, then by name, so the order is reproducible
        .sort_values(
            ["alarms", "last_s", "equipment", "code"], ascending=[False, False, True, True]
        )
        .head(top_n)
        .reset_index(drop=True)
    )
    top["rank"] = np.arange(1, len(top) + 1)
    top["share"] = top["alarms"] / len(alarms)
    top["cumulative_share"] = top["share"].cumsum()
    return top[[*cols, "cumulative_share"]]


def _chattering(alarms: pd.DataFrame, s: ReportSettings) -> pd.DataFrame:
    rows = []
    k = s.chatter_count
    for (eq, code), g in alarms.groupby(["equipment", "code"], sort=False):
        t = g["time_s"].to_numpy(dtype=float)
        if len(t) < k:
            continue
        # for each activation, how many follow within the window (itself included)
        upto = np.searchsorted(t, t + s.chatter_window_s, side="right")
        in_window = upto - np.arange(len(t))
        hits = in_window >= k
        if not hits.any():
            continue
        rows.append(
            (
                eq,
                code,
                str(g["priority"].iloc[-1]),
                int(in_window.max()),
                len(t),
                float(t[np.argmax(hits)]),
            )
        )
    cols = ["equipment", "code", "priority", "max_in_window", "alarms", "first_chatter_s"]
    df = pd.DataFrame.from_records(rows, columns=cols)
    return df.sort_values(
        ["max_in_window", "alarms", "equipment", "code"], ascending=[False, False, True, True]
    ).reset_index(drop=True)


def _stale(df: pd.DataFrame, start_s: float, end_s: float, s: ReportSettings) -> pd.DataFrame:
    cols = ["equipment", "code", "priority", "active_since_s", "cleared_s", "active_h"]
    edges = df[df["rise"] | df["fall"]]
    nxt_t = edges.groupby("key")["time_s"].shift(-1)
    rises = edges[edges["rise"]].assign(cleared_s=nxt_t[edges["rise"]])
    # an interval counts when it overlaps the period and lasts longer than the threshold
    # by the end of the period (or by its clearing, if earlier)
    until = rises["cleared_s"].fillna(np.inf).clip(upper=end_s)
    dur = until - rises["time_s"]
    keep = (dur > s.stale_after_s) & (until >= start_s)
    # (assign from the filtered frame only: on an empty frame pandas would take the rows of
    # a longer Series assigned to it)
    out = rises[keep].copy()
    out["active_since_s"] = out["time_s"]
    out["active_h"] = dur[keep].to_numpy() / 3600.0
    out = out[cols].sort_values("active_h", ascending=False).reset_index(drop=True)
    out["still_active"] = out["cleared_s"].isna() | (out["cleared_s"] > end_s)
    return out


def stale_per_day(
    stale: pd.DataFrame, start_s: float, end_s: float, stale_after_s: float = STALE_AFTER_S
) -> int:
    """Return the most alarms that were stale during one day of the period.

    ISA-18.2's target is "fewer than 5 present on any day": an alarm counts on every day
    (24-hour interval from the start of the period) that overlaps the time it was stale,
    from ``active_since_s + stale_after_s`` to its clearing or the period's end.

    Examples
    --------
    >>> st = pd.DataFrame({"active_since_s": [0.0, 50_000.0], "cleared_s": [None, 200_000.0]})
    >>> stale_per_day(st, 0.0, 3 * 86400.0)
    2
    """
    if stale.empty:
        return 0
    ndays = max(1, math.ceil((end_s - start_s) / 86400.0))
    counts = np.zeros(ndays, dtype=np.int64)
    since = stale["active_since_s"].to_numpy(dtype=float) + stale_after_s
    until = stale["cleared_s"].astype(float).fillna(np.inf).to_numpy().clip(max=end_s)
    for a, z in zip(since, until, strict=True):
        d0 = int(np.clip((max(a, start_s) - start_s) // 86400, 0, ndays - 1))
        d1 = int(np.clip((z - start_s) // 86400, 0, ndays - 1))
        counts[d0 : d1 + 1] += 1
    return int(counts.max())


def _priorities(alarms: pd.DataFrame) -> pd.DataFrame:
    total = len(alarms)
    counts = alarms["priority"].value_counts()
    rows = []
    for p in sorted(set(PRIORITIES) | set(counts.index), key=lambda p: (priority_rank(p), p)):
        n = int(counts.get(p, 0))
        share = n / total if total else 0.0
        target = TARGET_PRIORITY_SHARE.get(p)
        if not total:
            verdict = NO_DATA
        elif target is None:
            verdict = ""
        elif p == "low":  # too few low alarms means too many high ones
            verdict = OK if share >= target - PRIORITY_TOLERANCE else OVER
        elif p == "critical":
            verdict = OK if share <= target else OVER
        else:
            verdict = OK if share <= target + PRIORITY_TOLERANCE else OVER
        rows.append(
            {
                "priority": p,
                "alarms": n,
                "share": share,
                "target_share": np.nan if target is None else target,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def _summary(
    n: int,
    rates: pd.DataFrame,
    floods: pd.DataFrame,
    bad: pd.DataFrame,
    chat: pd.DataFrame,
    stale: pd.DataFrame,
    prio: pd.DataFrame,
    start_s: float,
    end_s: float,
    stale_after_s: float,
) -> pd.DataFrame:
    # the busiest operator position decides the verdicts of the rate metrics
    worst = rates.sort_values("per_hour", ascending=False).iloc[0]
    top_share = float(bad["share"].sum()) if n else 0.0
    stale_peak = stale_per_day(stale, start_s, end_s, stale_after_s)
    still = int(stale["still_active"].sum()) if len(stale) else 0
    pr_ok = (prio["verdict"].isin([OK, ""])).all()

    def nd(verdict: str) -> str:
        return verdict if n else NO_DATA

    rows = [
        ("alarms", n, "alarms", "", ""),
        (
            "average rate per 10 min",
            worst["per_10min"],
            "alarms/10 min",
            f"<= {ACCEPTABLE_PER_10MIN:g} (max {MANAGEABLE_PER_10MIN:g})",
            worst["verdict_per_10min"],
        ),
        (
            "average rate per hour",
            worst["per_hour"],
            "alarms/h",
            f"<= {ACCEPTABLE_PER_HOUR:g} (max {MANAGEABLE_PER_HOUR:g})",
            worst["verdict_per_hour"],
        ),
        (
            "average rate per day",
            worst["per_day"],
            "alarms/day",
            f"<= {ACCEPTABLE_PER_DAY:g} (max {MANAGEABLE_PER_DAY:g})",
            worst["verdict_per_day"],
        ),
        (
            "peak per 10 min",
            worst["peak_per_10min"],
            "alarms/10 min",
            f"<= {FLOOD_THRESHOLD}",
            nd(OK if worst["peak_per_10min"] <= FLOOD_THRESHOLD else OVER),
        ),
        ("flood periods", len(floods), "periods", "0", nd(OK if floods.empty else OVER)),
        (
            "time in flood",
            100.0 * worst["flood_time_share"],
            "%",
            f"< {100 * TARGET_FLOOD_TIME_SHARE:g}",
            worst["verdict_flood"],
        ),
        (
            f"top {len(bad)} share",
            100.0 * top_share,
            "%",
            f"<= {100 * TARGET_TOP10_SHARE:g}",
            nd(OK if top_share <= TARGET_TOP10_SHARE else OVER),
        ),
        (
            "chattering alarms",
            len(chat),
            "alarms",
            f"{TARGET_CHATTERING}",
            OK if len(chat) <= TARGET_CHATTERING else OVER,
        ),
        ("stale alarms", len(stale), "alarms", "", ""),
        (
            "most stale alarms on one day",
            stale_peak,
            "alarms",
            f"< {TARGET_STALE}",
            OK if stale_peak < TARGET_STALE else OVER,
        ),
        ("stale alarms still active", still, "alarms", "", ""),
        ("priority distribution", "", "", "~80/15/5 % low/medium/high", nd(OK if pr_ok else OVER)),
    ]
    df = pd.DataFrame(rows, columns=["metric", "value", "unit", "target", "verdict"])
    if not n:
        df.loc[df["metric"].str.startswith("average"), "verdict"] = NO_DATA
        df.loc[df["metric"] == "time in flood", "verdict"] = NO_DATA
    return df


def compute_report(
    entries: Iterable[JournalEntry] | pd.DataFrame,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    positions: Mapping[str, str] | None = None,
    settings: ReportSettings | None = None,
) -> AlarmReport:
    """Compute the alarm performance of a period from journal transitions.

    Parameters
    ----------
    entries
        Journal transitions (any order), or :func:`entries_frame` of them. Give the
        transitions before ``start_s`` too: they tell which alarms were already active
        (for stale alarms and for not counting a repeated "active" as a new alarm).
    start_s, end_s
        The period (plant clock, inclusive); default: first and last transition.
    positions
        Operator position of each tool (``equipment -> position``); tools not listed, and
        every tool when None, belong to :data:`DEFAULT_POSITION`.
    settings
        Thresholds (default: the ISA-18.2 figures).

    Returns
    -------
    AlarmReport
        Every metric as a DataFrame.

    Examples
    --------
    >>> from factory_twin.app.alarm_journal import JournalEntry
    >>> raise_ = lambda i, t: JournalEntry(
    ...     i, 0.0, t, "a", "ETCH-01", "p.hi", 700, "high", "unacknowledged", "", "", "", ""
    ... )
    >>> clear = lambda i, t: JournalEntry(
    ...     i, 0.0, t, "a", "ETCH-01", "p.hi", 700, "high", "returned_to_normal", "", "", "", ""
    ... )
    >>> r = compute_report([raise_(1, 0.0), clear(2, 5.0), raise_(3, 20.0), clear(4, 25.0),
    ...                     raise_(5, 40.0)], start_s=0.0, end_s=3600.0)
    >>> r.alarms, len(r.chattering), float(r.rates["per_hour"].iloc[0])
    (3, 1, 3.0)
    """
    s = settings or ReportSettings()
    df = entries if isinstance(entries, pd.DataFrame) else entries_frame(entries)
    df = df.sort_values(["time_s", "row_id"], kind="stable").reset_index(drop=True)
    transitions = len(df)
    if start_s is None:
        start_s = float(df["time_s"].iloc[0]) if transitions else 0.0
    if end_s is None:
        end_s = float(df["time_s"].iloc[-1]) if transitions else start_s
    if end_s < start_s:
        msg = f"the report period ends ({end_s}) before it starts ({start_s})"
        raise ValueError(msg)
    df = _activity(df[df["time_s"] <= end_s])
    pos_of = dict(positions or {})
    df["position"] = [pos_of.get(e, DEFAULT_POSITION) for e in df["equipment"].astype(str)]
    in_period = df["time_s"] >= start_s
    alarms = df[in_period & df["rise"] & (df["state"] == _RAISED)]
    all_pos = sorted(set(pos_of.values()) | {DEFAULT_POSITION}) if pos_of else [DEFAULT_POSITION]
    if pos_of and DEFAULT_POSITION not in set(df["position"]):
        all_pos.remove(DEFAULT_POSITION)
    # rates over at least one interval, so a one-alarm journal does not divide by zero
    span_s = max(end_s - start_s, s.window_s)
    bins = _bins(alarms, start_s, end_s, all_pos, s)
    rates = _rates(alarms, bins, span_s, all_pos)
    floods = _floods(bins, s)
    bad = _bad_actors(alarms, s.top_n)
    chat = _chattering(alarms, s)
    stale = _stale(df, start_s, end_s, s)
    prio = _priorities(alarms)
    summary = _summary(
        len(alarms), rates, floods, bad, chat, stale, prio, start_s, end_s, s.stale_after_s
    )
    logger.debug(
        "alarm report %s..%s: %d transitions, %d alarms", start_s, end_s, transitions, len(alarms)
    )
    return AlarmReport(
        start_s=float(start_s),
        end_s=float(end_s),
        settings=s,
        transitions=transitions,
        alarms=len(alarms),
        bins=bins,
        rates=rates,
        floods=floods,
        bad_actors=bad,
        chattering=chat,
        stale=stale,
        priorities=prio,
        summary=summary,
        positions=tuple(all_pos),
    )


def report_from_journal(
    journal: AlarmJournal,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    positions: Mapping[str, str] | None = None,
    settings: ReportSettings | None = None,
) -> AlarmReport:
    """Read the journal up to ``end_s`` and compute the report (slow: call off the GUI)."""
    entries = journal.search(end_s=end_s, limit=2**62)
    return compute_report(
        entries, start_s=start_s, end_s=end_s, positions=positions, settings=settings
    )


def report_for_period(
    journal: AlarmJournal,
    period: str,
    *,
    now_s: float,
    positions: Mapping[str, str] | None = None,
    settings: ReportSettings | None = None,
) -> AlarmReport:
    """Compute the report of a named period of :data:`PERIODS` (slow: call off the GUI).

    See :func:`period_bounds` for where the period ends.
    """
    newest = journal.search(limit=1)
    last = newest[0].time_s if newest else None
    start, end = period_bounds(period, first_s=None, last_s=last, now_s=now_s)
    return report_from_journal(
        journal,
        start_s=None if PERIODS[period] is None else start,
        end_s=end,
        positions=positions,
        settings=settings,
    )


# --------------------------------------------------------------------------- CSV


def write_csv(report: AlarmReport, path: str | Path) -> list[Path]:
    """Write one CSV per table next to ``path``; return the files written.

    ``report.csv`` becomes ``report_summary.csv``, ``report_rates.csv``,
    ``report_per_10min.csv``, ``report_floods.csv``, ``report_bad_actors.csv``,
    ``report_chattering.csv``, ``report_stale.csv`` and ``report_priorities.csv``, each
    written atomically.
    """
    base = Path(path)
    stem = base.stem if base.suffix.lower() == ".csv" else base.name
    out = []
    for name, table in report.tables().items():
        target = base.with_name(f"{stem}_{name}.csv")
        buf = io.StringIO()
        table.to_csv(buf, index=False, float_format="%.6g")
        atomic_write_text(target, buf.getvalue())
        out.append(target)
    return out
