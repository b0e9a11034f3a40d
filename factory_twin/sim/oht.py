"""A fleet of overhead-hoist (OHT) vehicles moving lots on a rail graph, vehicle by vehicle.

A transport request (lot, from rail node, to rail node) waits in a FIFO until a vehicle is free.
Dispatch takes the nearest idle vehicle in free-running time (``nearest_idle``) or the one idle
longest (``fifo``); a vehicle that finishes a move takes the oldest waiting request. A vehicle
travels empty to the pick-up node, hoists the lot (``handling_s``), travels loaded to the
drop-off node and lowers it (``handling_s`` again), all by the fastest path in time
(:class:`~factory_twin.sim.oht_graph.RailGraph`).

Rails are split into *sections* between junctions. Traffic rules, designed so that a hundred
vehicles cannot lock the fab:

* a section holds as many vehicles as fit its length at the vehicle pitch (length plus minimum
  gap), at least one; a vehicle enters the next section only if it has a free place, otherwise
  it stops at the end of its section and waits (FIFO per section), and it starts again from
  rest;
* vehicles leave a section in the order they entered it (no overtaking), each at least one
  headway (pitch / speed limit of the section's last link) after the one ahead;
* an idle vehicle leaves the rail for a parking spur at its node (it holds no place), and
  merges back behind the vehicles already in that section when it gets a new move;
* every time a vehicle has to wait, the wait-for chain (the section it wants, the first vehicle
  of that section, the section that vehicle wants, ...) is followed: if it comes back to the
  first section, all of them are full and wait on each other, which is a deadlock. It is
  recorded (time and sections) and resolved by letting the vehicle in over capacity, as an
  operator would by hand; nothing ever hangs silently.

The fleet's events come after the engine's other entries due at the same time
(:meth:`~factory_twin.sim.engine.Engine.call_last_at`), so the compiled fleet
(:mod:`factory_twin.sim.oht_fast`) can run its own queue of events lazily beside the engine and
still take them in the same order.

Per-day sums (moves, transport, waiting, empty and loaded travel, blocked time, busy time,
a histogram of the transport time, entries per section) give the KPIs over any window of whole
days: :meth:`OhtFleet.kpis`. :meth:`OhtFleet.positions` gives every vehicle's floor position
and load at the current time, for a view to draw.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from factory_twin.model.amhs import Amhs
from factory_twin.sim.oht_graph import Piece, RailGraph, profile_array

DAY_S = 86_400.0
HIST_BIN_S = 5.0
HIST_BINS = 4_000  # 5 s bins up to 20,000 s; longer moves land in the last bin
_CACHE = 300_000  # cached paths and profiles at most
_IDLE, _EMPTY, _LOADED, _HANDLING = "idle", "empty", "loaded", "handling"


class Clock(Protocol):
    """What the fleet needs of the simulation engine."""

    now_s: float

    def call_last_later(
        self, delay_s: float, callback: Callable[[Any], object], value: Any
    ) -> None:
        """Run ``callback(value)`` ``delay_s`` seconds from now, after the engine's other
        entries due then."""

    def call_last_at(self, at_s: float, callback: Callable[[Any], object], value: Any) -> None:
        """Run ``callback(value)`` at ``at_s`` (not before now), after the engine's other
        entries due then."""


@dataclass(eq=False, slots=True)
class Move:
    """One transport request (the compiled fleet fills t_pick, t_loaded, t_drop and blocked_s
    when the lot is set down)."""

    payload: Any
    src: int
    dst: int
    done: Callable[[Any], object]
    t_req: float
    t_assign: float = math.nan
    t_pick: float = math.nan  # arrival at the pick-up node
    t_loaded: float = math.nan  # lot on board
    t_drop: float = math.nan  # arrival at the drop-off node
    blocked_s: float = 0.0


@dataclass(eq=False, slots=True)
class Vehicle:
    """One vehicle: where it is, what it does, its run's plan."""

    id: int
    node: int
    state: str = _IDLE
    section: int = -1  # the section it holds a place in (-1: parked off the rail)
    move: Move | None = None
    idle_since: float = 0.0
    pieces: list[Piece] = field(default_factory=list)
    k: int = -1  # index of the piece being driven (-1: not yet on the first)
    then: Callable[[Vehicle], None] | None = None
    t0: float = 0.0  # start of the current kinematic profile
    links: list[int] = field(default_factory=list)  # links of the current profile
    cum: list[float] = field(default_factory=list)  # their cumulative end times from t0
    piece_end: list[int] = field(default_factory=list)  # index into links where piece ends
    piece_t: list[float] = field(default_factory=list)  # end time of each piece from t0
    first_piece: int = 0  # piece index the current profile starts at
    waiting_for: int = -1  # section it waits to enter
    exit_pending: bool = False  # at the end of its section, behind a vehicle that has not left
    stopped: bool = False  # it had to stop: the rest of the run starts from rest
    wait_since: float = 0.0
    retry_at: float = math.nan
    run: tuple[int, int] = (-1, -1)  # (from node, to node) of the current run


