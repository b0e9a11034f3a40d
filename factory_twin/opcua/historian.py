"""The historian: plant events to Parquet and back.

:class:`HistoryWriter` appends plant events (tag updates, alarms, connection changes, and
also state changes and lot moves) to a Parquet file in row groups, so memory stays bounded
however long the recording. While recording, every flushed group goes to ``<name>.partial``
as one record batch of an Arrow IPC stream, written through to the operating system at once;
:meth:`HistoryWriter.close` turns the stream into the Parquet file (written to a temporary
name and renamed), so the final file is always a complete, readable Parquet file. It flushes
a group whenever a connection drops and at least every ``flush_s`` seconds, and ``close``
runs on every exit path of ``factory-twin record`` (end of duration, Ctrl-C, SIGTERM, error).
A recording killed outright (SIGKILL, power loss of the process) leaves the ``.partial``:
its complete batches stay readable (:func:`read_history` and :func:`iter_events` read a
``.partial`` directly) and :func:`recover_partial` turns them into a Parquet file; a new
:class:`HistoryWriter` on the same path does that first, so nothing recorded is lost.

:func:`read_history` returns the file as a pandas DataFrame (one row per event, a ``value``
column holding each tag value with its own type); :func:`iter_events` yields the events
back as :mod:`factory_twin.model.events` records in time order, for replay.

Row layout (every column nullable): ``kind`` (tag, alarm, connection, state, lot),
``time_s`` (source timestamp / event time, POSIX seconds), ``received_s`` (when the
recorder got it), ``equipment``, ``tag`` (tag name, alarm code, or substate),
``vtype`` + ``value_f`` / ``value_i`` / ``value_s`` (the value), ``quality``, ``status``,
``server_ts``, alarm fields (``alarm_id``, ``severity``, ``message``, ``active``, ``acked``,
``user``, ``comment``, ``event_id``, ``shelving``, ``unshelve_s``, ``out_of_service``),
connection fields (``endpoint``, ``connected``, ``gap_s``), lot fields (``lot``, ``product``, ``to_equipment``, ``arrive_s``, ``step``).

OHT vehicles (tag updates of the equipment ids ``VEHICLE_PREFIX + "OHT-001"`` ...) are kept
like any tag, but their positions are thinned (:class:`VehicleThinning`): at most one ``x``/``y``
pair per vehicle every ``vehicle_period_s`` (default 1 s of source time), always ending on the
vehicle's latest position, and every ``state``/``carrier`` change with the position it happened
at. A fleet of 100 vehicles then writes at most 200 position rows a second (720,000 an hour)
plus its state changes, whatever the server's sampling rate. The rail congestion arrays a
simulator publishes (``RAIL_EQUIPMENT``, one value per rail link, stored as JSON arrays,
vtype ``a``) are kept at most once a minute (:data:`RAIL_PERIOD_S`), the newest each time.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from factory_twin.errors import FactoryTwinError
from factory_twin.model.config import keep_backup
from factory_twin.model.events import (
    RAIL_EQUIPMENT,
    VEHICLE_PREFIX,
    AlarmEvent,
    ConnectionStatus,
    E10State,
    LotMove,
    PlantEvent,
    Quality,
    ShelvingState,
    StateChange,
    TagUpdate,
)

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("time_s", pa.float64()),
        ("received_s", pa.float64()),
        ("equipment", pa.string()),
        ("tag", pa.string()),
        ("vtype", pa.string()),  # f float, i int, b bool, s str, a array (JSON), n none, o other
        ("value_f", pa.float64()),
        ("value_i", pa.int64()),
        ("value_s", pa.string()),
        ("quality", pa.string()),
        ("status", pa.string()),
        ("server_ts", pa.float64()),
        ("alarm_id", pa.string()),
        ("severity", pa.int32()),
        ("message", pa.string()),
        ("active", pa.bool_()),
        ("acked", pa.bool_()),
        ("user", pa.string()),
        ("comment", pa.string()),
        ("event_id", pa.binary()),
        ("shelving", pa.string()),
        ("unshelve_s", pa.float64()),
        ("out_of_service", pa.bool_()),
        ("endpoint", pa.string()),
        ("connected", pa.bool_()),
        ("gap_s", pa.float64()),
        ("lot", pa.string()),
        ("product", pa.string()),
        ("to_equipment", pa.string()),
        ("arrive_s", pa.float64()),
        ("step", pa.int32()),
    ]
)
_COLUMNS = SCHEMA.names
FORMAT_KEY = b"factory_twin.history"
FORMAT_VERSION = b"2"  # 2 added the alarm suppression columns; version 1 files read as unshelved
_META = {FORMAT_KEY: FORMAT_VERSION}


def _row(ev: PlantEvent, received: float) -> dict[str, Any] | None:
    if isinstance(ev, TagUpdate):
        r: dict[str, Any] = {
            "kind": "tag",
            "time_s": ev.source_ts,
            "equipment": ev.equipment,
            "tag": ev.tag,
            "quality": ev.quality.value,
            "status": ev.status,
            "server_ts": ev.server_ts,
        }
        v = ev.value
        if v is None:
            r["vtype"] = "n"
        elif isinstance(v, bool):
            r["vtype"], r["value_i"] = "b", int(v)
        elif isinstance(v, int) and -(2**63) <= v < 2**63:
            r["vtype"], r["value_i"] = "i", v
        elif isinstance(v, float):
            r["vtype"], r["value_f"] = "f", v
        elif isinstance(v, str):
            r["vtype"], r["value_s"] = "s", v
        elif isinstance(v, tuple | list) and all(
            isinstance(x, str | int | float) and not isinstance(x, bool) for x in v
        ):
            r["vtype"], r["value_s"] = "a", json.dumps(list(v))  # an array tag, e.g. per rail link
        else:
            r["vtype"], r["value_s"] = "o", str(v)
    elif isinstance(ev, AlarmEvent):
        r = {
            "kind": "alarm",
            "time_s": ev.time_s,
            "equipment": ev.equipment,
            "tag": ev.code,
            "alarm_id": ev.alarm_id,
            "severity": ev.severity,
            "message": ev.message,
            "active": ev.active,
            "acked": ev.acked,
            "user": ev.user,
            "comment": ev.comment,
            "event_id": ev.event_id,
            "shelving": ev.shelving.value,
            "unshelve_s": ev.unshelve_time_s,
            "out_of_service": ev.out_of_service,
        }
    elif isinstance(ev, ConnectionStatus):
        r = {
            "kind": "connection",
            "time_s": ev.time_s or received,
            "endpoint": ev.endpoint,
            "connected": ev.connected,
            "message": ev.message,
            "gap_s": ev.gap_s,
        }
    elif isinstance(ev, StateChange):
        r = {
            "kind": "state",
            "time_s": ev.time_s,
            "equipment": ev.equipment,
            "tag": ev.substate,
            "vtype": "s",
            "value_s": ev.state.value,
        }
    elif isinstance(ev, LotMove):
        r = {
            "kind": "lot",
            "time_s": ev.depart_s,
            "equipment": ev.from_equipment,
            "to_equipment": ev.to_equipment,
            "lot": ev.lot,
            "product": ev.product,
            "arrive_s": ev.arrive_s,
            "step": ev.step,
        }
    else:
        return None
    r["received_s"] = received
    return r


RAIL_PERIOD_S = 60.0  # seconds between two kept rail congestion arrays


class VehicleThinning:
    """Thin the position updates of OHT vehicles to one ``x``/``y`` pair per ``period_s``.

    :meth:`take` passes every event through except a vehicle's ``x``/``y`` updates that come
    less than ``period_s`` (source time) after the vehicle's last kept position; those are
    held, the newest per coordinate, and let out when the vehicle's period is over (judged by
    the newest source time seen on any tag), when the vehicle changes state or carrier (so a
    pick-up or set-down is recorded where it happened), or at :meth:`release`. A vehicle that
    stops is therefore recorded at its stopping place within one period. Updates that are not
    good (stale marks of a lost connection) pass at once. ``period_s`` 0 keeps everything.
    """

    def __init__(self, period_s: float = 1.0) -> None:
        self.period_s = max(float(period_s), 0.0)
        self.kept_s: dict[str, float] = {}  # vehicle -> source time of its last kept position
        self.held: dict[str, dict[str, TagUpdate]] = {}  # vehicle -> tag -> newest held update
        self.clock_s = -math.inf  # newest source time seen
        self.dropped = 0  # position updates replaced by a newer one before they were kept

    def take(self, events: Iterable[PlantEvent]) -> list[PlantEvent]:
        """Return the events to write now, in order."""
        if self.period_s <= 0:
            return list(events)
        out: list[PlantEvent] = []
        for ev in events:
            if not isinstance(ev, TagUpdate):
                out.append(ev)
                continue
            t = ev.source_ts
            if t > self.clock_s:
                self.clock_s = t
            eq = ev.equipment
            if not eq.startswith(VEHICLE_PREFIX) or ev.quality is not Quality.GOOD:
                out.append(ev)
                continue
            if eq == RAIL_EQUIPMENT:
                self._rails(ev, out)
                continue
            if ev.tag not in ("x", "y"):
                self._let_out(eq, out)  # the place of a state change
                out.append(ev)
                continue
            kept = self.kept_s.get(eq)
            if kept is None or t >= kept + self.period_s or t == kept:
                held = self.held.get(eq)
                if held is not None:
                    old = held.pop(ev.tag, None)
                    self.dropped += old is not None
                self.kept_s[eq] = t
                out.append(ev)
            else:
                held = self.held.setdefault(eq, {})
                self.dropped += ev.tag in held
                held[ev.tag] = ev
        self._due(out)
        return out

    def _rails(self, ev: TagUpdate, out: list[PlantEvent]) -> None:
        """Keep one set of rail congestion values a minute: the first, then the newest."""
        key = f"{RAIL_EQUIPMENT}/{ev.tag}"
        kept = self.kept_s.get(key)
        t = ev.source_ts
        if kept is None or t >= kept + RAIL_PERIOD_S:
            held = self.held.get(key)
            if held:
                self.dropped += len(held)
                held.clear()
            self.kept_s[key] = t
            out.append(ev)
        else:
            held = self.held.setdefault(key, {})
            self.dropped += ev.tag in held
            held[ev.tag] = ev

    def _let_out(self, eq: str, out: list[PlantEvent]) -> None:
        held = self.held.pop(eq, None)
        if held:
            evs = sorted(held.values(), key=lambda e: e.source_ts)
            out.extend(evs)
            self.kept_s[eq] = max(self.kept_s.get(eq, -math.inf), evs[-1].source_ts)

    def _due(self, out: list[PlantEvent]) -> None:
        """Let out what vehicles held whose period is over on the clock."""
        for eq in [e for e, h in self.held.items() if h]:
            period = RAIL_PERIOD_S if eq.startswith(RAIL_EQUIPMENT) else self.period_s
            if self.clock_s >= self.kept_s.get(eq, -math.inf) + period:
                self._let_out(eq, out)

    def release(self) -> list[PlantEvent]:
        """Return everything held (at a flush or the end of the recording)."""
        out: list[PlantEvent] = []
        for eq in list(self.held):
            self._let_out(eq, out)
        return out


class HistoryWriter:
    """Append plant events to a Parquet file in row groups (bounded memory).

    Parameters
    ----------
    path
        The final file. Data goes to ``<path>.partial`` until :meth:`close`.
    rows_per_group
        Rows buffered before a row group is written.
    flush_s
        Also write a row group when this many seconds passed since the last one.
    vehicle_period_s
        Keep at most one position of each OHT vehicle per this many seconds
        (:class:`VehicleThinning`; 0 keeps every update).

    :meth:`add`, :meth:`flush` and :meth:`close` may be called from different threads (a
    simulator's listener adds while the window closes the recording): they take turns, and
    events added after :meth:`close` are dropped.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        rows_per_group: int = 20_000,
        flush_s: float = 10.0,
        vehicle_period_s: float = 1.0,
    ) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.rows_per_group = rows_per_group
        self.flush_s = flush_s
        self.rows_written = 0
        self.counts: dict[str, int] = {}
        self._buf: dict[str, list[Any]] = {c: [] for c in _COLUMNS}
        self._n = 0
        self._last_flush = time.monotonic()
        self._closed = False
        self._lock = threading.RLock()  # add -> flush, and close, from any thread
        self.vehicles = VehicleThinning(vehicle_period_s)
        self.backup: Path | None = None  # the file that was at ``path`` before (see close)
        if self.path.is_dir():  # refused now, not after a whole recording
            msg = f"cannot write history file {self.path}: is a folder, not a file"
            raise FactoryTwinError(msg)
        # A .partial left by a recording that was killed: keep what it holds before starting.
        self.recovered: Path | None = None
        if self.partial.exists():
            try:
                self.recovered = recover_partial(self.partial)
            except FactoryTwinError as exc:
                msg = f"{exc}; move it away or delete it to record to {self.path}"
                raise FactoryTwinError(msg) from exc
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._sink = pa.OSFile(str(self.partial), "wb")
            self._writer = pa.ipc.new_stream(self._sink, SCHEMA.with_metadata(_META))
        except OSError as exc:
            msg = f"cannot write history file {self.partial}: {exc.strerror or exc}"
            raise FactoryTwinError(msg) from exc

    def add(self, events: Iterable[PlantEvent], received_s: float | None = None) -> int:
        """Buffer events (writing a row group when due); return how many were taken (none
        once closed)."""
        with self._lock:
            if self._closed:
                return 0
            return self._add(events, received_s)

    def _add(self, events: Iterable[PlantEvent], received_s: float | None) -> int:
        received = time.time() if received_s is None else received_s
        n = 0
        lost = False
        for ev in self.vehicles.take(events):
            r = _row(ev, received)
            if r is None:
                continue
            for c in _COLUMNS:
                self._buf[c].append(r.get(c))
            self._n += 1
            n += 1
            self.counts[r["kind"]] = self.counts.get(r["kind"], 0) + 1
            if isinstance(ev, ConnectionStatus) and not ev.connected:
                lost = True
        if (
            lost
            or self._n >= self.rows_per_group
            or time.monotonic() - self._last_flush > self.flush_s
        ):
            self._flush()
        return n

    def flush(self) -> None:
        """Write the buffered rows (and the vehicle positions held back) as a row group."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        self._last_flush = time.monotonic()
        if self._closed:
            return
        for ev in self.vehicles.release():
            r = _row(ev, time.time())
            if r is not None:
                for c in _COLUMNS:
                    self._buf[c].append(r.get(c))
                self._n += 1
                self.counts["tag"] = self.counts.get("tag", 0) + 1
        if not self._n:
            return
        table = pa.Table.from_pydict(self._buf, schema=SCHEMA)
        self._writer.write_table(table)  # one record batch, one row group in the final file
        self._sink.flush()
        self.rows_written += self._n
        self._buf = {c: [] for c in _COLUMNS}
        self._n = 0

    def close(self) -> Path:
        """Flush, finish the file and move it to its final name; return that path.

        A file already at that name (an earlier recording) is kept as ``<name>.bak``
        (:attr:`backup`), so recording again to the same file never loses the last one.
        """
        with self._lock:
            if self._closed:
                return self.path
            self._flush()
            self._writer.close()
            self._sink.close()
            self._closed = True
        if self.path.is_file():
            try:
                self.backup = keep_backup(self.path)
            except OSError as exc:
                msg = (f"cannot keep the earlier {self.path} as .bak: {exc.strerror or exc}; "
                       f"this recording stays in {self.partial}")  # fmt: skip
                raise FactoryTwinError(msg) from exc
        try:
            _stream_to_parquet(self.partial, self.path)
        except FactoryTwinError as exc:
            msg = f"{exc}; this recording stays in {self.partial}"
            raise FactoryTwinError(msg) from exc
        self.partial.unlink()
        logger.info("history: %d rows in %s", self.rows_written, self.path)
        return self.path

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_stream(path: Path) -> tuple[pa.Schema | None, list[pa.RecordBatch], bool]:
    """The complete record batches of an IPC stream (a ``.partial``), and whether it was cut.

    A recording killed while writing leaves at most its last batch incomplete: reading stops
    there. A stream cut before its schema has no batches (schema None).
    """
    batches: list[pa.RecordBatch] = []
    try:
        reader = pa.ipc.open_stream(pa.memory_map(str(path)))
    except (pa.ArrowInvalid, OSError, ValueError):
        return None, batches, True
    cut = False
    while True:
        try:
            batches.append(reader.read_next_batch())
        except StopIteration:
            break
        except (pa.ArrowInvalid, OSError, ValueError):
            cut = True
            break
    return reader.schema, batches, cut


def _stream_to_parquet(src: Path, dst: Path) -> int:
    """Write the complete batches of the stream ``src`` to the Parquet file ``dst``, atomically.

    Each batch becomes a row group; the file goes to a temporary name first and is renamed,
    so ``dst`` is either absent or complete. Returns the rows written.
    """
    schema, batches, _ = _read_stream(src)
    if schema is None:
        msg = f"{src}: not a factory_twin recording in progress (no readable stream header)"
        raise FactoryTwinError(msg)
    tmp = dst.with_name(dst.name + ".tmp")
    try:
        with pq.ParquetWriter(tmp, SCHEMA.with_metadata(_META), compression="zstd") as w:
            for b in batches:
                w.write_table(pa.Table.from_batches([b], schema=schema))
        os.replace(tmp, dst)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        msg = f"cannot write history file {dst}: {exc.strerror or exc}"
        raise FactoryTwinError(msg) from exc
    return sum(b.num_rows for b in batches)


def recover_partial(partial: str | Path, out: str | Path | None = None) -> Path | None:
    """Turn what a killed recording left in ``partial`` into a Parquet history file.

    Writes ``out`` (default: ``<name>.recovered-<time the recording last wrote>.parquet``
    beside it) and removes the ``.partial`` once that file is complete; returns the file, or
    None if the recording had written nothing (the empty ``.partial`` is removed). Raises
    FactoryTwinError if ``partial`` is not a recording's stream (it is left untouched).
    """
    src = Path(partial)
    if not src.is_file():
        msg = f"{src}: no such file"
        raise FactoryTwinError(msg)
    if src.stat().st_size == 0:  # killed before it wrote anything
        src.unlink()
        return None
    if out is None:
        final = src.name[: -len(".partial")] if src.name.endswith(".partial") else src.name
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(src.stat().st_mtime))
        out = src.with_name(f"{Path(final).stem}.recovered-{stamp}.parquet")
    dst = Path(out)
    rows = _stream_to_parquet(src, dst)
    src.unlink()
    logger.warning("history: recovered %d rows of an unfinished recording into %s", rows, dst)
    return dst


def _read_table(path: str | Path) -> pa.Table:
    """A history file's rows: a Parquet file, or the complete batches of a ``.partial``."""
    p = Path(path)
    if p.name.endswith(".partial") and p.is_file():
        schema, batches, cut = _read_stream(p)
        if schema is None:
            msg = f"{p}: an unfinished recording with nothing readable in it"
            raise FactoryTwinError(msg)
        if cut:
            logger.warning(
                "%s: an unfinished recording; read its %d complete groups", p, len(batches)
            )
        return pa.Table.from_batches(batches, schema=schema)
    return _open(p).read()


