"""The OHT fleet with its section passages in compiled code (``amhs.engine: compiled``).

:class:`CompiledOhtFleet` has the API and the rules of :class:`factory_twin.sim.oht.OhtFleet`
(the pure-Python reference, ``amhs.engine: python``) and gives the same results; only the
work per section passage runs compiled (:mod:`factory_twin.sim.oht_core`, numba).

Python keeps what happens once or twice per move: requests, dispatch (nearest idle or FIFO),
the queue of moves waiting for a vehicle, the ``done`` callbacks, the per-day sums and the KPIs.
The compiled core runs everything in between (driving the empty run, hoisting, driving the
loaded run, lowering) on its own queue of events. The engine holds one entry for the fleet: its
next event, under that event's own key. When the entry fires, the core runs its events in
order up to the engine's next entry (nothing outside the fleet can happen before it) and stops
early when a vehicle has set a lot down, which Python handles (statistics, the next move, the
``done`` callback) before the core goes on. The core takes its event keys from the engine's
sequence (:meth:`Engine.next_id`, :meth:`Engine.use_ids`), so its events order among the
engine's exactly as the Python fleet's own entries do: same events, same order, same results.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import numpy as np

from factory_twin.model.amhs import Amhs
from factory_twin.sim import oht_core as core
from factory_twin.sim.engine import Engine
from factory_twin.sim.oht import (
    _CACHE,
    DAY_S,
    HIST_BIN_S,
    HIST_BINS,
    Move,
    OhtFleet,
    OhtRecord,
)
from factory_twin.sim.oht_core import (
    F_EXTT,
    GROW,
    H_EXTV,
    H_HN,
    H_NIDLE,
    H_NPEND,
    LIMIT,
    PARKED,
)
from factory_twin.sim.oht_graph import RailGraph

_STATE = ("idle", "empty", "loaded", "handling")  # by core.ST_*
_NO_KEY = 2**63 - 1
_EMPTY_PATH = np.zeros(0, dtype=np.int64)
_EMPTY_CUM = np.zeros(0, dtype=np.float64)


class CompiledOhtFleet:
    """A fleet of OHT vehicles on the rails of ``amhs``, driven by ``clock``, compiled.

    The parameters and the public API are those of :class:`factory_twin.sim.oht.OhtFleet`;
    ``clock`` must be an :class:`~factory_twin.sim.engine.Engine` (the fleet keys its events
    from the engine's sequence).
    """

    def __init__(
        self,
        amhs: Amhs,
        clock: Engine,
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
        v = amhs.vehicle
        n = fleet if fleet is not None else amhs.fleet
        if start_nodes is None:
            start_nodes = [s.node for s in amhs.stockers if s.kind == "stocker"]
        if not start_nodes:
            step = max(1, len(g.node_ids) // n)
            start_nodes = [g.node_ids[(i * step) % len(g.node_ids)] for i in range(n)]
        starts = [g.node_index[start_nodes[i % len(start_nodes)]] for i in range(n)]
        headway = [v.pitch_m / g.vmax[links[-1]] for links in g.sections]
        self._i, self._f = core.layout(
            n, g.capacity, headway, g.length, g.vmax, amhs.handling_s,
            v.accel_m_s2, v.decel_m_s2, starts,
        )  # fmt: skip
        self._e = np.zeros((1, len(g.sections)), dtype=np.int64)  # entries per day, section
        self._e_end = DAY_S  # the end of the last day it has a row for
        self.vehicles = list(range(n))  # vehicle numbers (the state lives in the core)
        self.pending: deque[Move] = deque()
        self._moves: list[Move | None] = [None] * n
        self._idle_since = [0.0] * n
        self._busy_from = [0.0] * n
        self._days: list[list[float]] = []  # per day: the sums of OhtFleet._COLS
        self._hist: list[np.ndarray] = []
        self._paths: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._times: dict[int, np.ndarray] = {}  # graph.time_to, without a call
        self._nn = len(g.node_ids)
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
        self._pick, self._start, self._advance = core.pick, core.start, core.advance
        self._armed: list[tuple[float, int]] = []  # keys of the fleet's entries on the engine
        self._firing = False
        self._no_times = np.zeros(1, dtype=np.float32)
        i_arr, f_arr = self._i, self._f
        self._ht, self._hk = int(i_arr[core.O_HT]), int(i_arr[core.O_HK])

        def iview(slot: int) -> np.ndarray:
            return i_arr[i_arr[slot] : i_arr[slot] + n]

        def fview(slot: int) -> np.ndarray:
            return f_arr[i_arr[slot] : i_arr[slot] + n]

        self._node, self._path_at, self._k = (
            iview(core.O_VNODE),
            iview(core.O_VPATH),
            iview(core.O_VK),
        )
        self._pstart, self._plan_n = iview(core.O_VPSTART), iview(core.O_VPLAN_N)
        self._exit_pending, self._waiting = iview(core.O_VEXITP), iview(core.O_VWAITFOR)
        self._state = iview(core.O_VSTATE)
        self._t0, self._blocked = fview(core.O_VT0), fview(core.O_VBLOCKED)
        self._t_pick, self._t_loaded = fview(core.O_VTPICK), fview(core.O_VTLOADED)
        self._t_drop = fview(core.O_VTDROP)
        nl = len(g.length)
        self._cum = f_arr[i_arr[core.O_VCUM] : i_arr[core.O_VCUM] + n * nl].reshape(n, nl)

    # ----------------------------------------------------------------- requests

    def request(self, src: str, dst: str, payload: Any, done: Callable[[Any], object]) -> Move:
        """Ask for a move of ``payload`` from rail node ``src`` to ``dst``; ``done(payload)``
        is called when it has been set down."""
        ni = self.graph.node_index
        m = Move(payload, ni[src], ni[dst], done, self.clock.now_s)
        i_arr = self._i
        idle = i_arr.item(H_NIDLE)
        if idle:
            times = self._no_times
            if self.nearest and idle > 1:
                got = self._times.get(m.src)
                if got is None:
                    got = self._times[m.src] = self.graph.time_to(m.src)
                times = got
            self._assign(self._pick(i_arr, times, self.nearest), m)
        else:
            self.pending.append(m)
            i_arr[H_NPEND] = len(self.pending)
        return m

    def nominal_s(self, src: str, dst: str) -> float:
        """Return handling plus free-running loaded travel time from ``src`` to ``dst``."""
        g = self.graph
        links = g.path_links(g.node_index[src], g.node_index[dst])
        return 2 * self.handling_s + g.run_time_s(links)

    def _assign(self, v: int, m: Move) -> None:
        env = self.clock
        now = env.now_s
        m.t_assign = now
        self._busy_from[v] = now
        self._moves[v] = m
        # the two paths from the cache (one dict look-up each), else built
        paths, nn, src = self._paths, self._nn, m.src
        at = self._node.item(v)
        empty = paths.get(at * nn + src) or self._path(at, src)
        loaded = paths.get(src * nn + m.dst) or self._path(src, m.dst)
        if now >= self._e_end:
            self._room(now)
        base = env.next_id()
        used = self._start(
            self._i, self._f, self._e, v, empty[0], loaded[0], empty[1], loaded[1], now, base
        )
        if used:
            env.use_ids(base + used)
            if not self._firing:
                self._arm()

    def _path(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """The pieces of the fastest path from node ``a`` to ``b``, packed for the core, and
        its kinematic profile from rest to rest."""
        if a == b:
            return _EMPTY_PATH, _EMPTY_CUM
        key = a * self._nn + b
        got = self._paths.get(key)
        if got is None:
            g = self.graph
            path = core.pack_path(g.predecessors(a), a, b, *self._adj)
            if not len(path):
                msg = f"no rail path from {g.node_ids[a]} to {g.node_ids[b]}"
                raise ValueError(msg)
            got = (path, core.profile_of(self._i, self._f, path))
            if len(self._paths) < _CACHE:
                self._paths[key] = got
        return got

    def _delivered(self, v: int, parked: bool = False) -> None:
        """``v`` has set its lot down; ``parked``: the core has parked it already (no move
        was waiting)."""
        m = self._moves[v]
        assert m is not None
        now = self.clock.now_s
        m.t_pick = t_pick = self._t_pick.item(v)
        m.t_loaded = t_loaded = self._t_loaded.item(v)
        m.t_drop = t_drop = self._t_drop.item(v)
        m.blocked_s = blocked = self._blocked.item(v)
        # the day's sums (OhtFleet._COLS), inline: this runs once per move
        d = int(now // DAY_S)
        if d >= len(self._days):
            self._day(now)
        row = self._days[d]
        total = now - m.t_req
        row[0] += 1
        row[1] += total
        row[2] += m.t_assign - m.t_req
        row[3] += t_pick - m.t_assign
        row[4] += t_drop - t_loaded
        row[5] += blocked
        row[6] += now - self._busy_from[v]
        pending = self.pending
        if len(pending) > row[7]:
            row[7] = len(pending)
        self._hist[d][min(int(total / HIST_BIN_S), HIST_BINS - 1)] += 1
        self._moves[v] = None
        if parked:
            self._idle_since[v] = now
        elif pending:
            m_next = pending.popleft()
            self._i[H_NPEND] = len(pending)
            self._assign(v, m_next)
        else:
            self._idle_since[v] = now
            if now >= self._e_end:
                self._room(now)
            env = self.clock
            base = env.next_id()
            used = core.park(self._i, self._f, v, now, base)
            if used:
                env.use_ids(base + used)
                self._arm()
        m.done(m.payload)

    # ----------------------------------------------------------------- the engine's entry

    def _arm(self) -> None:
        """Make sure the engine holds an entry at (or before) the fleet's next event."""
        if self._firing or not self._i.item(H_HN):
            return
        key = (self._f.item(self._ht), self._i.item(self._hk))
        armed = self._armed
        if armed and armed[0] <= key:
            return
        heappush(armed, key)
        heappush(self.clock.queue, (key[0], key[1], self._fire, None))

    def _fire(self, _: Any) -> None:
        """The fleet's entry: run its events up to the engine's next entry."""
        heappop(self._armed)
        env = self.clock
        q = env.queue
        i_arr, f_arr = self._i, self._f
        advance = self._advance
        self._firing = True
        try:
            while True:
                if q:
                    top = q[0]
                    limit_t, limit_k = top[0], top[1]
                else:
                    limit_t, limit_k = math.inf, _NO_KEY
                base = env.next_id()
                res = advance(i_arr, f_arr, self._e, limit_t, limit_k, env.until_s, base)
                if res >= 4:  # 4 * ids used + code
                    env.use_ids(base + (res >> 2))
                code = res & 3
                if code == LIMIT:
                    break
                if code == GROW:
                    self._grow(int(f_arr.item(self._ht) // DAY_S) + 1)
                    continue
                env.now_s = f_arr.item(F_EXTT)
                self._delivered(i_arr.item(H_EXTV), code == PARKED)
        finally:
            self._firing = False
        if i_arr.item(H_HN):  # _arm, inline (the entry that fired is gone)
            key = (f_arr.item(self._ht), i_arr.item(self._hk))
            armed = self._armed
            if not armed or armed[0] > key:
                heappush(armed, key)
                heappush(q, (key[0], key[1], self._fire, None))

    def _room(self, now: float) -> None:
        """Make sure the per-day entry counts have a row for today."""
        if now >= len(self._e) * DAY_S:
            self._grow(int(now // DAY_S) + 1)

    def _grow(self, rows: int) -> None:
        e = np.zeros((max(rows, 2 * len(self._e)), self._e.shape[1]), dtype=np.int64)
        e[: len(self._e)] = self._e
        self._e = e
        self._e_end = len(e) * DAY_S

    # ----------------------------------------------------------------- statistics

    _COLS = OhtFleet._COLS

    def _day(self, t: float) -> int:
        d = int(t // DAY_S)
        while len(self._days) <= d:
            self._days.append([0.0] * self._COLS)
            self._hist.append(np.zeros(HIST_BINS, dtype=np.int64))
        return d

    @property
    def deadlock_count(self) -> int:
        """Deadlocks detected (and resolved) so far."""
        return int(self._i[core.H_DLN])

    @property
    def deadlocks(self) -> list[tuple[float, list[str]]]:
        """The first deadlocks: (time, sections of the wait-for chain, by first link)."""
        i_arr, f_arr = self._i, self._f
        ns = int(i_arr[core.H_S])
        names = self.graph.section_name
        out = []
        for d in range(min(self.deadlock_count, core.DEADLOCK_LOG)):
            n = int(i_arr[i_arr[core.O_DLLEN] + d])
            o = int(i_arr[core.O_DLSEC]) + d * ns
            out.append((float(f_arr[i_arr[core.O_DLT] + d]), [names[s] for s in i_arr[o : o + n]]))
        return out

    def record(self) -> OhtRecord:
        """Return the per-day sums so far (small and picklable; the KPIs come from it)."""
        last = int(self._i[core.H_MAXDAY])
        if last >= 0:
            self._day(last * DAY_S)
        rows = len(self._days)
        entries = np.zeros((rows, self._e.shape[1]), dtype=np.int64)
        k = min(rows, len(self._e))
        entries[:k] = self._e[:k]
        return OhtRecord(
            days=np.array(self._days, dtype=float).reshape(-1, self._COLS),
            hist=np.array(self._hist, dtype=np.int64).reshape(-1, HIST_BINS),
            entries=entries,
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
        ns = len(self.graph.sections)
        at = int(self._i[core.O_SBLOCKED])
        blocked = np.array(self._f[at : at + ns], dtype=np.float64)
        return self._e.sum(axis=0).astype(np.float64), blocked

    def link_load(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (entries, blocked seconds) per rail link since the start, as
        :meth:`factory_twin.sim.oht.OhtFleet.link_load`."""
        entries, blocked = self.link_load_sections()
        of = np.asarray(self.graph.section_of, dtype=np.int64)
        return entries[of], blocked[of]

    def positions(self) -> list[tuple[int, float, float, bool, str]]:
        """Return (vehicle, x, y, loaded, state) of every vehicle now, floor metres."""
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
                cum = self._cum[v, :n]
                t = now - self._t0[v]
                j = int(np.searchsorted(cum, t, side="right"))
                if j < n:
                    npc = int(i_arr[p])
                    k = int(i_arr[p + 2 + 3 * npc + self._pstart[v] + j])
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
