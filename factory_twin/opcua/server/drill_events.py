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
on the same directory continues the same log under the same id, and a client that was
following the old process fetches what it missed from the new one. The file is rewritten
atomically (a temporary file and a rename) whenever it changed: before a drill event carrying
a new number is emitted, before a ``GetEvents`` answer, and after every simulation step that
logged alarm transitions, so no client learns a number the file does not hold. The copy
before the last write is kept as ``<file>.bak``. Format: a ``#`` comment, the log id, then
one JSON object per entry, numbered 1, 2, ... in order::

    # factory-twin drill event log: drill events and alarm transitions served (GetEvents)
    {"log": "3f2a..."}
    {"seq": 1, "kind": "injection", "message": "leak ETCH-02", ...}

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

__all__ = ["DrillEventLog", "EventLogError", "LoggedEvent", "read_event_log"]

logger = logging.getLogger(__name__)

HEADER = "# factory-twin drill event log: drill events and alarm transitions served (GetEvents)"
ALARM_FIELDS = ("code", "active", "acked", "shelving", "out_of_service", "event_id")
MAX_ID = 64  # characters of a log id read from a file


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
        The entries to start with (numbered 1, 2, ... in order).
    """

    def __init__(
        self, log_id: str = "", path: Path | None = None, events: list[LoggedEvent] | None = None
    ) -> None:
        self.id = log_id or secrets.token_hex(8)
        self.path = path
        self.events: list[LoggedEvent] = list(events or [])
        self.problem = ""  # why a damaged file was set aside for this new log ('' if not)
        self.damage: EventLogError | None = None  # what was wrong with that file
        self.damaged_path: Path | None = None  # where it was moved (None: it could not be)
        self._saved = -1  # entries in the file as last written (-1: not written yet)
        self._failing = False  # the last write failed (said once, not at every step)

    @classmethod
    def open(cls, path: Path) -> DrillEventLog:
        """The log kept in ``path``: loaded with its id, or a new one (new id) if there is
        no file. A damaged or unreadable file is logged as an error, moved aside to
        ``<path>.damaged``, and a new log started (:attr:`problem` says why in words,
        :attr:`damage` is the error: file, line, column; :attr:`damaged_path` where the file
        went); if it cannot be moved, the new log is kept in memory only."""
        try:
            kept = read_event_log(path)
        except EventLogError as exc:
            log = cls(path=path)
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
            return cls(path=path)
        log = cls(kept[0], path, kept[1])
        log._saved = len(log.events)
        return log

    @property
    def last(self) -> int:
        """The number of the last entry logged (0: none yet)."""
        return len(self.events)

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
        seq = len(self.events) + 1
        self.events.append(
            LoggedEvent(seq, kind, message, trainee, equipment, float(points), float(time_s))
        )
        return seq

    def add_alarm(self, ev: AlarmEvent, time_s: float) -> int:
        """Log an alarm transition (its drill time ``time_s``); return its number."""
        seq = len(self.events) + 1
        self.events.append(
            LoggedEvent(
                seq, "alarm", ev.message, ev.user, ev.equipment, 0.0, float(time_s),
                ev.code, bool(ev.active), bool(ev.acked), ev.shelving.value,
                bool(ev.out_of_service), bytes(ev.event_id).hex(),
            )
        )  # fmt: skip
        return seq

    def after(self, seq: int) -> list[LoggedEvent]:
        """The entries numbered above ``seq``, oldest first."""
        return self.events[max(0, int(seq)) :]

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
        if self.path is None or self._saved == len(self.events):
            return
        lines = [HEADER, json.dumps({"log": self.id})]
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
        self._saved = len(self.events)


def read_event_log(path: Path) -> tuple[str, list[LoggedEvent]] | None:
    """The id and entries kept in ``path`` (None if there is no file); EventLogError
    (file, line, column) if it is damaged or unreadable."""
    lines = json_lines(path, lambda line, problem, column: _damaged(path, line, problem, column))
    if lines is None:
        return None
    log_id = ""
    events: list[LoggedEvent] = []
    for number, entry in lines:
        if not log_id:
            got = entry.get("log")
            if set(entry) != {"log"} or not isinstance(got, str) or not 0 < len(got) <= MAX_ID:
                _damaged(path, number, 'the first entry must be the log id, {"log": ID}')
            log_id = got
            continue
        events.append(_entry(path, number, entry, len(events) + 1))
    if not log_id:
        _damaged(path, None, 'it holds no log id ({"log": ID})')
    return log_id, events


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