def _open(path: str | Path) -> pq.ParquetFile:
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: no such history file"
        raise FactoryTwinError(msg)
    try:
        f = pq.ParquetFile(p)
    except Exception as exc:
        msg = f"{p}: not a Parquet file ({exc})"
        raise FactoryTwinError(msg) from exc
    meta = f.schema_arrow.metadata or {}
    if FORMAT_KEY not in meta:
        msg = f"{p}: a Parquet file, but not a factory_twin history (no {FORMAT_KEY.decode()} tag)"
        raise FactoryTwinError(msg)
    return f


def _value(vtype: str | None, f: Any, i: Any, s: Any) -> Any:
    if vtype == "f":
        return f
    if vtype == "i":
        return None if i is None else int(i)
    if vtype == "b":
        return None if i is None else bool(i)
    if vtype in ("s", "o"):
        return s
    if vtype == "a":
        return None if s is None else tuple(json.loads(s))
    return None


def read_history(path: str | Path) -> pd.DataFrame:
    """Return a history file as a DataFrame, one row per event, in recording order.

    A ``value`` column (object dtype) holds each tag value with its own type (float, int,
    bool, str or None), rebuilt from ``vtype``/``value_f``/``value_i``/``value_s``.
    """
    df = _read_table(path).to_pandas()
    df["value"] = [
        _value(v, f, i, s)
        for v, f, i, s in zip(
            df["vtype"], df["value_f"], df["value_i"], df["value_s"], strict=True
        )
    ]
    for col in ("value_i",):
        df[col] = df[col].astype("Int64")
    return df


