"""The simulation's event loop: a :class:`simpy.Environment` whose queue also runs plain callbacks.

The fab model (:mod:`factory_twin.sim.model`) does not make a SimPy event object per timer.
Its timers are entries ``(time, key, callback, value)`` on the environment's own event queue;
popping one sets the clock and calls ``callback(value)``. Real SimPy events (timeouts,
processes, resources) may share the same environment: :meth:`Engine.schedule` puts them on the
same queue in the same shape, with a callback that processes the event as
:meth:`simpy.Environment.step` would. Entries are ordered as SimPy orders its events, by time,
then priority (``URGENT`` before ``NORMAL``), then the order they were scheduled in: ``key`` is
SimPy's event id, shifted down by ``2**62`` per priority level below ``NORMAL``, so
``(time, key)`` sorts exactly as SimPy's ``(time, priority, event id)`` does while the model's
own entries (all ``NORMAL``) carry the bare id.

This module is the only one that touches SimPy's private attributes (``Environment._queue``,
``._eid``, ``._now``, ``Event._ok``, ``._value``, ``._defused``). ``simpy`` is pinned to the
tested major version in ``pyproject.toml``, and ``tests/sim/test_engine_guard.py`` fails,
naming what changed, if a SimPy release moves any of them.

Entries scheduled with :meth:`Engine.call_last_at` (the OHT fleet's) carry keys shifted up by
``2**62``: at equal times they come after every other entry, among themselves in the order
scheduled. A *coupled* component (:class:`Coupled`, the compiled OHT fleet) keeps such events
on a queue of its own and runs them between the engine's entries, in the same order.

Timers due far ahead (failures and PMs days away, about half of all pending entries of a big
fab) wait in a second heap, so the queue every event pops from stays small; a pull entry every
``far_window_s`` moves those coming due onto the queue. Entries keep their keys, so the order
of events is the same as with one queue.

Examples
--------
>>> eng = Engine()
>>> seen = []
>>> eng.call_later(5.0, seen.append, "timer")
>>> def proc(env):
...     yield env.timeout(5.0)
...     seen.append("process")
>>> _ = eng.process(proc(eng))
>>> eng.run_until(10.0)
>>> seen, eng.now_s
(['timer', 'process'], 10.0)
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any, Protocol

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, Event, EventPriority

from factory_twin.errors import SimulationError

#: One queue entry: (time s, order key, callback, value). Keys are unique, so two entries
#: never compare their callbacks.
Entry = tuple[float, int, Callable[[Any], object], Any]

_PRIORITY_SHIFT = 2**62  # key offset per priority level: far above any event id
DEFAULT_FAR_WINDOW_S = 6 * 3600.0


def order_key(priority: int, event_id: int) -> int:
    """Return the queue key of an entry: sorts as SimPy's ``(priority, event id)``.

    Examples
    --------
    >>> order_key(1, 7)  # NORMAL: the bare id
    7
    >>> order_key(0, 7) < order_key(1, 0)  # URGENT before any NORMAL entry
    True
    """
    return event_id + (priority - NORMAL) * _PRIORITY_SHIFT


def events_scheduled(env: simpy.Environment) -> int:
    """Return how many events any SimPy environment has scheduled so far.

    Reading the count uses up one event id; later events keep their relative order.
    """
    return int(next(env._eid))


def _fire(event: Event) -> None:
    """Process a SimPy event popped from the queue (the body of ``Environment.step``)."""
    callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
    assert callbacks is not None
    for i, callback in enumerate(callbacks):
        try:
            callback(event)
        except StopSimulation:
            # as SimPy does: the rest of the callbacks run when the simulation resumes
            event.callbacks = callbacks[i + 1 :]
            event.env.schedule(event, EventPriority(-1))
            raise
    if not event._ok and not hasattr(event, "_defused"):
        # a failed event nobody handled crashes the run, as in SimPy
        exc = type(event._value)(*event._value.args)
        exc.__cause__ = event._value
        raise exc


class Coupled(Protocol):
    """A component that keeps its own queue of events and runs them between the engine's
    entries (:meth:`Engine.couple`). At equal times the engine's entries come first, then the
    component's (as entries scheduled with :meth:`Engine.call_last_at` would).

    The component may lag behind the engine's clock: the engine calls :meth:`fire` only when
    its next entry comes after ``bound_t``, the earliest time at which one of the component's
    events can call back into the engine's world (schedule entries, change what the model
    reads). Whatever the model asks of the component in between must first run the
    component's events due before the current time (the compiled OHT fleet does this in each
    request and before each read)."""

    #: the time of its next event (infinity: none); kept up to date by the component
    due_t: float
    #: none of its events before this time calls back into the engine's world
    bound_t: float

    @property
    def events_used(self) -> int:
        """How many events it has scheduled so far."""

    def fire(self, limit_t: float) -> None:
        """Run its events due before ``limit_t``; it may return after the first that called
        back (``due_t`` and ``bound_t`` say what is left)."""


class Engine(simpy.Environment):
    """A SimPy environment that also runs plain ``callback(value)`` timer entries.

    Parameters
    ----------
    far_window_s
        Timers due later than this ahead of the pull horizon wait in the far heap.

    Attributes
    ----------
    now_s
        The clock, seconds (the same value as SimPy's :attr:`now`, read as a plain
        attribute on the hot path).
    queue
        The event queue (SimPy's own heap of entries).
    until_s
        The end of the :meth:`run_until` call under way (infinity outside one): entries due
        at or after it wait for the next call. A component that runs its own events between
        the engine's (the compiled OHT fleet) stops there too.
    coupled
        A component with its own queue of events (:class:`Coupled`), run between the
        engine's entries, or None.
    """

    __slots__ = ("_far", "_far_window", "_horizon", "coupled", "now_s", "queue", "until_s")

    now_s: float
    queue: list[Entry]
    until_s: float

    def __init__(self, far_window_s: float = DEFAULT_FAR_WINDOW_S) -> None:
        super().__init__()  # sets the clock to 0 through the _now property below
        self.queue = self._queue  # type: ignore[assignment]  # SimPy types it as 4-tuples of Events
        self._far: list[Entry] = []
        self._far_window = far_window_s
        self._horizon = far_window_s
        self.until_s = math.inf
        self.coupled: Coupled | None = None
        heappush(self.queue, (self._horizon, next(self._eid), self._pull_far, None))

    # SimPy reads and writes its clock as ``self._now``: route it to the engine's clock, so
    # there is one clock for SimPy's events and the model's callbacks.
    @property
    def _now(self) -> float:
        return self.now_s

    @_now.setter
    def _now(self, value: float) -> None:
        self.now_s = value

    # ----------------------------------------------------------------- scheduling

    def call_at(self, at_s: float, callback: Callable[[Any], object], value: Any) -> None:
        """Run ``callback(value)`` at time ``at_s`` (after entries scheduled before it).

        The hot path: no check that ``at_s`` is not in the past.
        """
        heappush(self.queue, (at_s, next(self._eid), callback, value))

    def call_later(self, delay_s: float, callback: Callable[[Any], object], value: Any) -> None:
        """Run ``callback(value)`` ``delay_s`` seconds from now.

        At equal times, callbacks run in the order they were scheduled (SimPy's rule).
        """
        at = self.now_s + delay_s
        heappush(
            self.queue if at <= self._horizon else self._far,
            (at, next(self._eid), callback, value),
        )

    def call_last_at(self, at_s: float, callback: Callable[[Any], object], value: Any) -> None:
        """Run ``callback(value)`` at ``at_s``, after every entry of the other kinds due at the
        same time, even those scheduled later (among themselves in the order scheduled): the
        order a coupled component's events keep (:class:`Coupled`)."""
        heappush(self.queue, (at_s, next(self._eid) + _PRIORITY_SHIFT, callback, value))

    def call_last_later(
        self, delay_s: float, callback: Callable[[Any], object], value: Any
    ) -> None:
        """:meth:`call_last_at` ``delay_s`` seconds from now."""
        at = self.now_s + delay_s
        heappush(
            self.queue if at <= self._horizon else self._far,
            (at, next(self._eid) + _PRIORITY_SHIFT, callback, value),
        )

    def schedule(self, event: Event, priority: EventPriority = NORMAL, delay: float = 0) -> None:
        """Schedule a SimPy ``event`` (SimPy calls this; the queue shape is the engine's)."""
        heappush(
            self.queue,
            (self.now_s + delay, order_key(priority, next(self._eid)), _fire, event),
        )

    def _pull_far(self, _: Any) -> None:
        """Move the far timers due within the next window onto the queue."""
        self._horizon = until = self._horizon + self._far_window
        far, q = self._far, self.queue
        while far and far[0][0] <= until:
            heappush(q, heappop(far))
        heappush(q, (until, next(self._eid), self._pull_far, None))

    # ----------------------------------------------------------------- running

    def couple(self, component: Coupled) -> None:
        """Run ``component``'s events between the engine's entries (see :class:`Coupled`; one
        component per engine)."""
        if self.coupled is not None and self.coupled is not component:
            msg = "the engine runs one coupled component already"
            raise SimulationError(msg)
        self.coupled = component

    def step(self) -> None:
        """Process the next entry (SimPy's ``run`` calls this; EmptySchedule if none)."""
        c = self.coupled
        if c is not None and c.due_t < math.inf:
            q = self.queue
            first = q[0][0] if q else math.inf
            if c.due_t < first:
                c.fire(first)
                return
        try:
            self.now_s, _, callback, value = heappop(self.queue)
        except IndexError:
            raise EmptySchedule from None
        callback(value)

    def run_until(self, until_s: float) -> None:
        """Run every entry due before ``until_s``, then set the clock to ``until_s``.

        Entries due at exactly ``until_s`` wait for the next call. An exception in a
        callback propagates to the caller, as it would from a SimPy event.

        Raises
        ------
        SimulationError
            If ``until_s`` is before the current time.
        """
        if until_s < self.now_s:
            msg = f"cannot run back in time: now {self.now_s}, until {until_s}"
            raise SimulationError(msg)
        q = self.queue
        pop = heappop
        self.until_s = until_s
        # The records are millions of small tuples: the cyclic GC would rescan them over and
        # over (quadratic time). The model makes no reference cycles it needs collected.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            c = self.coupled
            if c is None:
                while q and q[0][0] < until_s:
                    self.now_s, _, cb, value = pop(q)
                    cb(value)
            else:  # the same, with the component's events run where they can matter
                inf = math.inf
                while True:
                    t = q[0][0] if q else inf
                    if t > c.bound_t or t >= until_s:
                        # the component may call back before this entry: run its events
                        # due before it (at equal times the engine's entries come first)
                        lim = t if t < until_s else until_s
                        if c.due_t < lim:
                            c.fire(lim)
                            continue
                        if t >= until_s:
                            break
                    self.now_s, _, cb, value = pop(q)
                    cb(value)
            self.now_s = until_s
        finally:
            self.until_s = math.inf
            if was_enabled:
                gc.enable()

    def events_scheduled(self) -> int:
        """Return how many entries (timers and SimPy events) have been scheduled so far.

        Reading the count uses up one event id; later entries keep their relative order.
        A coupled component's events count too.
        """
        c = self.coupled
        return events_scheduled(self) + (c.events_used if c is not None else 0)