@dataclass(eq=False, slots=True)
class _Section:
    capacity: int
    headway_s: float
    queue: deque[Vehicle] = field(default_factory=deque)  # in entry order
    waiters: deque[Vehicle] = field(default_factory=deque)
    last_exit: float = -math.inf


class FleetBase(ABC):
    """What both fleets (this module's and :class:`factory_twin.sim.oht_fast.CompiledOhtFleet`)
    share: their parameters and set-up, and the nominal time of a move.

    Parameters
    ----------
    amhs
        The plant's ``amhs`` section (rails, vehicle type, fleet size, dispatch rule).
    clock
        The engine: ``now_s``, ``call_last_later(delay, callback, value)`` and
        ``call_last_at(time, callback, value)`` (the fleet's events come after the engine's
        other entries due at the same time).
    start_nodes
        Rail node ids the vehicles start parked at, in turn (default: the stockers' nodes, else
        nodes spread evenly over the network).
    fleet
        Overrides ``amhs.fleet``.
    graph
        The rail graph of ``amhs`` (built if None).
    """

    def __init__(
        self,
        amhs: Amhs,
        clock: Clock,
        *,
        start_nodes: list[str] | None = None,
        fleet: int | None = None,
        graph: RailGraph | None = None,
    ) -> None:
        self.amhs = amhs
        self.clock = clock
        self.graph = g = graph if graph is not None else RailGraph(amhs)
        self.handling_s = amhs.handling_s
        self.nearest = amhs.dispatch == "nearest_idle"
        n = fleet if fleet is not None else amhs.fleet
        if start_nodes is None:
            start_nodes = [s.node for s in amhs.stockers if s.kind == "stocker"]
        if not start_nodes:
            step = max(1, len(g.node_ids) // n)
            start_nodes = [g.node_ids[(i * step) % len(g.node_ids)] for i in range(n)]
        #: the node each vehicle starts parked at
        self.start_at = [g.node_index[start_nodes[i % len(start_nodes)]] for i in range(n)]
        #: each section's headway: the vehicle pitch over the speed limit of its last link
        self.headway_s = [amhs.vehicle.pitch_m / g.vmax[links[-1]] for links in g.sections]
        self._setup()

    @abstractmethod
    def _setup(self) -> None:
        """Build the fleet's own state (each fleet's part of the set-up)."""

    def request(self, src: str, dst: str, payload: Any, done: Callable[[Any], object]) -> Move:
        """Ask for a move of ``payload`` from rail node ``src`` to ``dst``; ``done(payload)``
        is called when it has been set down."""
        ni = self.graph.node_index
        return self.request_at(ni[src], ni[dst], payload, done)

    @abstractmethod
    def request_at(self, a: int, b: int, payload: Any, done: Callable[[Any], object]) -> Move:
        """:meth:`request` by node numbers (``graph.node_index``): the model's hot path."""

    def nominal_s(self, src: str, dst: str) -> float:
        """Return handling plus free-running loaded travel time from ``src`` to ``dst``."""
        g = self.graph
        links = g.path_links(g.node_index[src], g.node_index[dst])
        return 2 * self.handling_s + g.run_time_s(links)


class OhtFleet(FleetBase):
    """A fleet of OHT vehicles on the rails of ``amhs``, driven by ``clock``: the parameters
    are :class:`FleetBase`'s."""

    def _setup(self) -> None:
        g = self.graph
        v = self.amhs.vehicle
        self._acc, self._dec = v.accel_m_s2, v.decel_m_s2
        self.sections = [
            _Section(cap, hw) for cap, hw in zip(g.capacity, self.headway_s, strict=True)
        ]
        self.vehicles = [Vehicle(i, at) for i, at in enumerate(self.start_at)]
        n = len(self.vehicles)
        self.idle: list[Vehicle] = list(self.vehicles)
        self.pending: deque[Move] = deque()
        self.deadlocks: list[tuple[float, list[str]]] = []
        self.deadlock_count = 0
        self._days: list[np.ndarray] = []  # per day: the sums of _COLS
        self._hist: list[np.ndarray] = []
        self._entries: list[np.ndarray] = []
        self._blocked_days: list[np.ndarray] = []  # per day: blocked seconds per section
        self._busy_from = [0.0] * n
        self._pieces: dict[tuple[int, int], list[Piece]] = {}
        self._plans: dict[
            tuple[int, int, int], tuple[list[int], list[float], list[int], list[float]]
        ] = {}
        self._next_day_s = 0.0  # when the per-day entry counts roll over
        # the hot path: one bound method, no delay arithmetic
        self._call_at = self.clock.call_last_at
        self._on_piece_end = self._piece_end
        self._today = -1
        self._today_entries: list[int] = []  # today's entries per section (a list: the hot path)
        # blocked seconds of moves per section, since the start (where the vehicle stood)
        self.blocked_s = [0.0] * len(self.sections)

    # ----------------------------------------------------------------- requests

    def request_at(self, a: int, b: int, payload: Any, done: Callable[[Any], object]) -> Move:
        """Ask for a move of ``payload`` from rail node number ``a`` to ``b``; ``done(payload)``
        is called when it has been set down."""
        m = Move(payload, a, b, done, self.clock.now_s)
        if self.idle:
            self._assign(self._pick_idle(m.src), m)
        else:
            self.pending.append(m)
        return m

    def _pick_idle(self, node: int) -> Vehicle:
        if not self.nearest or len(self.idle) == 1:
            return self.idle[0]
        tt = self.graph.time_to(node)
        at = tt[[v.node for v in self.idle]]
        best = np.flatnonzero(at == at.min())  # the lowest vehicle number on a tie
        if len(best) == 1:
            return self.idle[int(best[0])]
        return min((self.idle[int(i)] for i in best), key=lambda v: v.id)

    def _assign(self, v: Vehicle, m: Move) -> None:
        self.idle.remove(v)
        now = self.clock.now_s
        m.t_assign = now
        self._busy_from[v.id] = now
        v.move = m
        v.state = _EMPTY
        self._run(v, v.node, m.src, self._at_pickup)

    def _at_pickup(self, v: Vehicle) -> None:
        assert v.move is not None
        v.move.t_pick = self.clock.now_s
        v.state = _HANDLING
        self.clock.call_last_later(self.handling_s, self._loaded, v)

    def _loaded(self, v: Vehicle) -> None:
        m = v.move
        assert m is not None
        m.t_loaded = self.clock.now_s
        v.state = _LOADED
        self._run(v, m.src, m.dst, self._at_drop)

    def _at_drop(self, v: Vehicle) -> None:
        assert v.move is not None
        v.move.t_drop = self.clock.now_s
        v.state = _HANDLING
        self.clock.call_last_later(self.handling_s, self._delivered, v)

    def _delivered(self, v: Vehicle) -> None:
        m = v.move
        assert m is not None
        now = self.clock.now_s
        self._record(v, m, now)
        v.move = None
        if self.pending:
            self._assign_self(v, self.pending.popleft())
        else:
            v.state = _IDLE
            v.idle_since = now
            self._leave(v)  # to the parking spur
            self.idle.append(v)
        m.done(m.payload)

    def _assign_self(self, v: Vehicle, m: Move) -> None:
        self.idle.append(v)  # _assign removes it again
        self._assign(v, m)

    # ----------------------------------------------------------------- driving

    def _run(self, v: Vehicle, a: int, b: int, then: Callable[[Vehicle], None]) -> None:
        """Drive ``v`` from node ``a`` to node ``b`` (from rest to rest), then ``then(v)``."""
        v.then = then
        if a == b:
            then(v)
            return
        key = (a, b)
        pieces = self._pieces.get(key)
        if pieces is None:
            pieces = self.graph.pieces(self.graph.path_links(a, b))
            if len(self._pieces) < _CACHE:
                self._pieces[key] = pieces
        v.pieces = pieces
        v.run = key
        v.stopped = True
        if v.section == pieces[0].section:
            v.k = 0
            self._plan(v, 0)
            self._schedule_piece_end(v)
        else:
            v.k = -1
            self._try_next(v)

    def _plan(self, v: Vehicle, first: int) -> None:
        """A kinematic profile from rest over pieces ``first``.. to the end of the run."""
        key = (v.run[0], v.run[1], first)
        plan = self._plans.get(key)
        if plan is None:
            g = self.graph
            links: list[int] = []
            ends: list[int] = []
            for p in v.pieces[first:]:
                links.extend(p.links)
                ends.append(len(links))
            cum_a = np.cumsum(
                profile_array(
                    [g.length[k] for k in links], [g.vmax[k] for k in links], self._acc, self._dec
                )
            )
            plan = (links, cum_a.tolist(), ends, cum_a[np.array(ends) - 1].tolist())
            if len(self._plans) < _CACHE:
                self._plans[key] = plan
        v.links, v.cum, v.piece_end, v.piece_t = plan
        v.t0 = self.clock.now_s
        v.first_piece = first
        v.stopped = False

    def _schedule_piece_end(self, v: Vehicle) -> None:
        at = v.t0 + v.piece_t[v.k - v.first_piece]
        now = self.clock.now_s
        self._call_at(at if at > now else now, self._on_piece_end, v)

    def _piece_end(self, v: Vehicle) -> None:
        pieces, k = v.pieces, v.k
        v.node = pieces[k].end
        if k == len(pieces) - 1:
            then = v.then
            v.then = None
            v.pieces = []
            assert then is not None
            then(v)
            return
        # the common case inline (the same rules as _try_next and _enter): first in its
        # section, a headway after the last exit, a free place ahead, nothing pending
        now = self.clock.now_s
        sec = self.sections[v.section]
        q = sec.queue
        nxt = pieces[k + 1].section
        ns = self.sections[nxt]
        if (
            q[0] is v
            and sec.last_exit + sec.headway_s <= now + 1e-9
            and len(ns.queue) < ns.capacity
            and not v.exit_pending
        ):
            sec.last_exit = now
            q.popleft()
            if q and q[0].exit_pending:
                self.clock.call_last_later(0.0, self._retry, q[0])
            if sec.waiters:
                self.clock.call_last_later(0.0, self._admit, sec)
            v.section = nxt
            ns.queue.append(v)
            if now >= self._next_day_s:
                self._count_entry(nxt, now)
            else:
                self._today_entries[nxt] += 1
            v.k = k + 1
            at = v.t0 + v.piece_t[k + 1 - v.first_piece]
            self._call_at(at if at > now else now, self._on_piece_end, v)
            return
        self._try_next(v)

    def _try_next(self, v: Vehicle) -> None:
        """At the end of its section (or parked), ``v`` tries to go on into the next one."""
        now = self.clock.now_s
        if v.section >= 0:
            sec = self.sections[v.section]
            ready = sec.last_exit + sec.headway_s
            if sec.queue[0] is not v or ready > now + 1e-9:
                if not v.exit_pending:  # behind a vehicle not gone yet, or within its headway
                    v.exit_pending = True
                    v.wait_since = now
                if sec.queue[0] is v and v.retry_at != ready:
                    v.retry_at = ready
                    self.clock.call_last_later(ready - now, self._retry, v)
                return
        if v.waiting_for >= 0:
            return  # already in the queue of the next section
        nxt = v.pieces[v.k + 1].section
        ns = self.sections[nxt]
        if len(ns.queue) >= ns.capacity and not self._deadlock(v, nxt):
            v.waiting_for = nxt
            if not v.exit_pending:
                v.wait_since = now
            ns.waiters.append(v)
            return
        self._enter(v, nxt)

    def _retry(self, v: Vehicle) -> None:
        if v.exit_pending and v.waiting_for < 0:
            self._try_next(v)

    def _enter(self, v: Vehicle, nxt: int) -> None:
        now = self.clock.now_s
        stood = -1
        if v.exit_pending or v.waiting_for >= 0:
            if v.move is not None:
                v.move.blocked_s += now - v.wait_since
                # where it stood: the end of its section (or the spur it merges from)
                stood = v.section if v.section >= 0 else nxt
                self.blocked_s[stood] += now - v.wait_since
            v.stopped = True
        waited = now - v.wait_since
        v.exit_pending = False
        v.waiting_for = -1
        if v.section >= 0:
            self.sections[v.section].last_exit = now
            self._leave(v)
        v.section = nxt
        self.sections[nxt].queue.append(v)
        self._count_entry(nxt, now)
        if stood >= 0:  # the day's blocked time, on the day the vehicle got going
            self._blocked_days[self._today][stood] += waited
        v.k += 1
        if v.stopped:
            self._plan(v, v.k)
        self._schedule_piece_end(v)

    def _leave(self, v: Vehicle) -> None:
        """``v`` gives up its place in its section; wake who waited for it."""
        if v.section < 0:
            return
        sec = self.sections[v.section]
        was_head = sec.queue[0] is v
        sec.queue.remove(v)
        v.section = -1
        if was_head and sec.queue and sec.queue[0].exit_pending:
            self.clock.call_last_later(0.0, self._retry, sec.queue[0])
        if sec.waiters:
            self.clock.call_last_later(0.0, self._admit, sec)

    def _admit(self, sec: _Section) -> None:
        while sec.waiters and len(sec.queue) < sec.capacity:
            w = sec.waiters.popleft()
            self._enter(w, w.waiting_for)

    def _deadlock(self, v: Vehicle, want: int) -> bool:
        """Follow the wait-for chain from section ``want``; True if it closes (and log it)."""
        s = want
        chain = [want]
        for _ in range(len(self.sections)):
            q = self.sections[s].queue
            if not q:
                return False
            head = q[0]
            if head is v:  # the chain comes back to the vehicle that wants to move
                self.deadlock_count += 1
                if len(self.deadlocks) < 100:
                    names = [self.graph.section_name[x] for x in chain]
                    self.deadlocks.append((self.clock.now_s, names))
                return True
            if head.waiting_for < 0:
                return False
            s = head.waiting_for
            chain.append(s)
        return False

    # ----------------------------------------------------------------- statistics

    # per-day sums: moves, transport, wait for vehicle, empty travel, loaded travel, blocked,
    # busy, pending-queue maximum
    _COLS = 8

    def _day(self, t: float) -> int:
        d = int(t // DAY_S)
        while len(self._days) <= d:
            self._days.append(np.zeros(self._COLS))
            self._hist.append(np.zeros(HIST_BINS, dtype=np.int64))
            self._entries.append(np.zeros(len(self.sections), dtype=np.int64))
            self._blocked_days.append(np.zeros(len(self.sections)))
        return d

    def _count_entry(self, sec: int, now: float) -> None:
        if now >= self._next_day_s:
            self._flush_entries()
            self._today = self._day(now)
            self._today_entries = [0] * len(self.sections)
            self._next_day_s = (self._today + 1) * DAY_S
        self._today_entries[sec] += 1

    def _flush_entries(self) -> None:
        """Copy today's entry counts into the per-day array."""
        if self._today >= 0:
            self._entries[self._today][:] = self._today_entries

    def _record(self, v: Vehicle, m: Move, now: float) -> None:
        d = self._day(now)
        row = self._days[d]
        total = now - m.t_req
        row[0] += 1
        row[1] += total
        row[2] += m.t_assign - m.t_req
        row[3] += m.t_pick - m.t_assign
        row[4] += m.t_drop - m.t_loaded
        row[5] += m.blocked_s
        row[6] += now - self._busy_from[v.id]
        row[7] = max(row[7], len(self.pending))
        self._hist[d][min(int(total / HIST_BIN_S), HIST_BINS - 1)] += 1

    def record(self) -> OhtRecord:
        """Return the per-day sums so far (small and picklable; the KPIs come from it)."""
        self._flush_entries()
        return OhtRecord(
            days=np.array(self._days).reshape(-1, self._COLS),
            hist=np.array(self._hist, dtype=np.int64).reshape(-1, HIST_BINS),
            entries=np.array(self._entries, dtype=np.int64).reshape(-1, len(self.sections)),
            vehicles=len(self.vehicles),
            deadlocks=self.deadlock_count,
            section_names=list(self.graph.section_name),
            blocked=np.asarray(self.blocked_s, dtype=np.float64),
            blocked_days=np.array(self._blocked_days).reshape(-1, len(self.sections)),
            section_of=list(self.graph.section_of),
        )

    def kpis(self, start_s: float, end_s: float, *, top: int = 5) -> dict[str, float]:
        """Return the fleet's KPIs over ``[start_s, end_s)``: :meth:`OhtRecord.kpis`."""
        return self.record().kpis(start_s, end_s, top=top)

    # ----------------------------------------------------------------- for a view

    def link_load(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (entries, blocked seconds) per rail link since the start, in the order of
        the plant file's links; every link of a section shows its section's figures (a
        vehicle enters and is blocked in a section, not a link)."""
        self._flush_entries()
        entries = np.zeros(len(self.sections), dtype=np.float64)
        if self._entries:
            entries += np.sum(np.asarray(self._entries, dtype=np.float64), axis=0)
        of = np.asarray(self.graph.section_of, dtype=np.int64)
        return entries[of], np.asarray(self.blocked_s, dtype=np.float64)[of]

    def positions(self) -> list[tuple[int, float, float, bool, str]]:
        """Return (vehicle, x, y, loaded, state) of every vehicle now, floor metres."""
        now = self.clock.now_s
        g = self.graph
        out = []
        for v in self.vehicles:
            x, y = g.node_xy[v.node]
            if v.pieces and v.links and not (v.exit_pending or v.waiting_for >= 0):
                t = now - v.t0
                j = bisect_right(v.cum, t)
                if j < len(v.links):
                    k = v.links[j]
                    t_in = v.cum[j - 1] if j > 0 else 0.0
                    f = (t - t_in) / max(v.cum[j] - t_in, 1e-9)
                    a, b = g.node_xy[g.frm[k]], g.node_xy[g.to[k]]
                    x, y = a + (b - a) * min(max(f, 0.0), 1.0)
            out.append((v.id, float(x), float(y), v.state == _LOADED, v.state))
        return out

    def vehicle_rows(self) -> list[tuple[int, float, float, str, str]]:
        """Return (vehicle, x, y, state, carrier) now, as published over OPC UA.

        ``state`` is ``idle`` (parked), ``moving`` (on its way to a pick-up, or hoisting a lot
        up) or ``loaded`` (a lot on board, until it is set down); ``carrier`` the id of the lot
        on board (empty when none).
        """
        out = []
        for (i, x, y, _, _), v in zip(self.positions(), self.vehicles, strict=True):
            m = v.move
            on_board = m is not None and v.state != _IDLE and not math.isnan(m.t_loaded)
            if on_board and m is not None:
                carrier = str(getattr(m.payload, "id", m.payload))
                out.append((i, x, y, "loaded", carrier))
            else:
                out.append((i, x, y, "idle" if v.state == _IDLE else "moving", ""))
        return out


@dataclass
class OhtRecord:
    """Per-day sums of a fleet's moves (columns of ``days``: moves, transport, wait for a
    vehicle, empty travel, loaded travel, blocked, busy time, most moves pending), a
    transport-time histogram per day and entries per section per day."""

    days: np.ndarray
    hist: np.ndarray
    entries: np.ndarray
    vehicles: int
    deadlocks: int
    section_names: list[str]
    # blocked seconds of moves per section over the whole run and each link's section, for
    # per-link maps
    blocked: np.ndarray | None = None
    section_of: list[int] | None = None
    # blocked seconds of moves per day and section (counted on the day the vehicle got going)
    blocked_days: np.ndarray | None = None

    def _window(self, start_s: float, end_s: float) -> tuple[int, int, float]:
        """The whole days inside ``[start_s, end_s)`` (all recorded if shorter than a day)
        and their hours (the run's end caps the last)."""
        d0 = math.ceil(start_s / DAY_S - 1e-9)
        d1 = min(int(end_s // DAY_S), len(self.days))
        if d1 <= d0:  # shorter than a day: everything recorded
            d0, d1 = 0, len(self.days)
        hours = (d1 - d0) * DAY_S / 3600.0
        return d0, d1, min(hours, max(end_s - d0 * DAY_S, 1.0) / 3600.0)

    def _blocked_per_h(self, d0: int, d1: int, hours: float, end_s: float) -> np.ndarray | None:
        """Blocked seconds per hour per section over days ``d0..d1`` (over the whole run for
        a record without per-day figures)."""
        if self.blocked_days is not None and len(self.blocked_days) >= d1 > d0:
            return np.sum(self.blocked_days[d0:d1], axis=0) / hours
        if self.blocked is not None and len(self.blocked) and end_s > 0:
            return np.asarray(self.blocked, dtype=float) * 3600.0 / end_s
        return None

    def kpis(self, start_s: float, end_s: float, *, top: int = 5) -> dict[str, float]:
        """Return the fleet's KPIs over the whole days inside ``[start_s, end_s)``.

        ``amhs_*`` keys: the fleet size, moves per hour, transport time per move (mean, p95: from request
        to set-down), waiting for a vehicle, blocked time per move, vehicle utilisation (busy
        time over fleet time), empty-travel share (of travel time), deadlocks, the ``top``
        busiest sections (entries per hour) and the ``top`` most blocked ones (blocked seconds
        of moves per hour), named by their first link.
        """
        d0, d1, hours = self._window(start_s, end_s)
        out: dict[str, float] = {}
        if d1 <= d0:
            return out
        sums = np.sum(self.days[d0:d1], axis=0)
        n = sums[0]
        hist = np.sum(self.hist[d0:d1], axis=0)
        out["amhs_vehicles"] = float(self.vehicles)
        out["amhs_moves_per_h"] = n / hours
        nan = math.nan
        out["amhs_transport_mean_min"] = sums[1] / n / 60 if n else nan
        out["amhs_transport_p95_min"] = _p95(hist) / 60 if n else nan
        out["amhs_wait_vehicle_mean_min"] = sums[2] / n / 60 if n else nan
        out["amhs_blocked_per_move_s"] = sums[5] / n if n else nan
        out["amhs_vehicle_utilisation"] = sums[6] / (self.vehicles * hours * 3600.0)
        travel = sums[3] + sums[4]
        out["amhs_empty_travel_share"] = sums[3] / travel if travel > 0 else nan
        out["amhs_pending_max"] = float(np.max(self.days[d0:d1, 7]))
        out["amhs_deadlocks"] = float(self.deadlocks)
        entries = np.sum(self.entries[d0:d1], axis=0)
        for rank, s in enumerate(np.argsort(-entries, kind="stable")[:top], start=1):
            out[f"amhs_busiest_section_{rank}_entries_per_h"] = float(entries[s]) / hours
        per_h = self._blocked_per_h(d0, d1, hours, end_s)
        if per_h is not None:
            for rank, s in enumerate(np.argsort(-per_h, kind="stable")[:top], start=1):
                out[f"amhs_most_blocked_section_{rank}_s_per_h"] = float(per_h[s])
        return {k: float(x) for k, x in out.items()}

    def link_table(self, start_s: float, end_s: float) -> dict[str, list[Any]]:
        """Per rail link (in the plant file's order, when the record knows the links):
        ``section`` (its first link's id), ``entries_per_h`` and ``blocked_s_per_h`` over the
        whole days inside ``[start_s, end_s)`` (as :meth:`kpis`)."""
        if self.section_of is None:
            return {}
        of = np.asarray(self.section_of, dtype=np.int64)
        d0, d1, hours = self._window(start_s, end_s)
        hours = max(hours, 1.0 / 3600.0)
        entries = np.sum(self.entries[d0:d1], axis=0).astype(float) / hours
        blocked = self._blocked_per_h(d0, d1, hours, end_s)
        if blocked is None:
            blocked = np.full(len(self.section_names), math.nan)
        return {
            "section": [self.section_names[int(k)] for k in of],
            "entries_per_h": [float(x) for x in entries[of]],
            "blocked_s_per_h": [float(x) for x in blocked[of]],
        }

    def busiest(self, top: int = 5) -> list[tuple[str, int]]:
        """Return the ``top`` sections by entries over the whole run (first link's id)."""
        entries = np.sum(self.entries, axis=0)
        order = np.argsort(-entries, kind="stable")[:top]
        return [(self.section_names[int(s)], int(entries[s])) for s in order]


def _p95(hist: np.ndarray) -> float:
    c = np.cumsum(hist)
    if c[-1] == 0:
        return math.nan
    i = int(np.searchsorted(c, 0.95 * c[-1]))
    return (i + 0.5) * HIST_BIN_S
