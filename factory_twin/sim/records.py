"""Flat simulation records: tuples in lists during the run, pandas DataFrames at the end.

Tables (one row per ...):

``steps``
    lot step: lot, product, step (1-based), group, tool, queue_enter_s, start_s, end_s,
    transport_s, wafers, job (batch id), outcome (0 ok, 1 rework, 2 scrap). Lots still in
    the fab at the end have NaN ``end_s`` (and NaN ``start_s`` if still waiting).
``states``
    tool state interval: tool, state (E10 value), substate, start_s, end_s (recorded when the
    interval ends; :meth:`FabModel.finalize` closes the open ones).
``wip``
    WIP change: time_s, delta (+1 release, -1 exit or scrap), product.
``lots``
    lot: lot, product, wafers, priority, release_s, exit_s (NaN if still in the fab),
    scrapped, initial (was initial WIP), due_s.
``qtime``
    queue-time violation: lot, product, from_step, to_step, time_s, excess_s.

For long runs a :class:`Recorder` with ``spill_dir`` writes full chunks of the two big tables
(steps, states) to Parquet files as it goes, so memory stays bounded; :meth:`Recorder.frames`
reads them back whole, :meth:`Recorder.iter_chunks` and :func:`iter_parquet` one chunk at a
time (the KPI pass, :func:`factory_twin.sim.kpi.compute_kpis_chunked`).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

STEP_COLUMNS = [
    "lot", "product", "step", "group", "tool", "queue_enter_s", "start_s", "end_s",
    "transport_s", "wafers", "job", "outcome",
]  # fmt: skip
STATE_COLUMNS = ["tool", "state", "substate", "start_s", "end_s"]
WIP_COLUMNS = ["time_s", "delta", "product"]
LOT_COLUMNS = [
    "lot", "product", "wafers", "priority", "release_s", "exit_s", "scrapped", "initial", "due_s",
]  # fmt: skip
QTIME_COLUMNS = ["lot", "product", "from_step", "to_step", "time_s", "excess_s"]
COLUMNS = {
    "steps": STEP_COLUMNS,
    "states": STATE_COLUMNS,
    "wip": WIP_COLUMNS,
    "lots": LOT_COLUMNS,
    "qtime": QTIME_COLUMNS,
}
# the columns KPIs need from the two big tables (strings read back as categoricals)
KPI_COLUMNS = {
    "steps": ["group", "queue_enter_s", "start_s", "end_s", "outcome"],
    "states": STATE_COLUMNS,
}
_SPILLED = ("steps", "states")
# Arrow types of the spilled tables: chunks go straight from row tuples to Arrow columns
# (no pandas object arrays in between), with one schema whatever a chunk's values are
_ARROW_TYPES = {
    "steps": ("string", "string", "int64", "string", "string", "float64", "float64", "float64",
              "float64", "int64", "int64", "int64"),
    "states": ("string", "string", "string", "float64", "float64"),
}  # fmt: skip
_STRINGS = ("group", "tool", "state", "substate")
DEFAULT_CHUNK_ROWS = 200_000


class Recorder:
    """Collects the records of one run.

    Parameters
    ----------
    spill_dir
        If given, full chunks of ``steps`` and ``states`` go to Parquet files there.
    chunk_rows
        Rows per chunk when spilling: at most this many rows of each of the two big tables
        are held in memory at once.
    sink
        Instead of Parquet files, full chunks go to ``sink(table, rows)`` (which must not
        keep ``rows``: the list is emptied afterwards), e.g. a KPI accumulator when only
        the statistics are wanted; :meth:`flush` sends the last, partial chunks.
    """

    def __init__(
        self,
        spill_dir: str | Path | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        sink: Callable[[str, list[tuple[Any, ...]]], None] | None = None,
    ) -> None:
        if chunk_rows < 1:
            msg = f"chunk_rows must be at least 1, got {chunk_rows}"
            raise ValueError(msg)
        self.spill_dir = Path(spill_dir) if spill_dir is not None else None
        self.chunk_rows = chunk_rows
        self._chunks: dict[str, list[Path]] = {"steps": [], "states": []}
        self._spill_peak = {"steps": 0, "states": 0}
        self.sink = sink
        # Rows are appended to plain lists (the model's hottest call stays a C call); whoever
        # appends to ``steps`` or ``states`` calls :meth:`spill` once a list reaches
        # ``spill_at`` rows (infinite when nothing is spilled).
        self.spill_at: float = math.inf
        if self.spill_dir is not None or sink is not None:
            if self.spill_dir is not None:
                self.spill_dir.mkdir(parents=True, exist_ok=True)
            self.spill_at = chunk_rows
        self.steps: list[tuple[Any, ...]] = []
        self.states: list[tuple[Any, ...]] = []
        self.wip: list[tuple[Any, ...]] = []
        self.lots: list[tuple[Any, ...]] = []
        self.qtime: list[tuple[Any, ...]] = []
        self.end_s = math.nan

    def _rows(self, table: str) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = getattr(self, table)
        return rows

    def spill(self, table: str) -> None:
        """Write the rows of ``table`` held in memory to a new Parquet chunk (or the sink)."""
        rows = self._rows(table)
        if not rows:
            return
        self._spill_peak[table] = max(self._spill_peak[table], len(rows))
        if self.sink is not None:
            self.sink(table, rows)
            del rows[:]
            return
        assert self.spill_dir is not None
        import pyarrow.parquet as pq

        path = self.spill_dir / f"{table}-{len(self._chunks[table]):05d}.parquet"
        pq.write_table(_arrow_table(table, rows), path)
        self._chunks[table].append(path)
        n = len(rows)
        del rows[:]
        logger.debug("spilled %d %s rows to %s", n, table, path)

    def flush(self) -> None:
        """Send the rows of ``steps`` and ``states`` still held to the sink (if any)."""
        if self.sink is not None:
            for name in _SPILLED:
                self.spill(name)

    def peak_rows(self, table: str) -> int:
        """Most rows of ``table`` held in memory at once so far.

        Rows only grow by appends and only leave by :meth:`spill`, so the peak is the
        largest count seen at a spill or now.
        """
        return max(self._spill_peak.get(table, 0), len(self._rows(table)))

    def iter_chunks(
        self, table: str, columns: list[str] | None = None, rows: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """Yield ``steps`` or ``states`` as DataFrames of at most ``rows`` rows each.

        With ``spill_dir`` the rows still in memory are spilled first and every chunk is
        read back from its Parquet file (only ``columns``; strings as categoricals), so at
        most one chunk is in memory; otherwise the rows in memory are one chunk.

        Parameters
        ----------
        table
            ``steps`` or ``states``.
        columns
            Columns to read (all if None).
        rows
            Rows per chunk read back (``chunk_rows`` if None).
        """
        cols = columns if columns is not None else COLUMNS[table]
        if self.spill_dir is None:
            df = pd.DataFrame(list(self._rows(table)), columns=COLUMNS[table])
            yield df[cols]
            return
        self.spill(table)
        for path in self._chunks[table]:
            yield from iter_parquet(path, cols, rows or self.chunk_rows)

    def keep_chunks(self) -> dict[str, list[Path]]:
        """Spill what is still in memory and hand over every chunk file of ``steps`` and
        ``states``: the recorder forgets them, so :meth:`discard_chunks` leaves them alone."""
        out: dict[str, list[Path]] = {}
        for name in _SPILLED:
            self.spill(name)
            out[name], self._chunks[name] = self._chunks[name], []
        return out

    def discard_chunks(self) -> None:
        """Delete the spilled chunk files (and ``spill_dir`` if it is left empty)."""
        for name in _SPILLED:
            for chunk in self._chunks[name]:
                chunk.unlink(missing_ok=True)
            self._chunks[name] = []
        if (
            self.spill_dir is not None
            and self.spill_dir.exists()
            and not any(self.spill_dir.iterdir())
        ):
            self.spill_dir.rmdir()

    def frame(self, table: str) -> pd.DataFrame:
        """Return one table as a DataFrame (reading spilled chunks back)."""
        rows = self._rows(table)
        df = pd.DataFrame(list(rows), columns=COLUMNS[table])
        chunks = self._chunks.get(table, [])
        if not chunks:
            return df
        parts = [pd.read_parquet(p) for p in chunks]
        if len(df):
            parts.append(df)
        return pd.concat(parts, ignore_index=True)

    def frames(self) -> dict[str, pd.DataFrame]:
        """Return every table as a DataFrame (reads spilled chunks back)."""
        return {name: self.frame(name) for name in COLUMNS}

    def write_parquet(self, directory: str | Path) -> dict[str, Path]:
        """Write every table to ``directory/<table>.parquet``, chunk by chunk (bounded memory).

        Spilled chunk files are removed afterwards, and the rows of ``steps`` and ``states``
        leave memory (the recorder keeps only the small tables). Each file appears
        atomically.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name, cols in COLUMNS.items():
            path = out / f"{name}.parquet"
            tmp = path.with_name(f".{name}.parquet.tmp")
            writer: Any = None
            schema: Any = None
            try:
                sources: list[Any] = list(self._chunks.get(name, []))
                rows = self._rows(name)
                if rows or not sources:
                    sources.append(rows)
                for src in sources:
                    if isinstance(src, Path):
                        table = pq.read_table(src)
                    elif name in _ARROW_TYPES:
                        table = _arrow_table(name, src)
                    else:
                        df = pd.DataFrame(list(src), columns=cols)
                        table = pa.Table.from_pandas(df, preserve_index=False)
                    if writer is None:
                        schema = table.schema
                        writer = pq.ParquetWriter(tmp, schema)
                    writer.write_table(table.cast(schema))
            finally:
                if writer is not None:
                    writer.close()
            os.replace(tmp, path)
            paths[name] = path
        for name in _SPILLED:
            del self._rows(name)[:]
        self.discard_chunks()
        return paths


