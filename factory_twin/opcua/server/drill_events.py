"""The drill server's event log: its drill events and alarm transitions, numbered, kept.

Drill events (``DrillEventType``: injection, action, refused, score, state) and alarm events
(the plant's conditions: raised, cleared, acknowledged, confirmed, shelved, unshelved,
removed from or placed in service) reach only the clients subscribed when they are emitted.
A client whose connection dropped for a while misses the ones emitted meanwhile; alarms still
standing come back with a ConditionRefresh, but one that rose and cleared within the gap
would not. So a drill server appends each to a :class:`DrillEventLog` and numbers it: a drill
event's ``Seq`` field carries its number (1, 2, ...); an alarm transition is logged with its
event's ``EventId`` (hex), which is how a client tells the ones it received live. The Drill
object's ``GetEvents(after)`` method returns, as JSON, the log's ``id``, the ``last`` number
logged, and every entry numbered above ``after`` (an alarm transition's entry adds ``code``,
``active``, ``acked``, ``shelving``, ``out_of_service`` and ``event_id``; its ``trainee`` is
the user who caused it, '' for the plant; ``time_s`` is drill time)::

    {"log": "3f2a...", "last": 12,
     "events": [{"seq": 11, "kind": "action", "message": "ann: hold_tool ETCH-02",
                 "trainee": "ann", "equipment": "ETCH-02", "points": 0.0, "time_s": 73.5},
                {"seq": 12, "kind": "alarm", "message": "helium_leak.hi: ...",
                 "trainee": "", "equipment": "ETCH-02", "points": 0.0, "time_s": 74.0,
                 "code": "helium_leak.hi", "active": true, "acked": false,
                 "shelving": "Unshelved", "out_of_service": false, "event_id": "6a1f..."}]}

**The log id says which log the numbers belong to.** A log kept in memory only (no file) is
new for every drill server process. With a ``path`` (the drill server keeps
``<record dir>/<drill>.events``, one file per drill like its ``.tokens``) the log outlasts the
process: :meth:`DrillEventLog.open` loads it, id and entries, so a drill server started again
on the same directory while the drill's run goes on continues the same log under the same id,
and a client that was following the old process fetches what it missed from the new one
(the next run starts a new log: below). The file is rewritten
atomically (a temporary file and a rename) whenever it changed: before a drill event carrying
a new number is emitted, before a ``GetEvents`` answer, and after every simulation step that
logged alarm transitions, so no client learns a number the file does not hold. The copy
before the last write is kept as ``<file>.bak``. Format: a ``#`` comment, the log id, then
one JSON object per entry, numbered 1, 2, ... in order::

    # factory-twin drill event log: drill events and alarm transitions served (GetEvents)
    {"log": "3f2a..."}
    {"seq": 1, "kind": "injection", "message": "leak ETCH-02", ...}

**One log per run of the drill, of bounded size.** The file outlasts a drill server process
for a run that goes on (a server stopped or killed before the drill finished, started again),
not for the next run: when the drill finishes, :meth:`DrillEventLog.end_run` marks the log
ended (``"ended": true`` beside its id), and a drill server made on the directory after that
(:meth:`DrillEventLog.next_run`) moves the ended run's file to ``<file>.prev`` (a rename:
atomic; the ``.prev`` of the run before is replaced) and starts a new log with a new id, which
clients read from its start. So the folder holds this run's log and the last one's. Within a
run (over any number of restarts) a log keeps its newest :data:`MAX_ENTRIES` entries: past
that the oldest are dropped, in memory and in the file, and the numbers stay as they were
(``"first": N`` beside the id says the number of the oldest entry kept; a client asking for
entries after a dropped number gets those kept)::

    {"log": "3f2a...", "first": 1201, "ended": true}
    {"seq": 1201, "kind": "alarm", ...}

A damaged file (not UTF-8, a line that is not such an object, a number out of order) or an
unreadable one does not stop the drill server: the problem is logged as an error naming the
file, line and column (:class:`EventLogError`), the file is moved aside to
``<file>.damaged`` and a new log with a new id starts (``problem`` says why), so clients read
the new log from its start.

Entries are public (anyone subscribed sees the same events), so the log holds nothing a
subscription does not: never a token, a hash, or a debrief.

Examples
--------
>>> log = DrillEventLog("run1")
>>> log.add("injection", "leak ETCH-02", equipment="ETCH-02", time_s=60.0)
1
>>> log.add("action", "ann: hold_tool ETCH-02", trainee="ann", time_s=75.0)
2
>>> [e.seq for e in log.after(1)], log.last
([2], 2)
>>> json.loads(log.to_json(2))["events"]
[]
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from factory_twin.errors import FactoryTwinError
from factory_twin.model.config import atomic_write_text
from factory_twin.opcua.server.json_lines import json_lines

if TYPE_CHECKING:
    from factory_twin.model.events import AlarmEvent

__all__ = ["MAX_ENTRIES", "DrillEventLog", "EventLogError", "LoggedEvent", "read_event_log"]

logger = logging.getLogger(__name__)

HEADER = "# factory-twin drill event log: drill events and alarm transitions served (GetEvents)"
ALARM_FIELDS = ("code", "active", "acked", "shelving", "out_of_service", "event_id")
MAX_ID = 64  # characters of a log id read from a file
MAX_ENTRIES = 10_000
"""Entries a log keeps (the newest; about 2-3 MB of file): a run restarted over and over
without finishing still has a log of bounded size."""


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One drill event or alarm transition (``kind`` ``alarm``) as emitted (``time_s``: its
    drill time; the alarm fields are those of the alarm's event, ``event_id`` its EventId
    in hex)."""

    seq: int
    kind: str
    message: str
    trainee: str = ""
    equipment: str = ""
    points: float = 0.0
    time_s: float = 0.0
    code: str = ""
    active: bool = False
    acked: bool = False
    shelving: str = ""
    out_of_service: bool = False
    event_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The entry as in ``GetEvents`` and the file (the alarm fields for alarms only)."""
        d = asdict(self)
        if self.kind != "alarm":
            for key in ALARM_FIELDS:
                del d[key]
        return d


_FIELD_TYPES = {f.name: str(f.type) for f in fields(LoggedEvent)}  # name -> int|str|float|bool
_TYPE_WORDS = {"int": "a whole number", "str": "a string", "float": "a number",
               "bool": "true or false"}  # fmt: skip


def _fits(value: Any, kind: str) -> bool:
    if kind == "bool" or isinstance(value, bool):
        return kind == "bool" and isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float))
    return isinstance(value, {"int": int, "str": str}[kind])


class EventLogError(FactoryTwinError):
    """The event log file is damaged or unreadable (the message names the file, line and,
    where known, column; ``problem`` says what is wrong there; ``line`` and ``column`` are
    None where not known)."""

    def __init__(
        self,
        message: str,
        path: Path,
        line: int | None,
        problem: str = "",
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column
        self.problem = problem


class DrillEventLog:
    """The numbered drill events and alarm transitions of a drill server (see the module doc).

    Parameters
    ----------
    log_id
        The log's id (default a new random one).
    path
        The file to keep it in (None: memory only); :meth:`open` loads one.
    events
        The entries to start with (numbered ``first``, ``first + 1``, ... in order).
    first
        The number of the first entry (above 1: older ones were dropped).
    ended
        The drill of this log's run has finished (:meth:`end_run`).
    max_entries
        The entries kept: past that the oldest are dropped, the numbers kept.
    """

    def __init__(
        self,
        log_id: str = "",
        path: Path | None = None,
        events: list[LoggedEvent] | None = None,
        *,
        first: int = 1,
        ended: bool = False,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.id = log_id or secrets.token_hex(8)
        self.path = path
        self.events: list[LoggedEvent] = list(events or [])
        self.first = max(1, int(first))  # the number of the oldest entry kept
        self.ended = ended
        self.max_entries = max(1, int(max_entries))
        self.problem = ""  # why a damaged file was set aside for this new log ('' if not)
        self.damage: EventLogError | None = None  # what was wrong with that file
        self.damaged_path: Path | None = None  # where it was moved (None: it could not be)
        self.previous: Path | None = None  # where the ended run's log went (next_run)
        self._saved: tuple[int, int, bool] | None = None  # (first, last, ended) as written
        self._failing = False  # the last write failed (said once, not at every step)
        self._trim()

    @classmethod
    def open(cls, path: Path, *, max_entries: int = MAX_ENTRIES) -> DrillEventLog:
        """The log kept in ``path``: loaded with its id (its newest ``max_entries`` entries),
        or a new one (new id) if there is no file. A damaged or unreadable file is logged as
        an error, moved aside to ``<path>.damaged``, and a new log started (:attr:`problem`
        says why in words, :attr:`damage` is the error: file, line, column;
        :attr:`damaged_path` where the file went); if it cannot be moved, the new log is kept
        in memory only. A log whose run ended is loaded as it is: :meth:`next_run` makes the
        next run's."""
        try:
            kept = _read(path)
        except EventLogError as exc:
            log = cls(path=path, max_entries=max_entries)
            log.damage = exc
            aside = path.with_name(path.name + ".damaged")
            try:
                os.replace(path, aside)
                log.damaged_path = aside
                where = f"it is moved aside to {aside}"
            except OSError as err:
                log.path = None
                where = (
                    f"it cannot be moved aside ({err.strerror or err}), so the new log is "
                    "kept in memory only"
                )
            log.problem = (
                f"{exc}; {where}. The drill server starts a new event log (id {log.id}): a "
                "trainer's app following it reads the new log from its start"
            )
            logger.error("%s", log.problem)
            return log
        if kept is None:
            return cls(path=path, max_entries=max_entries)
        log = cls(kept.id, path, kept.events, first=kept.first, ended=kept.ended,
                  max_entries=max_entries)  # fmt: skip
        if log.first == kept.first:  # else a file longer than max_entries: trimmed at a write
            log._saved = log._state()
        return log

    def end_run(self) -> None:
        """Mark the log's run ended (its drill finished): the next drill server made on the
        file starts a new log (:meth:`next_run`). Written at the next :meth:`flush`."""
        self.ended = True

    def next_run(self) -> DrillEventLog:
        """The log of the drill's next run: a new log (new id) in the same file, this one's
        file moved to ``<file>.prev`` (atomically; :attr:`previous` of the new log says
        where). If it cannot be moved, the error is logged and the new log replaces the file
        at its first write (the old one then kept as ``.bak``)."""
        log = DrillEventLog(path=self.path, max_entries=self.max_entries)
        if self.path is None:
            return log
        prev = self.path.with_name(self.path.name + ".prev")
        try:
            os.replace(self.path, prev)
            log.previous = prev
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.error(
                "cannot keep the drill's last event log %s as %s: %s; the new run's log "
                "replaces it (the old one is kept as .bak at the first write)",
                self.path,
                prev,
                exc.strerror or exc,
            )
        return log

    @property
    def last(self) -> int:
        """The number of the last entry logged (0: none yet)."""
        return self.first - 1 + len(self.events)

    def _state(self) -> tuple[int, int, bool]:
        return (self.first, self.last, self.ended)

    def _trim(self) -> None:
        """Drop the oldest entries beyond :attr:`max_entries` (the numbers stay)."""
        drop = len(self.events) - self.max_entries
        if drop > 0:
            del self.events[:drop]
            self.first += drop

    def add(
        self,
        kind: str,
        message: str,
        *,
        trainee: str = "",
        equipment: str = "",
        points: float = 0.0,
        time_s: float = 0.0,
    ) -> int:
        """Log a drill event; return its number."""
        seq = self.last + 1
        self.events.append(
            LoggedEvent(seq, kind, message, trainee, equipment, float(points), float(time_s))
        )
        self._trim()
        return seq

    def add_alarm(self, ev: AlarmEvent, time_s: float) -> int:
        """Log an alarm transition (its drill time ``time_s``); return its number."""
        seq = self.last + 1
        self.events.append(
            LoggedEvent(
                seq, "alarm", ev.message, ev.user, ev.equipment, 0.0, float(time_s),
                ev.code, bool(ev.active), bool(ev.acked), ev.shelving.value,
                bool(ev.out_of_service), bytes(ev.event_id).hex(),
            )
        )  # fmt: skip
        self._trim()
        return seq

    def after(self, seq: int) -> list[LoggedEvent]:
        """The entries kept numbered above ``seq``, oldest first."""
        return self.events[max(0, int(seq) - self.first + 1) :]

    def to_json(self, after: int) -> str:
        """``GetEvents(after)``'s answer (see the module doc)."""
        return json.dumps(
            {
                "log": self.id,
                "last": self.last,
                "events": [e.to_dict() for e in self.after(after)],
            }
        )

    def flush(self) -> None:
        """Write the file (atomically, the old one kept as ``.bak``) if the log changed
        since the last write; nothing without a path. A failed write is logged as an error
        (once, until a write succeeds): the log still holds in memory."""
        if self.path is None or self._saved == self._state():
            return
        head: dict[str, Any] = {"log": self.id}
        if self.first > 1:
            head["first"] = self.first
        if self.ended:
            head["ended"] = True
        lines = [HEADER, json.dumps(head)]
        lines += [json.dumps(e.to_dict(), ensure_ascii=False) for e in self.events]
        try:
            atomic_write_text(self.path, "\n".join(lines) + "\n", keep_backup=True)
        except OSError as exc:
            if not self._failing:
                logger.error(
                    "cannot write the drill's event log %s: %s; a drill server started again "
                    "on it would miss the events since the last good write",
                    self.path,
                    exc.strerror or exc,
                )
            self._failing = True
            return
        self._failing = False
        self._saved = self._state()


