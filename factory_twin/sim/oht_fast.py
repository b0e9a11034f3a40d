"""The OHT fleet with its section passages in compiled code (``amhs.engine: compiled``).

:class:`CompiledOhtFleet` has the API and the rules of :class:`factory_twin.sim.oht.OhtFleet`
(the pure-Python reference, ``amhs.engine: python``) and gives the same results; the work per
move and per section passage runs compiled (:mod:`factory_twin.sim.oht_core`, numba).

Python keeps the queue of moves waiting for a vehicle, the ``done`` callbacks, building the
fastest paths and the KPIs. The compiled core dispatches (nearest idle or FIFO, from its cache
of paths and travel times, which Python fills when the core names what it lacks), drives
every move (the empty run, hoisting, the loaded run, lowering) on its own queue of events and
adds each delivered move to the day's sums. The fleet is the engine's coupled component
(:meth:`Engine.couple`), and it runs lazily: the model sees the fleet only when a vehicle sets
a lot down, so the engine runs its own entries on while they come before ``bound_t`` (the
core's lower bound on the next set-down: a lowering vehicle's exact time, or the time the
core has run up to plus one hoisting) and only then lets the core run its events up to the
engine's next entry; it stops early when a vehicle has set a lot down, which Python hands to
the ``done`` callback (and, if a move waits, to the vehicle). A request first runs the core's
events due before it, and so does every read of the fleet's state. The core's events come
after the engine's other entries due at the same time, as the Python fleet's entries do
(:meth:`Engine.call_last_at`): same events, same order, same results.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from factory_twin.model.amhs import Amhs
from factory_twin.sim import oht_core as core
from factory_twin.sim import oht_state
from factory_twin.sim.engine import Engine
from factory_twin.sim.oht import (
    _CACHE,
    DAY_S,
    HIST_BINS,
    FleetBase,
    Move,
    OhtFleet,
    OhtRecord,
)
from factory_twin.sim.oht_state import (
    ASSIGNED,
    E_SUMS,
    F_BOUND,
    F_DUET,
    F_EXTT,
    GROW,
    H_EXTV,
    H_NEEDA,
    H_NEEDB,
    H_NPEND,
    LIMIT,
    NEED_PATH,
    NEED_TIMES,
    PARKED,
    QUEUED,
)

_STATE = ("idle", "empty", "loaded", "handling")  # by oht_state.ST_*


class CompiledOhtFleet(FleetBase):
    """A fleet of OHT vehicles on the rails of ``amhs``, driven by ``clock``, compiled.

    The parameters and the public API are those of :class:`factory_twin.sim.oht.OhtFleet`;
    ``clock`` must be an :class:`~factory_twin.sim.engine.Engine` (the fleet is its coupled
    component).
    """

    clock: Engine

    def _setup(self) -> None:
        g = self.graph
        amhs = self.amhs
        v = amhs.vehicle
        n = len(self.start_at)
        self._i, self._f = oht_state.layout(
            n, g.capacity, self.headway_s, g.length, g.vmax, amhs.handling_s,
            v.accel_m_s2, v.decel_m_s2, self.start_at, len(g.node_ids), self.nearest,
        )  # fmt: skip
        self._ns = len(g.sections)
        # per day: entries per section, the sums of a move (oht_state.E_SUMS), the histogram,
        # blocked seconds per section
        self._e = np.zeros((1, 2 * self._ns + E_SUMS + HIST_BINS), dtype=np.float64)
        self._e_end = DAY_S  # the end of the last day it has a row for
        self.vehicles = list(range(n))  # vehicle numbers (the state lives in the core)
        self.pending: deque[Move] = deque()
        self._moves: list[Move | None] = [None] * n
        best = sorted(g.link_of.items())  # the fastest link from each node to each neighbour
        ptr = np.zeros(len(g.node_ids) + 1, dtype=np.int64)
        np.add.at(ptr, [a + 1 for (a, _), _ in best], 1)
        self._adj = (
            np.cumsum(ptr),
            np.array([b for (_, b), _ in best], dtype=np.int64),
            np.array([k for _, k in best], dtype=np.int64),
            np.array(g.section_of, dtype=np.int64),
            np.array(g.to, dtype=np.int64),
        )
        self._request, self._assign_core, self._advance = core.request, core.assign, core.advance
        self._views()
        #: the time of the fleet's next event and the earliest time a vehicle can set a lot
        #: down (infinity: none), for the engine
        self.due_t = self.bound_t = math.inf
        self.clock.couple(self)

    def _views(self) -> None:
        """Name the parts of the state arrays Python reads (again after they grew)."""
        i_arr, f_arr = self._i, self._f
        n = len(self.vehicles)
        # single values are read and written through memoryviews (cheaper than numpy's item)
        self._iv, self._fv = i_arr.data, f_arr.data
        self._o_pick = int(i_arr[oht_state.O_VTPICK])
        self._o_loaded = int(i_arr[oht_state.O_VTLOADED])
        self._o_drop = int(i_arr[oht_state.O_VTDROP])
        self._o_blocked = int(i_arr[oht_state.O_VBLOCKED])

        def iview(slot: int) -> np.ndarray:
            return i_arr[i_arr[slot] : i_arr[slot] + n]

        def fview(slot: int) -> np.ndarray:
            return f_arr[i_arr[slot] : i_arr[slot] + n]

        self._node, self._path_at, self._k = (
            iview(oht_state.O_VNODE),
            iview(oht_state.O_VPATH),
            iview(oht_state.O_VK),
        )
        self._pstart, self._plan_n = iview(oht_state.O_VPSTART), iview(oht_state.O_VPLAN_N)
        self._exit_pending, self._waiting = iview(oht_state.O_VEXITP), iview(oht_state.O_VWAITFOR)
        self._state = iview(oht_state.O_VSTATE)
        self._t0, self._blocked = fview(oht_state.O_VT0), fview(oht_state.O_VBLOCKED)
        self._t_pick, self._t_loaded = fview(oht_state.O_VTPICK), fview(oht_state.O_VTLOADED)
        self._t_drop = fview(oht_state.O_VTDROP)
        self._vcum, self._nl = int(i_arr[oht_state.O_VCUM]), len(self.graph.length)

    # ----------------------------------------------------------------- requests

    def request_at(self, a: int, b: int, payload: Any, done: Callable[[Any], object]) -> Move:
        """Ask for a move of ``payload`` from rail node number ``a`` to ``b``; ``done(payload)``
        is called when it has been set down."""
        now = self.clock.now_s
        m = Move(payload, a, b, done, now)
        if now >= self._e_end:
            self._room(now)
        # the common case in one call (``_call`` fills the cache and asks again)
        code = self._request(self._i, self._f, self._e, a, b, now)
        if code in (NEED_PATH, NEED_TIMES):
            self._fill(code)
            code = self._call(self._request, a, b, now)
        fv = self._fv
        self.due_t, self.bound_t = fv[F_DUET], fv[F_BOUND]  # (_note_due, inline)
        if code == ASSIGNED:
            m.t_assign = now
            self._moves[self._iv[H_EXTV]] = m
        else:
            assert code == QUEUED, code
            self.pending.append(m)
            self._iv[H_NPEND] = len(self.pending)
        return m

    def _call(self, fn: Callable[..., int], *args: Any) -> int:
        """Call the core's ``fn(I, F, E, *args)`` (request or assign), filling its cache
        until it has what it needs; return its code."""
        while True:
            code = fn(self._i, self._f, self._e, *args)
            if code != NEED_PATH and code != NEED_TIMES:
                return code
            self._fill(code)

    def _next_move(self, v: int) -> None:
        """``v`` has set its lot down and a move waits: give it the oldest."""
        m = self.pending.popleft()
        self._iv[H_NPEND] = len(self.pending)
        now = self.clock.now_s
        if now >= self._e_end:
            self._room(now)
        code = self._call(self._assign_core, v, m.src, m.dst, m.t_req, now)
        assert code == ASSIGNED, code
        m.t_assign = now
        self._moves[v] = m  # (fire, which called this, tells the engine the next event)

    def _fill(self, code: int) -> None:
        """Put in the core's cache what it named as missing (``code``: NEED_PATH or
        NEED_TIMES)."""
        a = self._iv[H_NEEDA]
        if code == NEED_TIMES:
            times = self.graph.time_to(a)
            self._make_room(0, len(times))
            oht_state.add_times(self._i, self._f, a, times)
            return
        assert code == NEED_PATH, code
        self._cache_path(a, self._iv[H_NEEDB])

    def _make_room(self, ints: int, floats: int) -> None:
        """Make sure the cache takes one more entry: grow it (its stores keep their places),
        or once it holds ``_CACHE`` paths, empty it (vehicles keep copies of the cached paths
        they point to)."""
        i_arr, f_arr = self._i, self._f
        if oht_state.room(i_arr, f_arr, ints, floats):
            return
        tcap = int(i_arr[oht_state.H_TCAP])
        if int(i_arr[oht_state.H_TN]) >= _CACHE:
            oht_state.clear_cache(i_arr, f_arr)
            if oht_state.room(i_arr, f_arr, ints, floats):
                return
        if 2 * (int(i_arr[oht_state.H_TN]) + 1) > tcap:
            tcap *= 2
        icap = int(i_arr[oht_state.H_TAB]) - int(i_arr[oht_state.H_SI])
        fcap = len(f_arr) - int(i_arr[oht_state.H_SF])
        icap = max(icap, 2 * (int(i_arr[oht_state.H_SIN]) + ints))
        fcap = max(fcap, 2 * (int(i_arr[oht_state.H_SFN]) + floats))
        self._i, self._f = oht_state.regrow(i_arr, f_arr, tcap, icap, fcap)
        self._views()

    def _cache_path(self, a: int, b: int) -> None:
        """Put the fastest path from node ``a`` to ``b`` in the core's cache (the core adds its
        kinematic profile from rest to rest)."""
        g = self.graph
        path = oht_state.pack_path(g.predecessors(a), a, b, *self._adj)
        if not len(path):
            msg = f"no rail path from {g.node_ids[a]} to {g.node_ids[b]}"
            raise ValueError(msg)
        if not core.cache_path(self._i, self._f, a, b, path):
            self._make_room(len(path) + 1, int(path[0]) + int(path[1]))
            core.cache_path(self._i, self._f, a, b, path)

    # ----------------------------------------------------------------- the engine's side

    def fire(self, limit_t: float) -> None:
        """Run the fleet's events due before ``limit_t`` (the engine's next entry or the end of
        its run), up to the first that sets a lot down; then tell the engine when the next
        event is and how early the next lot can be set down."""
        code = self._advance(self._i, self._f, self._e, limit_t)
        while code == GROW:
            self._grow(int(self._fv[F_DUET] // DAY_S) + 1)
            code = self._advance(self._i, self._f, self._e, limit_t)
        if code != LIMIT:
            # a vehicle has set its lot down (the core has added it to the day's sums): the
            # move's times, its next move if one waits (else it has parked), the callback
            fv = self._fv
            self.clock.now_s = fv[F_EXTT]
            v = self._iv[H_EXTV]
            m = self._moves[v]
            assert m is not None
            m.t_pick = fv[self._o_pick + v]
            m.t_loaded = fv[self._o_loaded + v]
            m.t_drop = fv[self._o_drop + v]
            m.blocked_s = fv[self._o_blocked + v]
            self._moves[v] = None
            if code != PARKED:
                self._next_move(v)
            m.done(m.payload)
        # (the ``done`` callback may have asked for moves meanwhile; the arrays may have grown)
        fv = self._fv
        self.due_t, self.bound_t = fv[F_DUET], fv[F_BOUND]  # (_note_due, inline)

    def _note_due(self) -> None:
        """Tell the engine what the core noted: its next event and the bound on the next
        set-down."""
        fv = self._fv
        self.due_t, self.bound_t = fv[F_DUET], fv[F_BOUND]

    def _sync(self) -> None:
        """Run the events due before now, for a read of the fleet's state now."""
        now = self.clock.now_s
        if self.due_t < now:
            if now >= self._e_end:
                self._room(now)
            core.sync(self._i, self._f, self._e, now)
            self._note_due()

    @property
    def events_used(self) -> int:
        """Events the fleet has scheduled so far."""
        return int(self._iv[oht_state.H_SEQ])

    def _room(self, now: float) -> None:
        """Make sure the per-day sums have a row for today."""
        if now >= len(self._e) * DAY_S:
            self._grow(int(now // DAY_S) + 1)

    def _grow(self, rows: int) -> None:
        e = np.zeros((max(rows, 2 * len(self._e)), self._e.shape[1]), dtype=np.float64)
        e[: len(self._e)] = self._e
        self._e = e
        self._e_end = len(e) * DAY_S

    # ----------------------------------------------------------------- statistics

    @property
    def deadlock_count(self) -> int:
        """Deadlocks detected (and resolved) so far."""
        self._sync()
        return int(self._i[oht_state.H_DLN])

    @property
    def deadlocks(self) -> list[tuple[float, list[str]]]:
        """The first deadlocks: (time, sections of the wait-for chain, by first link)."""
        self._sync()
        i_arr, f_arr = self._i, self._f
        ns = int(i_arr[oht_state.H_S])
        names = self.graph.section_name
        out = []
        for d in range(min(self.deadlock_count, oht_state.DEADLOCK_LOG)):
            n = int(i_arr[i_arr[oht_state.O_DLLEN] + d])
            o = int(i_arr[oht_state.O_DLSEC]) + d * ns
            out.append(
                (float(f_arr[i_arr[oht_state.O_DLT] + d]), [names[s] for s in i_arr[o : o + n]])
            )
        return out

    def record(self) -> OhtRecord:
        """Return the per-day sums so far (small and picklable; the KPIs come from it)."""
        self._sync()
        rows = int(self._i[oht_state.H_MAXDAY]) + 1
        e = np.zeros((rows, self._e.shape[1]), dtype=np.float64)
        k = min(rows, len(self._e))
        e[:k] = self._e[:k]
        ns = self._ns
        return OhtRecord(
            days=e[:, ns : ns + E_SUMS].copy(),
            hist=e[:, ns + E_SUMS : ns + E_SUMS + HIST_BINS].astype(np.int64),
            entries=e[:, :ns].astype(np.int64),
            blocked_days=e[:, ns + E_SUMS + HIST_BINS :].copy(),
            vehicles=len(self.vehicles),
            deadlocks=self.deadlock_count,
            section_names=list(self.graph.section_name),
            blocked=self.link_load_sections()[1],
            section_of=list(self.graph.section_of),
        )

    def kpis(self, start_s: float, end_s: float, *, top: int = 5) -> dict[str, float]:
        """Return the fleet's KPIs over ``[start_s, end_s)``: :meth:`OhtRecord.kpis`."""
        return self.record().kpis(start_s, end_s, top=top)

    # ----------------------------------------------------------------- for a view

    def link_load_sections(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (entries, blocked seconds of moves) per section since the start."""
        self._sync()
        ns = self._ns
        at = int(self._i[oht_state.O_SBLOCKED])
        blocked = np.array(self._f[at : at + ns], dtype=np.float64)
        return self._e[:, :ns].sum(axis=0), blocked

    def link_load(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (entries, blocked seconds) per rail link since the start, as
        :meth:`factory_twin.sim.oht.OhtFleet.link_load`."""
        entries, blocked = self.link_load_sections()
        of = np.asarray(self.graph.section_of, dtype=np.int64)
        return entries[of], blocked[of]

    def positions(self) -> list[tuple[int, float, float, bool, str]]:
        """Return (vehicle, x, y, loaded, state) of every vehicle now, floor metres."""
        self._sync()
        now = self.clock.now_s
        g = self.graph
        i_arr = self._i
        out = []
        for v in self.vehicles:
            x, y = g.node_xy[self._node[v]]
            p = int(self._path_at[v])
            n = int(self._plan_n[v])
            if (
                p >= 0
                and n
                and self._k[v] >= 0
                and not (self._exit_pending[v] or self._waiting[v] >= 0)
            ):
                npc = int(i_arr[p])
                start = int(self._pstart[v])
                # the cumulative link end times: after the piece end times of the profile
                # from the run's start, or the vehicle's own from a stop on the way
                at = int(i_arr[p - 1]) + npc if start == 0 else self._vcum + v * self._nl
                cum = self._f[at : at + n]
                t = now - self._t0[v]
                j = int(np.searchsorted(cum, t, side="right"))
                if j < n:
                    k = int(i_arr[p + 2 + npc + start + j])
                    t_in = cum[j - 1] if j > 0 else 0.0
                    f = (t - t_in) / max(cum[j] - t_in, 1e-9)
                    a, b = g.node_xy[g.frm[k]], g.node_xy[g.to[k]]
                    x, y = a + (b - a) * min(max(f, 0.0), 1.0)
            state = _STATE[int(self._state[v])]
            out.append((v, float(x), float(y), state == "loaded", state))
        return out

    def vehicle_rows(self) -> list[tuple[int, float, float, str, str]]:
        """Return (vehicle, x, y, state, carrier) now, as published over OPC UA
        (see :meth:`factory_twin.sim.oht.OhtFleet.vehicle_rows`)."""
        out = []
        for i, x, y, _, state in self.positions():
            m = self._moves[i]
            if m is not None and state != "idle" and not math.isnan(self._t_loaded[i]):
                out.append((i, x, y, "loaded", str(getattr(m.payload, "id", m.payload))))
            else:
                out.append((i, x, y, "idle" if state == "idle" else "moving", ""))
        return out


#: Either implementation of the fleet.
Fleet = OhtFleet | CompiledOhtFleet


def new_fleet(amhs: Amhs, clock: Engine, **kw: Any) -> Fleet:
    """Return the fleet ``amhs.engine`` asks for: compiled (the default) or pure Python."""
    if amhs.engine == "python":
        return OhtFleet(amhs, clock, **kw)
    return CompiledOhtFleet(amhs, clock, **kw)
