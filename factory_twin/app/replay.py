"""Play a recorded plant history back through the same path as live data.

A :class:`ReplaySource` is a :class:`~factory_twin.model.events.TagSource`: ``drain()``
returns the recorded events whose time has come on the replay clock, which runs at a chosen
speed and can be paused or moved (seek). Seeking backwards asks the owner to rebuild the
plant state from the start (see :meth:`ReplaySource.seek`).
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Iterable
from pathlib import Path

from factory_twin.errors import FactoryTwinError
from factory_twin.model.events import (
    AlarmEvent,
    ConnectionStatus,
    LotMove,
    PlantEvent,
    StateChange,
    TagUpdate,
)

logger = logging.getLogger(__name__)


def event_time(ev: PlantEvent) -> float:
    """Return the plant time an event happened at."""
    if isinstance(ev, TagUpdate):
        return ev.source_ts
    if isinstance(ev, LotMove):
        return ev.depart_s
    if isinstance(ev, (StateChange, AlarmEvent, ConnectionStatus)):
        return ev.time_s
    msg = f"not a plant event: {ev!r}"
    raise TypeError(msg)


class ReplaySource:
    """Recorded events played back on a clock.

    Parameters
    ----------
    events
        The recorded events (any order; they are sorted by time).
    speed
        Plant seconds per wall second.
    """

    def __init__(self, events: Iterable[PlantEvent], *, speed: float = 60.0) -> None:
        evs = sorted(events, key=event_time)
        self.events: list[PlantEvent] = evs
        self._times = [event_time(e) for e in evs]
        self.start_s = self._times[0] if evs else 0.0
        self.end_s = self._times[-1] if evs else 0.0
        self.speed = float(speed)
        self.playing = False
        self._pos = 0  # next event to hand out
        self._clock = self.start_s
        self._wall = time.monotonic()

    @property
    def clock_s(self) -> float:
        """The replay clock (plant seconds)."""
        if self.playing:
            now = time.monotonic()
            self._clock = min(self.end_s, self._clock + (now - self._wall) * self.speed)
            self._wall = now
            if self._clock >= self.end_s:
                self.playing = False
        return self._clock

    def play(self) -> None:
        """Run the clock."""
        self._wall = time.monotonic()
        self.playing = True

    def pause(self) -> None:
        """Stop the clock."""
        _ = self.clock_s
        self.playing = False

    def set_speed(self, speed: float) -> None:
        """Change the speed (plant seconds per wall second)."""
        _ = self.clock_s
        self.speed = max(float(speed), 0.0)

    def seek(self, t: float) -> bool:
        """Move the clock to ``t``; return True if the owner must rebuild its state.

        Moving backwards rewinds to the first event, so the owner resets its state and the
        next :meth:`drain` hands out everything up to ``t`` in one batch.
        """
        t = min(max(t, self.start_s), self.end_s)
        _ = self.clock_s
        rebuild = t < self._clock
        self._clock = t
        self._wall = time.monotonic()
        if rebuild:
            self._pos = 0
        return rebuild

    def drain(self, max_items: int = 10_000) -> list[PlantEvent]:
        """Return the events due on the replay clock (at most ``max_items``)."""
        t = self.clock_s
        end = bisect.bisect_right(self._times, t, lo=self._pos)
        end = min(end, self._pos + max_items)
        out = self.events[self._pos : end]
        self._pos = end
        return out

    def __len__(self) -> int:
        return len(self.events)


def load_history(path: str | Path) -> list[PlantEvent]:
    """Read a historian Parquet file into plant events.

    Raises
    ------
    FactoryTwinError
        The file is missing or is not a plant history.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: no such history file"
        raise FactoryTwinError(msg)
    try:
        from factory_twin.opcua import historian
    except ImportError as exc:  # pragma: no cover - part of every build
        msg = f"cannot replay {p}: the historian is not available ({exc})"
        raise FactoryTwinError(msg) from exc
    try:
        return list(historian.iter_events(p))
    except FactoryTwinError:
        raise
    except Exception as exc:
        msg = f"{p}: not a readable plant history ({exc})"
        raise FactoryTwinError(msg) from exc
