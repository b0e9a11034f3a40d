"""The drill server's event log: every drill event it emitted, numbered, to fetch again.

Drill events (``DrillEventType``: injection, action, refused, score, state) reach only the
clients subscribed when they are emitted. A client whose connection dropped for a while
misses the ones emitted meanwhile, so the server also appends each to a
:class:`DrillEventLog` (in memory, kept by the drill simulator over a stop and start of its
server) and numbers it: the event's ``Seq`` field carries the number (1, 2, ...). The Drill
object's ``GetEvents(after)`` method returns, as JSON, the log's ``id`` (new for every drill
server process, so a client can tell a new run's numbers from the old ones), the ``last``
number logged, and every event numbered above ``after``::

    {"log": "3f2a...", "last": 12,
     "events": [{"seq": 11, "kind": "action", "message": "ann: hold_tool ETCH-02",
                 "trainee": "ann", "equipment": "ETCH-02", "points": 0.0, "time_s": 73.5},
                ...]}

Events are public (anyone subscribed sees them), so the log holds nothing a subscription
does not: never a token, a hash, or a debrief.

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
import secrets
from dataclasses import asdict, dataclass

__all__ = ["DrillEventLog", "LoggedEvent"]


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One drill event as emitted (``time_s``: its drill time)."""

    seq: int
    kind: str
    message: str
    trainee: str = ""
    equipment: str = ""
    points: float = 0.0
    time_s: float = 0.0


class DrillEventLog:
    """The numbered drill events of one drill server process (see the module doc).

    Parameters
    ----------
    log_id
        The log's id (default a new random one).
    """

    def __init__(self, log_id: str = "") -> None:
        self.id = log_id or secrets.token_hex(8)
        self.events: list[LoggedEvent] = []

    @property
    def last(self) -> int:
        """The number of the last event logged (0: none yet)."""
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
        """Log an event; return its number."""
        seq = len(self.events) + 1
        self.events.append(
            LoggedEvent(seq, kind, message, trainee, equipment, float(points), float(time_s))
        )
        return seq

    def after(self, seq: int) -> list[LoggedEvent]:
        """The events numbered above ``seq``, oldest first."""
        return self.events[max(0, int(seq)) :]

    def to_json(self, after: int) -> str:
        """``GetEvents(after)``'s answer (see the module doc)."""
        return json.dumps(
            {
                "log": self.id,
                "last": self.last,
                "events": [asdict(e) for e in self.after(after)],
            }
        )