def _arrow_table(table: str, rows: list[tuple[Any, ...]]) -> Any:
    """The rows of a spilled table as a ``pyarrow.Table`` of its fixed schema."""
    import pyarrow as pa

    names = COLUMNS[table]
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    arrays = [
        pa.array(col, type=pa.type_for_alias(t))
        for col, t in zip(columns, _ARROW_TYPES[table], strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=names)


def read_frames(
    paths: Mapping[str, Path | str], *, kpi_only: bool = False
) -> dict[str, pd.DataFrame]:
    """Read tables written by :meth:`Recorder.write_parquet`.

    With ``kpi_only`` the two big tables keep only the columns KPIs need, strings as
    categoricals, so a long run's KPIs fit in memory.
    """
    import pyarrow.parquet as pq

    out = {}
    for name, path in paths.items():
        if kpi_only and name in KPI_COLUMNS:
            cols = KPI_COLUMNS[name]
            strings = [c for c in cols if c in _STRINGS]
            out[name] = pq.read_table(path, columns=cols, read_dictionary=strings).to_pandas()
        else:
            out[name] = pd.read_parquet(path)
    return out


def iter_parquet(
    path: str | Path, columns: list[str], rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Yield ``columns`` of a Parquet table as DataFrames of at most ``rows`` rows each.

    String columns come back as categoricals; pyarrow reads one row group at a time, so
    memory is bounded by the chunk and the file's row groups (the recorder writes one row
    group per spilled chunk).
    """
    import pyarrow.parquet as pq

    strings = [c for c in columns if c in _STRINGS]
    with pq.ParquetFile(path, read_dictionary=strings) as f:
        n = 0
        for batch in f.iter_batches(batch_size=rows, columns=columns):
            n += 1
            yield batch.to_pandas()
        if n == 0:  # an empty table still has its columns
            yield f.schema_arrow.empty_table().select(columns).to_pandas()