def read_event_log(path: Path) -> tuple[str, list[LoggedEvent]] | None:
    """The id and entries kept in ``path`` (None if there is no file); EventLogError
    (file, line, column) if it is damaged or unreadable."""
    kept = _read(path)
    return None if kept is None else (kept.id, kept.events)


@dataclass(frozen=True, slots=True)
class _Kept:
    id: str
    first: int
    ended: bool
    events: list[LoggedEvent]


def _read(path: Path) -> _Kept | None:
    lines = json_lines(path, lambda line, problem, column: _damaged(path, line, problem, column))
    if lines is None:
        return None
    head: dict[str, Any] | None = None
    events: list[LoggedEvent] = []
    for number, entry in lines:
        if head is None:
            head = _head(path, number, entry)
            continue
        events.append(_entry(path, number, entry, head["first"] + len(events)))
    if head is None:
        _damaged(path, None, 'it holds no log id ({"log": ID})')
    return _Kept(head["log"], head["first"], head["ended"], events)


def _head(path: Path, number: int, entry: dict[str, Any]) -> dict[str, Any]:
    """The first entry: the log id, and the number of the oldest entry kept and whether the
    run ended where they are not 1 and false."""
    got = entry.get("log")
    first = entry.get("first", 1)
    ended = entry.get("ended", False)
    if (
        not set(entry) <= {"log", "first", "ended"}
        or not isinstance(got, str)
        or not 0 < len(got) <= MAX_ID
    ):
        _damaged(path, number, 'the first entry must be the log id, {"log": ID}')
    if isinstance(first, bool) or not isinstance(first, int) or first < 1:
        _damaged(path, number, f"'first' must be a whole number from 1, not {first!r}")
    if not isinstance(ended, bool):
        _damaged(path, number, f"'ended' must be true or false, not {ended!r}")
    return {"log": got, "first": first, "ended": ended}


def _entry(path: Path, number: int, entry: dict[str, Any], seq: int) -> LoggedEvent:
    unknown = sorted(set(entry) - set(_FIELD_TYPES))
    if unknown:
        _damaged(path, number, f"unknown field {unknown[0]!r}")
    for key in ("seq", "kind", "message"):
        if key not in entry:
            _damaged(path, number, f"the entry has no {key!r}")
    for key, value in entry.items():
        kind = _FIELD_TYPES[key]
        if not _fits(value, kind):
            _damaged(path, number, f"{key!r} must be {_TYPE_WORDS[kind]}, not {value!r}")
    if entry["seq"] != seq:
        _damaged(path, number, f"the entry is numbered {entry['seq']}, not {seq}")
    values: dict[str, Any] = {
        k: float(v) if _FIELD_TYPES[k] == "float" else v for k, v in entry.items()
    }
    return LoggedEvent(**values)


def _damaged(path: Path, line: int | None, problem: str, column: int | None = None) -> NoReturn:
    where = f"{path}:{line}" if line is not None else str(path)
    msg = f"{where}: the drill's event log is damaged: {problem}"
    raise EventLogError(msg, path, line, problem, column)
