"""The alarm journal: every alarm transition, kept in a local SQLite file.

Searchable by time, tool, priority and text; exportable to CSV. The file lives in the
user data folder unless a path is given (tests give a temporary one).
"""

from __future__ import annotations

import concurrent.futures
import csv
import io
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from factory_twin.model.config import atomic_write_text
from factory_twin.model.events import PRIORITIES, AlarmEvent, priority_of, priority_rank

logger = logging.getLogger(__name__)

__all__ = [
    "PRIORITIES",
    "AlarmJournal",
    "JournalEntry",
    "default_journal_path",
    "priority_of",
    "priority_rank",
]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One row of the journal."""

    row_id: int
    logged_at: float
    time_s: float
    alarm_id: str
    equipment: str
    code: str
    severity: int
    priority: str
    state: str
    message: str
    user: str
    comment: str
    plant: str


_COLUMNS = (
    "row_id",
    "logged_at",
    "time_s",
    "alarm_id",
    "equipment",
    "code",
    "severity",
    "priority",
    "state",
    "message",
    "user",
    "comment",
    "plant",
)


def default_journal_path() -> Path:
    """Return the journal file in the user data folder."""
    import platformdirs

    return (
        Path(platformdirs.user_data_dir("factory_twin", appauthor=False)) / "alarm_journal.sqlite"
    )


class AlarmJournal:
    """A SQLite store of alarm transitions.

    Parameters
    ----------
    path
        The database file (created with its folder if missing).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_journal_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        # WAL with NORMAL sync: a commit does not wait for the disk (durable at checkpoints)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._writer = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="alarm-journal"
        )
        self._pending: list[concurrent.futures.Future[int]] = []
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS transitions ("
            " row_id INTEGER PRIMARY KEY AUTOINCREMENT, logged_at REAL, time_s REAL,"
            " alarm_id TEXT, equipment TEXT, code TEXT, severity INTEGER, priority TEXT,"
            " state TEXT, message TEXT, user TEXT, comment TEXT, plant TEXT)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS ix_time ON transitions(time_s)")
        self._db.execute("CREATE INDEX IF NOT EXISTS ix_tool ON transitions(equipment)")
        self._db.commit()

    def record(self, events: Iterable[AlarmEvent], *, plant: str = "") -> int:
        """Store transitions; return how many were written."""
        now = time.time()
        rows = [
            (
                now,
                ev.time_s,
                ev.alarm_id,
                ev.equipment,
                ev.code,
                int(ev.severity),
                priority_of(ev.severity),
                ev.state.value,
                ev.message,
                ev.user,
                ev.comment,
                plant,
            )
            for ev in events
        ]
        if not rows:
            return 0
        with self._lock:
            self._db.executemany(
                "INSERT INTO transitions (logged_at, time_s, alarm_id, equipment, code, severity,"
                " priority, state, message, user, comment, plant) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            self._db.commit()
        return len(rows)

    def record_async(
        self, events: Iterable[AlarmEvent], *, plant: str = ""
    ) -> concurrent.futures.Future[int]:
        """Store transitions on the journal's writer thread (the GUI never waits on disk)."""
        evs = list(events)
        fut = self._writer.submit(self.record, evs, plant=plant)
        self._pending = [f for f in self._pending if not f.done()] + [fut]
        return fut

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every :meth:`record_async` write is stored."""
        for f in list(self._pending):
            f.result(timeout=timeout_s)
        self._pending.clear()

    def search(
        self,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
        equipment: str | None = None,
        priorities: Sequence[str] | None = None,
        text: str | None = None,
        limit: int = 10_000,
    ) -> list[JournalEntry]:
        """Return matching transitions, newest first.

        Parameters
        ----------
        start_s, end_s
            Bounds on the alarm time (plant clock, inclusive).
        equipment
            Tool id (substring match, case-insensitive).
        priorities
            Keep only these priorities (``critical``, ``high``, ``medium``, ``low``).
        text
            Substring of the message, code or comment (case-insensitive).
        """
        self.flush()
        where: list[str] = []
        args: list[object] = []
        if start_s is not None:
            where.append("time_s >= ?")
            args.append(start_s)
        if end_s is not None:
            where.append("time_s <= ?")
            args.append(end_s)
        if equipment:
            where.append("LOWER(equipment) LIKE ?")
            args.append(f"%{equipment.lower()}%")
        if priorities:
            where.append(f"priority IN ({','.join('?' * len(priorities))})")
            args.extend(priorities)
        if text:
            where.append("(LOWER(message) LIKE ? OR LOWER(code) LIKE ? OR LOWER(comment) LIKE ?)")
            args.extend([f"%{text.lower()}%"] * 3)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM transitions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time_s DESC, row_id DESC LIMIT ?"
        args.append(int(limit))
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [JournalEntry(*r) for r in rows]

    def count(self) -> int:
        """Return the number of stored transitions."""
        self.flush()
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM transitions").fetchone()[0])

    def export_csv(self, path: str | Path, entries: Sequence[JournalEntry] | None = None) -> Path:
        """Write entries (default: all) to a CSV file atomically; return the path."""
        if entries is None:
            entries = self.search(limit=10_000_000)
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(_COLUMNS)
        for e in entries:
            w.writerow([getattr(e, c) for c in _COLUMNS])
        atomic_write_text(path, buf.getvalue())
        return Path(path)

    def close(self) -> None:
        """Store pending writes and close the database."""
        try:
            self.flush()
        finally:
            self._writer.shutdown(wait=True)
        with self._lock:
            self._db.close()
