"""Flat simulation records: tuples in lists during the run, pandas DataFrames at the end.

Tables (one row per ...):

``steps``
    lot step: lot, product, step (1-based), group, tool, queue_enter_s, start_s, end_s,
    transport_s, wafers, job (batch id), outcome (0 ok, 1 rework, 2 scrap). Lots still in
    the fab at the end have NaN ``end_s`` (and NaN ``start_s`` if still waiting).
``states``
    tool state interval: tool, state (E10 value), substate, start_s, end_s.
``wip``
    WIP change: time_s, delta (+1 release, -1 exit or scrap), product.
``lots``
    lot: lot, product, wafers, priority, release_s, exit_s (NaN if still in the fab),
    scrapped, initial (was initial WIP), due_s.
``qtime``
    queue-time violation: lot, product, from_step, to_step, time_s, excess_s.

For long runs a :class:`Recorder` with ``spill_dir`` writes full chunks of the two big tables
(steps, states) to Parquet files as it goes, so memory stays bounded; :meth:`Recorder.frames`
reads them back.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

STEP_COLUMNS = [
    "lot", "product", "step", "group", "tool", "queue_enter_s", "start_s", "end_s",
    "transport_s", "wafers", "job", "outcome",
]  # fmt: skip
STATE_RAW_COLUMNS = ["tool", "state", "substate", "start_s"]
WIP_COLUMNS = ["time_s", "delta", "product"]
LOT_COLUMNS = [
    "lot", "product", "wafers", "priority", "release_s", "exit_s", "scrapped", "initial", "due_s",
]  # fmt: skip
QTIME_COLUMNS = ["lot", "product", "from_step", "to_step", "time_s", "excess_s"]


class _SpillList(list):  # type: ignore[type-arg]
    """A list that asks its recorder to spill when it grows past the chunk size."""

    __slots__ = ("limit", "owner", "table")

    def __init__(self, owner: Recorder, table: str, limit: int) -> None:
        super().__init__()
        self.owner, self.table, self.limit = owner, table, limit

    def append(self, row: Any) -> None:
        super().append(row)
        if len(self) >= self.limit:
            self.owner.spill(self.table)


class Recorder:
    """Collects the records of one run.

    Parameters
    ----------
    spill_dir
        If given, full chunks of ``steps`` and ``states`` go to Parquet files there.
    chunk_rows
        Rows per chunk when spilling.
    """

    def __init__(self, spill_dir: str | Path | None = None, chunk_rows: int = 500_000) -> None:
        self.spill_dir = Path(spill_dir) if spill_dir is not None else None
        self._chunks: dict[str, list[Path]] = {"steps": [], "states": []}
        if self.spill_dir is not None:
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            self.steps: list[tuple[Any, ...]] = _SpillList(self, "steps", chunk_rows)
            self._state_rows: list[tuple[Any, ...]] = _SpillList(self, "states", chunk_rows)
        else:
            self.steps = []
            self._state_rows = []
        self.wip: list[tuple[Any, ...]] = []
        self.lots: list[tuple[Any, ...]] = []
        self.qtime: list[tuple[Any, ...]] = []
        self.end_s = math.nan

    def state(self, tool: str, state: Any, substate: str, t: float) -> None:
        """Record a tool entering a state."""
        self._state_rows.append((tool, state, substate, t))

    @property
    def states(self) -> list[tuple[Any, ...]]:
        """Raw state-change rows (tool, state, substate, start_s)."""
        return self._state_rows

    def spill(self, table: str) -> None:
        """Write the rows of ``table`` held in memory to a new Parquet chunk."""
        assert self.spill_dir is not None
        rows = self.steps if table == "steps" else self._state_rows
        if not rows:
            return
        df = self._frame(table, list(rows))
        path = self.spill_dir / f"{table}-{len(self._chunks[table]):05d}.parquet"
        df.to_parquet(path, index=False)
        self._chunks[table].append(path)
        del rows[:]
        logger.debug("spilled %d %s rows to %s", len(df), table, path)

    @staticmethod
    def _frame(table: str, rows: list[tuple[Any, ...]]) -> pd.DataFrame:
        if table == "steps":
            return pd.DataFrame(rows, columns=STEP_COLUMNS)
        df = pd.DataFrame(rows, columns=STATE_RAW_COLUMNS)
        df["state"] = df["state"].map(lambda v: getattr(v, "value", v)).astype(str)
        return df

    def _table(self, table: str) -> pd.DataFrame:
        rows = self.steps if table == "steps" else self._state_rows
        parts = [pd.read_parquet(p) for p in self._chunks[table]]
        parts.append(self._frame(table, list(rows)))
        parts = [p for p in parts if len(p)] or parts[-1:]
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    def frames(self) -> dict[str, pd.DataFrame]:
        """Return every table as a DataFrame (reads spilled chunks back)."""
        end = self.end_s
        raw = self._table("states")
        raw = raw.sort_values(["tool", "start_s"], kind="stable")
        nxt = raw.groupby("tool", sort=False)["start_s"].shift(-1)
        states = raw.assign(end_s=nxt.fillna(end).to_numpy())
        states = states[states["end_s"] > states["start_s"]].reset_index(drop=True)
        states["state"] = states["state"].astype(str)
        return {
            "steps": self._table("steps"),
            "states": states,
            "wip": pd.DataFrame(self.wip, columns=WIP_COLUMNS),
            "lots": pd.DataFrame(self.lots, columns=LOT_COLUMNS),
            "qtime": pd.DataFrame(self.qtime, columns=QTIME_COLUMNS),
        }
