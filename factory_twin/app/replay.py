"""Play a recorded plant history back through the same path as live data.

A :class:`ReplaySource` is a :class:`~factory_twin.model.events.TagSource`: ``drain()``
returns the recorded events whose time has come on the replay clock, which runs at a chosen
speed and can be paused or moved (seek). Seeking backwards asks the owner to rebuild the
plant state from the start (see :meth:`ReplaySource.seek`).
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from factory_twin.errors import FactoryTwinError
from factory_twin.model.events import (
    FAB_EQUIPMENT,
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


def on_plant_clock(events: list[PlantEvent]) -> list[PlantEvent]:
    """Return a recording's events on its source's plant clock, when it publishes one.

    A plant simulator running faster or slower than real time stamps its values with the
    wall clock (at 60x an hour of plant time lasts a minute of stamps), and publishes its
    plant clock (``Fab.PlantClock``: tag ``plant_clock`` of :data:`FAB_EQUIPMENT`). Every
    event time is mapped through those samples (linear between them, at the recording's
    mean pace before the first and after the last), anchored at the first sample's stamp: so
    a replay, its trends, alarms and rates run on plant time. A recording without at least
    two samples of the clock, or whose clock goes back (a simulator restarted while it was
    recorded), or that is already on it, is returned as it is.

    Examples
    --------
    >>> tick = lambda t, c: TagUpdate(FAB_EQUIPMENT, "plant_clock", c, source_ts=t)
    >>> evs = [tick(1e9, 0.0), TagUpdate("T1", "x", 1.0, source_ts=1e9 + 1), tick(1e9 + 2, 120.0)]
    >>> [e.source_ts - 1e9 for e in on_plant_clock(evs)]  # a simulator at 60x
    [0.0, 60.0, 120.0]
    >>> on_plant_clock(evs[:2]) == evs[:2]
    True
    """
    ticks = sorted(
        (e.source_ts, float(e.value))
        for e in events
        if isinstance(e, TagUpdate)
        and e.equipment == FAB_EQUIPMENT
        and e.tag == "plant_clock"
        and isinstance(e.value, (int, float))
        and not isinstance(e.value, bool)
    )
    wall = np.array([t for t, _ in ticks], float)
    clock = np.array([c for _, c in ticks], float)
    if len(ticks) < 2 or wall[-1] <= wall[0] or np.any(np.diff(clock) < 0):
        return events
    if np.allclose(clock - clock[0], wall - wall[0], rtol=0.0, atol=1e-6):
        return events
    wall, first = np.unique(wall, return_index=True)  # one clock per stamp (the first)
    clock = clock[first]
    pace = (clock[-1] - clock[0]) / (wall[-1] - wall[0])

    def plant(t: float) -> float:
        if t < wall[0]:
            c = clock[0] - (wall[0] - t) * pace
        elif t > wall[-1]:
            c = clock[-1] + (t - wall[-1]) * pace
        else:
            c = float(np.interp(t, wall, clock))
        return float(wall[0] + (c - clock[0]))

    def moved(e: PlantEvent) -> PlantEvent:
        if isinstance(e, TagUpdate):
            return dataclasses.replace(e, source_ts=plant(e.source_ts))
        if isinstance(e, LotMove):
            return dataclasses.replace(e, depart_s=plant(e.depart_s), arrive_s=plant(e.arrive_s))
        return dataclasses.replace(e, time_s=plant(e.time_s))

    logger.info("replay on the source's plant clock (%.3g plant s per recorded s)", pace)
    return [moved(e) for e in events]


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