def _nan(x: Any) -> Any:
    return None if x is None or (isinstance(x, float) and x != x) else x


def iter_events(path: str | Path) -> Iterator[PlantEvent]:
    """Yield the events of a history file as plant records, ordered by time (stable)."""
    table = _read_table(path)
    have = set(table.column_names)  # an older file lacks the columns added since
    cols: dict[str, list[Any]] = {
        c: table.column(c).to_pylist() if c in have else [None] * table.num_rows for c in _COLUMNS
    }
    order = sorted(range(table.num_rows), key=lambda k: cols["time_s"][k] or 0.0)
    for k in order:
        c = {name: cols[name][k] for name in _COLUMNS}
        kind = c["kind"]
        if kind == "tag":
            yield TagUpdate(
                c["equipment"],
                c["tag"],
                _value(c["vtype"], c["value_f"], c["value_i"], c["value_s"]),
                c["time_s"],
                Quality(c["quality"] or "good"),
                _nan(c["server_ts"]),
                c["status"] or "Good",
            )
        elif kind == "alarm":
            yield AlarmEvent(
                alarm_id=c["alarm_id"] or "",
                equipment=c["equipment"] or "",
                code=c["tag"] or "",
                severity=int(c["severity"] or 0),
                message=c["message"] or "",
                time_s=c["time_s"],
                active=bool(c["active"]),
                acked=bool(c["acked"]),
                user=c["user"] or "",
                comment=c["comment"] or "",
                event_id=c["event_id"] or b"",
                shelving=ShelvingState(c["shelving"] or ShelvingState.UNSHELVED.value),
                unshelve_time_s=float(c["unshelve_s"] or 0.0),
                out_of_service=bool(c["out_of_service"]),
            )
        elif kind == "connection":
            yield ConnectionStatus(
                c["endpoint"] or "",
                bool(c["connected"]),
                c["message"] or "",
                c["time_s"],
                _nan(c["gap_s"]),
            )
        elif kind == "state":
            yield StateChange(c["equipment"], E10State(c["value_s"]), c["time_s"], c["tag"] or "")
        elif kind == "lot":
            yield LotMove(
                c["lot"],
                c["product"] or "",
                c["equipment"],
                c["to_equipment"],
                c["time_s"],
                c["arrive_s"],
                int(c["step"] or 0),
            )
