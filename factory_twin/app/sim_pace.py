"""How fast a real-time simulation actually runs, against the speed asked of it (no Qt).

The embedded plant simulator (:mod:`factory_twin.app.simulator`) steps ``speed`` plant
seconds per wall second; on a loaded machine, or with a large plant at a high speed, the
steps take longer than the wall time they stand for and the simulation falls behind.
:class:`PaceMeter` measures what it achieves, plant seconds per wall second over the last
``window_s`` wall seconds, and gives it as a :class:`Pace`, which the main window's status
bar shows next to the speed. :class:`LagLog` keeps the log's warning about it to one line a
minute, with how often and how much wall time was skipped since the last line.

Examples
--------
>>> meter = PaceMeter(window_s=10.0)
>>> for wall in range(11):
...     _ = meter.add(wall, plant_s=25.0 * wall, speed=60.0)
>>> pace = meter.pace
>>> pace.achieved, pace.lagging
(25.0, True)
>>> pace.text()
'speed 60x (running at 25x: the machine cannot keep up)'
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

LAG_SHARE = 0.9
"""Below this share of the asked speed (over the window), the simulation lags."""


@dataclass(frozen=True)
class Pace:
    """The asked speed and the achieved one (plant seconds per wall second).

    ``achieved`` is None until the window holds enough wall time to say (half of it).
    """

    speed: float
    achieved: float | None = None

    @property
    def lagging(self) -> bool:
        """True when the simulation runs clearly slower than asked."""
        return (
            self.speed > 0 and self.achieved is not None and self.achieved < LAG_SHARE * self.speed
        )

    def text(self) -> str:
        """``speed 60x``, or ``speed 60x (running at 23x: the machine cannot keep up)``."""
        head = "paused" if self.speed <= 0 else f"speed {self.speed:g}x"
        if not self.lagging or self.achieved is None:
            return head
        return f"{head} (running at {times(self.achieved)}x: the machine cannot keep up)"


def times(x: float) -> str:
    """A speed for people: ``23``, ``2.5``, ``0.4``."""
    return f"{x:.0f}" if x >= 10 else f"{x:.2g}"


class PaceMeter:
    """The achieved speed over the last ``window_s`` wall seconds (see the module docstring).

    Feed it ``add(wall_s, plant_s, speed)`` after every round of steps; a change of speed
    (or :meth:`reset`) starts the window anew. Written on one thread, :attr:`pace` may be
    read from any (it is one immutable record, replaced whole).
    """

    def __init__(self, window_s: float = 10.0) -> None:
        if window_s <= 0:
            msg = f"window_s must be > 0, got {window_s}"
            raise ValueError(msg)
        self.window_s = float(window_s)
        self._samples: deque[tuple[float, float]] = deque()
        self._speed = 0.0
        self.pace = Pace(0.0)

    def reset(self) -> None:
        """Forget the samples (a restart, a pause)."""
        self._samples.clear()
        self.pace = Pace(self._speed)

    def add(self, wall_s: float, plant_s: float, speed: float) -> Pace:
        """Record the plant clock at a wall time; return the pace now."""
        if speed != self._speed:
            self._speed = float(speed)
            self.reset()
        if speed <= 0:
            return self.pace
        s = self._samples
        s.append((float(wall_s), float(plant_s)))
        while len(s) > 2 and s[1][0] <= wall_s - self.window_s:
            s.popleft()  # keep one sample at or before the window's start
        span = s[-1][0] - s[0][0]
        achieved = (s[-1][1] - s[0][1]) / span if span >= self.window_s / 2 else None
        self.pace = Pace(self._speed, achieved)
        return self.pace


class LagLog:
    """The simulator's "cannot keep up" warning, at most one line every ``every_s`` seconds.

    The first skip is said at once; later ones are counted and summed, and said (how many,
    how much wall time, over how long) at the first skip after ``every_s`` has passed.
    """

    def __init__(self, logger: logging.Logger, every_s: float = 60.0) -> None:
        self.logger = logger
        self.every_s = every_s
        self._last: float | None = None
        self._count = 0
        self._lost_s = 0.0
        self.lines = 0

    def skipped(self, now_s: float, lost_s: float, pace: Pace) -> None:
        """Wall time ``lost_s`` was skipped at ``now_s`` (wall clock of the loop)."""
        self._count += 1
        self._lost_s += lost_s
        if self._last is not None and now_s - self._last < self.every_s:
            return
        since = "" if self._last is None else f" in the last {now_s - self._last:.0f} s"
        running = "" if pace.achieved is None else f"; running at {times(pace.achieved)}x"
        self.logger.warning(
            "plant simulator cannot keep up at speed %g: skipped %.1f s of wall time "
            "(%d time%s%s%s)",
            pace.speed,
            self._lost_s,
            self._count,
            "" if self._count == 1 else "s",
            since,
            running,
        )
        self.lines += 1
        self._last = now_s
        self._count = 0
        self._lost_s = 0.0
