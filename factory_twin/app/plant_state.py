"""Live plant state as plain Python: what the window shows, built from plant events.

The state is mutated only by :meth:`PlantState.apply` (called on the GUI thread with one
drained batch); it then emits each psygnal signal at most once for the batch. Views read the
state from here, never from the signal payload alone.
"""

from __future__ import annotations

import logging
import math
import time
from array import array
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from psygnal import Signal

from factory_twin.app.rail_routes import RailRoutes
from factory_twin.app.vehicle_state import VehicleState
from factory_twin.model.events import (
    FAB_EQUIPMENT,
    AlarmEvent,
    AlarmState,
    ConnectionStatus,
    E10State,
    LotMove,
    PlantEvent,
    Quality,
    StateChange,
    TagUpdate,
)
from factory_twin.model.schema import PlantSpec, TagSpec
from factory_twin.model.transport import transit_time_s

logger = logging.getLogger(__name__)

E10_ORDER: tuple[E10State, ...] = tuple(sorted(E10State, key=lambda s: s.code))
KPI_WINDOW_S = 3600.0  # plant seconds
# plant seconds of data before a rate is shown: a rate from a few seconds would be a wild
# extrapolation (one move in 2 s reads as 1800 moves/h)
RATE_MIN_S = 60.0
LOT_FORGET_S = 6 * 3600.0  # plant seconds a derived lot stays drawn off-tool
_MACHINE_TAGS = frozenset({"state", "lot", "recipe", "wafer_count"})
_BAD_QUALITY = (Quality.STALE, Quality.BAD)


class RingBuffer:
    """A fixed-size numeric history of (time, value) pairs, read as numpy arrays.

    Parameters
    ----------
    capacity
        Most samples kept; older ones are overwritten.
    """

    def __init__(self, capacity: int = 2400) -> None:
        self.capacity = int(capacity)
        # stdlib arrays of doubles: appending is several times cheaper than writing numpy
        # elements one by one, and a buffer only takes the memory its samples need (a
        # plant has thousands of tags, most with few samples yet)
        self._t = array("d")
        self._v = array("d")
        self._n = 0  # samples ever written

    def __len__(self) -> int:
        return min(self._n, self.capacity)

    def append(self, t: float, v: float) -> None:
        """Add one sample."""
        n = self._n
        if n < self.capacity:
            self._t.append(t)
            self._v.append(v)
        else:
            i = n % self.capacity
            self._t[i] = t
            self._v[i] = v
        self._n = n + 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (times, values) oldest first (copies)."""
        t = np.frombuffer(self._t, dtype=float)
        v = np.frombuffer(self._v, dtype=float)
        if self._n <= self.capacity:
            return t.copy(), v.copy()
        i = self._n % self.capacity
        return np.concatenate([t[i:], t[:i]]), np.concatenate([v[i:], v[:i]])

    @property
    def total(self) -> int:
        """Number of samples ever appended."""
        return self._n


@dataclass(slots=True)
class TagValue:
    """Latest value of one tag with its quality and timestamps."""

    value: Any
    quality: Quality
    source_ts: float
    server_ts: float | None
    status: str


@dataclass
class AlarmRecord:
    """A standing alarm: its newest transition and when it was first raised."""

    event: AlarmEvent
    raised_s: float

    @property
    def state(self) -> AlarmState:
        """ISA-18.2 state."""
        return self.event.state


@dataclass
class Kpis:
    """Live key figures computed from the received events.

    A rate (``*_h``) is None while it cannot be measured: less than :data:`RATE_MIN_S`
    plant seconds of data, or nothing that shows it (lots leaving the fab are seen only in
    LotMove events or the server's fab figures).
    """

    clock_s: float = 0.0
    throughput_lots_h: float | None = None
    moves_h: float | None = None
    moves_total: int = 0
    wip_lots: int = 0
    lots_out_total: int = 0
    wafers_h: float | None = None
    state_counts: dict[str, int] = field(default_factory=dict)
    state_time_share: dict[str, float] = field(default_factory=dict)
    plant_clock_s: float | None = None  # the source's fab-level plant clock, if it has one
    from_fab: bool = False  # throughput, WIP and moves come from the fab-level figures


def limit_status(spec: TagSpec | None, value: Any) -> str:
    """Return '', 'lo', 'lolo', 'hi' or 'hihi' for a value against a tag's alarm limits."""
    if spec is None or spec.alarms is None or not isinstance(value, (int, float)):
        return ""
    a = spec.alarms
    v = float(value)
    if a.hihi is not None and v >= a.hihi:
        return "hihi"
    if a.lolo is not None and v <= a.lolo:
        return "lolo"
    if a.hi is not None and v >= a.hi:
        return "hi"
    if a.lo is not None and v <= a.lo:
        return "lo"
    return ""


class PlantState:
    """Everything the live views show, updated in batches.

    Parameters
    ----------
    spec
        The plant.
    history_len
        Samples kept per numeric tag for trends.
    """

    states_changed = Signal(object)  # np.ndarray of tool indices whose display changed
    tags_changed = Signal(object)  # set of (equipment, tag)
    lots_changed = Signal()
    alarms_changed = Signal(object)  # list[AlarmEvent], the transitions of the batch
    connection_changed = Signal(object)  # dict[endpoint id, ConnectionStatus]
    kpis_changed = Signal()
    clock_changed = Signal(float)

    def __init__(self, spec: PlantSpec, *, history_len: int = 2400) -> None:
        self.spec = spec
        self.history_len = history_len
        self.ids: list[str] = [e.id for e in spec.equipment]
        self.index: dict[str, int] = {tid: i for i, tid in enumerate(self.ids)}
        n = len(self.ids)
        self.codes = np.full(n, -1, dtype=np.int16)  # E10 code, -1 = no data yet
        self.substate: list[str] = [""] * n
        self.lot: list[str] = [""] * n
        self.recipe: list[str] = [""] * n
        self.wafer_count: list[int | None] = [None] * n
        self.stale = np.zeros(n, dtype=bool)
        self.tags: dict[tuple[str, str], TagValue] = {}
        self.history: dict[tuple[str, str], RingBuffer] = {}
        self.alarms: dict[str, AlarmRecord] = {}
        self.connections: dict[str, ConnectionStatus] = {}
        self.clock_s = 0.0
        default_ep = spec.endpoints[0].id if spec.endpoints else ""
        self.tool_endpoint: list[str] = [
            e.opcua.endpoint if e.opcua is not None else default_ep for e in spec.equipment
        ]
        self._tag_specs: dict[tuple[str, str], TagSpec] = {}
        for e in spec.equipment:
            for t in spec.equipment_type(e.type).tags:
                self._tag_specs[(e.id, t.name)] = t
        # lots
        self.lot_moves: dict[str, LotMove] = {}
        self.time_scale = 1.0  # plant seconds per second of the data's timestamps
        self._have_moves = False  # LotMove events arrive (else moves are derived from 'lot' tags)
        self._lot_tool: dict[str, int] = {}  # lot -> tool it was last seen on
        self._wafer_times: deque[tuple[float, int]] = deque()
        self.wafers_total = 0
        self._lots_in: set[str] = set()
        self._moves_times: deque[float] = deque()
        self._exit_times: deque[float] = deque()
        self.moves_total = 0
        self.lots_out_total = 0
        self._products: dict[str, int] = {p.id: i for i, p in enumerate(spec.products)}
        self._lot_arrays: dict[str, Any] | None = None  # arrays, and "ids": list[str]
        # E10 time accounting
        self._state_time = np.zeros(len(E10_ORDER))
        self._last_account_s: float | None = None
        # clock extrapolation for animation
        self._clock_wall = time.monotonic()
        self._speed = 0.0
        self._first_clock: float | None = None
        self._lots_dirty = False  # lots changed in the batch being applied
        self._conn_dirty = False  # a connection status came in the batch being applied
        self.events_applied = 0
        # fab-level figures (TagUpdates of FAB_EQUIPMENT), latest value of each tag
        self.fab: dict[str, float] = {}
        self._fab_samples: deque[tuple[float, float, float, float]] = deque()
        # OHT vehicles served under Transport/AMHS (app/vehicle_state.py)
        self.vehicles = VehicleState()
        # the rails carriers ride in the view (app/rail_routes.py), built at the first lot
        self._routes: RailRoutes | None = None
        self._routes_failed = False
        self._carried: tuple[float, int, np.ndarray] | None = None  # (t, arrays id, vehicles)

    # ------------------------------------------------------------------ look-ups

    def tag_spec(self, equipment: str, tag: str) -> TagSpec | None:
        """Return the spec of a tag of a tool (None for the standard machine tags)."""
        return self._tag_specs.get((equipment, tag))

    def state_of(self, equipment: str) -> E10State | None:
        """Return the tool's E10 state (None before the first value)."""
        c = int(self.codes[self.index[equipment]])
        return None if c < 0 else E10State.from_code(c)

    def tags_of(self, equipment: str) -> dict[str, TagValue]:
        """Return the latest value of each tag of one tool."""
        return {t: v for (e, t), v in self.tags.items() if e == equipment}

    def alarm_list(self) -> list[AlarmRecord]:
        """Return the standing alarms, newest first."""
        return sorted(self.alarms.values(), key=lambda r: r.event.time_s, reverse=True)

    # ------------------------------------------------------------------ applying events

    def apply(self, events: Sequence[PlantEvent]) -> None:
        """Apply one drained batch; emit each changed signal once."""
        if not events:
            return
        changed_tools: set[int] = set()
        changed_tags: set[tuple[str, str]] = set()
        alarm_events: list[AlarmEvent] = []
        self._lots_dirty = False
        self._conn_dirty = False
        clock = self.clock_s
        fab_changed = False
        # the tag stream is by far the commonest event: its path is inlined, with the
        # look-ups bound once per batch (tens of thousands of updates a second)
        tags = self.tags
        history = self.history
        index_get = self.index.get
        tag_value = TagValue
        machine_tags = _MACHINE_TAGS
        bad_q = _BAD_QUALITY
        vehicles = self.vehicles
        for ev in events:
            if isinstance(ev, TagUpdate):
                ts = ev.source_ts
                if ts > clock:
                    clock = ts
                eq = ev.equipment
                if eq == FAB_EQUIPMENT:
                    fab_changed = self._apply_fab(ev) or fab_changed
                    continue
                i = index_get(eq)
                if i is None:
                    vehicles.apply(ev)  # an OHT vehicle's (or an unknown tool's: dropped)
                    continue
                key = (eq, ev.tag)
                value = ev.value
                q = ev.quality
                tags[key] = tag_value(value, q, ts, ev.server_ts, ev.status)
                changed_tags.add(key)
                bad = q in bad_q
                if ev.tag in machine_tags and not self._apply_machine_tag(
                    ev, i, bad, changed_tools
                ):
                    continue
                if isinstance(value, (int, float)) and not bad:
                    buf = history.get(key)
                    if buf is None:
                        buf = history[key] = RingBuffer(self.history_len)
                    n = buf._n
                    if n < buf.capacity:  # RingBuffer.append's filling case, inlined
                        buf._t.append(ts)
                        buf._v.append(float(value))
                        buf._n = n + 1
                    else:
                        buf.append(ts, float(value))
            else:
                t = self._apply_other(ev, changed_tools, alarm_events)
                if t > clock:
                    clock = t
        self.events_applied += len(events)
        if self._first_clock is None:
            self._note_first_time(events)
        if fab_changed:
            self._sample_fab()
        self._advance_clock(clock)
        self._prune_lots()
        self._emit(changed_tools, changed_tags, alarm_events)

    def _apply_other(
        self, ev: PlantEvent, changed_tools: set[int], alarm_events: list[AlarmEvent]
    ) -> float:
        """Apply an event other than a TagUpdate; return its plant time (-inf: none)."""
        if isinstance(ev, StateChange):
            i = self.index.get(ev.equipment)
            if i is not None:
                self.codes[i] = ev.state.code
                self.substate[i] = ev.substate
                changed_tools.add(i)
            return ev.time_s
        if isinstance(ev, LotMove):
            self._apply_lot(ev)
            self._lots_dirty = True
            return ev.depart_s
        if isinstance(ev, AlarmEvent):
            self._apply_alarm(ev)
            alarm_events.append(ev)
            return ev.time_s
        if isinstance(ev, ConnectionStatus):
            self._apply_connection(ev, changed_tools)
            self._conn_dirty = True
        return -math.inf

    def _emit(
        self,
        changed_tools: set[int],
        changed_tags: set[tuple[str, str]],
        alarm_events: list[AlarmEvent],
    ) -> None:
        """Emit each signal whose part of the state a batch changed, once."""
        if changed_tools:
            self.states_changed.emit(np.array(sorted(changed_tools), dtype=np.int64))
        if changed_tags:
            self.tags_changed.emit(changed_tags)
        if self._lots_dirty:
            self._lot_arrays = None
            self.lots_changed.emit()
        if alarm_events:
            self.alarms_changed.emit(alarm_events)
        if self._conn_dirty:
            self.connection_changed.emit(dict(self.connections))
        self.kpis_changed.emit()

    def _apply_machine_tag(
        self, ev: TagUpdate, i: int, bad: bool, changed_tools: set[int]
    ) -> bool:
        """Apply a standard machine tag (state, lot, recipe, wafer_count) of tool ``i``.

        Returns False when the value must not enter the tag's history (a bad state).
        """
        tag = ev.tag
        if tag == "state":
            if bad:
                if not self.stale[i]:
                    self.stale[i] = True
                    changed_tools.add(i)
                return False
            code = _state_code(ev.value)
            if code is not None and (code != self.codes[i] or self.stale[i]):
                self.codes[i] = code
                self.stale[i] = False
                changed_tools.add(i)
        elif tag == "lot" and not bad:
            self._lot_tag(i, "" if ev.value is None else str(ev.value), ev.source_ts)
        elif tag == "recipe":
            self.recipe[i] = "" if ev.value is None else str(ev.value)
        elif tag == "wafer_count" and not bad and ev.value is not None:
            new = int(ev.value)
            old = self.wafer_count[i]
            if old is not None and new > old:
                self._wafer_times.append((ev.source_ts, new - old))
                self.wafers_total += new - old
            self.wafer_count[i] = new
        return True

    def _apply_fab(self, ev: TagUpdate) -> bool:
        """Keep a good fab-level value; return True if it changed."""
        if ev.quality is not Quality.GOOD or isinstance(ev.value, bool):
            return False
        if not isinstance(ev.value, (int, float)) or math.isnan(float(ev.value)):
            return False
        v = float(ev.value)
        if self.fab.get(ev.tag) == v:
            return False
        self.fab[ev.tag] = v
        return True

    def _sample_fab(self) -> None:
        """Record (plant clock, lots out, wafers out, moves) for the rolling rates."""
        f = self.fab
        t = f.get("plant_clock")
        if t is None:
            return
        sample = (
            t,
            f.get("lots_completed", 0.0),
            f.get("wafers_completed", 0.0),
            f.get("moves", 0.0),
        )
        dq = self._fab_samples
        if dq:
            last = dq[-1]
            # the clock went back or a counter dropped: a new run (or a restarted server)
            if t < last[0] or any(a < b for a, b in zip(sample[1:], last[1:], strict=True)):
                dq.clear()
            elif t == last[0]:
                dq.pop()  # counters of the same instant: keep the newest
        dq.append(sample)
        # keep one sample at or before the window's start, so a full window is measured
        while len(dq) > 2 and dq[1][0] <= t - KPI_WINDOW_S:
            dq.popleft()

    @property
    def plant_clock_s(self) -> float | None:
        """The source's fab-level plant clock (``Fab.PlantClock``), None if it has none."""
        return self.fab.get("plant_clock")

    def _fab_rates(self) -> tuple[float | None, float | None, float | None]:
        """Lots, wafers and moves per plant hour over the rolling window (None: the samples
        span less than :data:`RATE_MIN_S` plant seconds yet)."""
        dq = self._fab_samples
        if len(dq) < 2 or dq[-1][0] - dq[0][0] < RATE_MIN_S:
            return None, None, None
        a, b = dq[0], dq[-1]
        h = (b[0] - a[0]) / 3600.0
        return (b[1] - a[1]) / h, (b[2] - a[2]) / h, (b[3] - a[3]) / h

    def _lot_tag(self, i: int, new: str, t: float) -> None:
        """Follow lots through the tools' ``lot`` tags (the OPC UA path has no LotMove)."""
        old = self.lot[i]
        if old == new:
            return
        self.lot[i] = new
        if self._have_moves:
            return
        if old:  # the lot finished its step on this tool and waits beside it
            self._moves_times.append(t)
            self.moves_total += 1
        if not new:
            return
        prev = self._lot_tool.get(new)
        self._lot_tool[new] = i
        self._lots_in.add(new)
        if prev is None or prev == i:
            mv = LotMove(new, "", self.ids[i], self.ids[i], t, t)
        else:
            dur = min(max(self.transit_s(prev, i) / max(self.time_scale, 1e-9), 0.5), 4.0)
            mv = LotMove(new, "", self.ids[prev], self.ids[i], t, t + dur)
        self.lot_moves[new] = mv
        self._lot_arrays = None
        self._lots_dirty = True

    def transit_s(self, a: int, b: int) -> float:
        """Return the plant seconds a carrier needs between tools ``a`` and ``b`` (nominal)."""
        eq = self.spec.equipment
        return transit_time_s(self.spec.transport, eq[a].position_m, eq[b].position_m)

    def _prune_lots(self) -> None:
        """Forget derived lots not on any tool for a while (left the fab or queued unseen)."""
        if self._have_moves or not self.lot_moves:
            return
        on_tool = {x for x in self.lot if x}
        horizon = LOT_FORGET_S / max(self.time_scale, 1e-9)
        gone = [
            k
            for k, mv in self.lot_moves.items()
            if k not in on_tool and mv.arrive_s < self.clock_s - horizon
        ]
        for k in gone:
            del self.lot_moves[k]
            self._lots_in.discard(k)
            self._lot_tool.pop(k, None)
        if gone:
            self._lot_arrays = None
            self._lots_dirty = True

    def _apply_lot(self, ev: LotMove) -> None:
        if not self._have_moves:  # real moves replace the derived ones
            self._have_moves = True
            self.lot_moves.clear()
            self._lots_in.clear()
            self._moves_times.clear()
            self.moves_total = 0
        self.lot_moves[ev.lot] = ev
        if ev.from_equipment is None:
            self._lots_in.add(ev.lot)
        if ev.to_equipment is None:
            self._lots_in.discard(ev.lot)
            self.lot_moves.pop(ev.lot, None)
            self._exit_times.append(ev.arrive_s)
            self.lots_out_total += 1
        else:
            self._lots_in.add(ev.lot)
            if ev.from_equipment is not None:
                self._moves_times.append(ev.arrive_s)
                self.moves_total += 1

    def _apply_alarm(self, ev: AlarmEvent) -> None:
        rec = self.alarms.get(ev.alarm_id)
        if ev.state is AlarmState.CLEARED:
            self.alarms.pop(ev.alarm_id, None)
            return
        if rec is None or not rec.event.active:
            raised = ev.time_s if ev.active else (rec.raised_s if rec else ev.time_s)
            self.alarms[ev.alarm_id] = AlarmRecord(ev, raised)
        else:
            self.alarms[ev.alarm_id] = AlarmRecord(ev, rec.raised_s)

    def _apply_connection(self, ev: ConnectionStatus, changed_tools: set[int]) -> None:
        self.connections[ev.endpoint] = ev
        single = len(set(self.tool_endpoint)) <= 1
        for i, ep in enumerate(self.tool_endpoint):
            # with one endpoint, any connection status speaks for every tool
            if ep == ev.endpoint or single:
                stale = not ev.connected
                if self.stale[i] != stale:
                    self.stale[i] = stale
                    changed_tools.add(i)

    def _note_first_time(self, events: Sequence[PlantEvent]) -> None:
        """Remember the plant time of the earliest event of the first batch that has one.

        The rates' span starts there, at t=0 included (a recording starting at 0 would
        otherwise lose its first sample and measure from its second), and so does the E10
        time accounting.
        """
        times = [_plant_time(ev) for ev in events]
        known = [t for t in times if math.isfinite(t)]
        if known:
            self._first_clock = min(known)
            if self._last_account_s is None:
                self._last_account_s = self._first_clock

    def _advance_clock(self, clock: float) -> None:
        now = time.monotonic()
        if clock > self.clock_s:
            dt_wall = now - self._clock_wall
            if dt_wall > 0.05 and self.clock_s > 0:
                inst = (clock - self.clock_s) / dt_wall
                self._speed = inst if self._speed == 0 else 0.7 * self._speed + 0.3 * inst
            self._account(clock)
            self.clock_s = clock
            self._clock_wall = now
            self.clock_changed.emit(clock)

    def _account(self, clock: float) -> None:
        if self._last_account_s is not None and clock > self._last_account_s:
            dt = clock - self._last_account_s
            live = self.codes[(self.codes >= 0) & ~self.stale]
            if len(live):
                self._state_time += (
                    dt * np.bincount(live, minlength=len(E10_ORDER))[: len(E10_ORDER)]
                )
        self._last_account_s = clock

    # ------------------------------------------------------------------ derived values

    def estimated_clock(self, max_extrapolate_s: float = 2.0) -> float:
        """Return the plant clock extrapolated to now (for smooth animation)."""
        dt = min(time.monotonic() - self._clock_wall, max_extrapolate_s)
        return self.clock_s + max(self._speed, 0.0) * dt

    def kpis(self) -> Kpis:
        """Return the live KPIs over a rolling window of one plant hour.

        Rates are per plant hour: the data's timestamps are scaled by :attr:`time_scale`
        (an embedded simulator at 60x stamps its values with the wall clock). The window
        starts at the first event's time (t=0 included) until a full hour has passed, and a
        rate is None until :data:`RATE_MIN_S` plant seconds of data have come in. When the
        source sends fab-level figures (``FAB_EQUIPMENT`` tags: our plant server's ``Fab``
        object), throughput (lots and wafers leaving the fab), moves and WIP come from them,
        the rates measured on the source's own plant clock (None until its samples span
        :data:`RATE_MIN_S`).
        """
        scale = max(self.time_scale, 1e-9)
        window = KPI_WINDOW_S / scale  # in data seconds
        t0 = self.clock_s - window
        for dq in (self._moves_times, self._exit_times):
            while dq and dq[0] < t0:
                dq.popleft()
        while self._wafer_times and self._wafer_times[0][0] < t0:
            self._wafer_times.popleft()
        seen = self.clock_s - self._first_clock if self._first_clock is not None else 0.0
        span_h = max(min(seen, window), 1e-9) * scale / 3600.0
        measured = seen * scale >= RATE_MIN_S

        def per_h(n: float) -> float | None:
            return n / span_h if measured else None

        counts = {s.value: 0 for s in E10_ORDER}
        live = self.codes[(self.codes >= 0) & ~self.stale]
        for c, k in zip(*np.unique(live, return_counts=True), strict=True):
            counts[E10State.from_code(int(c)).value] = int(k)
        tot = float(self._state_time.sum())
        share = {
            s.value: (float(self._state_time[i]) / tot if tot > 0 else 0.0)
            for i, s in enumerate(E10_ORDER)
        }
        wip = len(self._lots_in) if self._lots_in else len({x for x in self.lot if x})
        f = self.fab
        if "lots_completed" in f or "wip" in f:
            lots_h, wafers_h, moves_h = self._fab_rates()
            return Kpis(
                clock_s=self.clock_s,
                throughput_lots_h=lots_h,
                moves_h=moves_h if "moves" in f else per_h(len(self._moves_times)),
                moves_total=int(f["moves"]) if "moves" in f else self.moves_total,
                wip_lots=int(f["wip"]) if "wip" in f else wip,
                lots_out_total=int(f.get("lots_completed", self.lots_out_total)),
                wafers_h=wafers_h,
                state_counts=counts,
                state_time_share=share,
                plant_clock_s=self.plant_clock_s,
                from_fab=True,
            )
        return Kpis(
            clock_s=self.clock_s,
            throughput_lots_h=per_h(len(self._exit_times)) if self._have_moves else None,
            moves_h=per_h(len(self._moves_times)),
            moves_total=self.moves_total,
            wip_lots=wip,
            lots_out_total=self.lots_out_total,
            wafers_h=per_h(sum(d for _, d in self._wafer_times)),
            state_counts=counts,
            state_time_share=share,
            plant_clock_s=self.plant_clock_s,
        )

    @property
    def routes(self) -> RailRoutes | None:
        """The rail paths lots ride (the plant's rails, else rails generated from its layout).

        None when they cannot be built (the lots then take the straight overhead track).
        """
        if self._routes is None and not self._routes_failed:
            try:
                self._routes = RailRoutes(self.spec)
            except (ValueError, KeyError, IndexError) as exc:
                logger.warning("no rails for the carriers of %s: %s", self.spec.site.name, exc)
                self._routes_failed = True
        return self._routes

    def lot_positions(self, t: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Return lot positions (n, 3), product codes and lot ids at plant time ``t``.

        A lot in transit between two tools rides the OHT rails (:mod:`~factory_twin.app.
        rail_routes`): hoisted from the first tool's load port, along the fastest rail path
        and lowered onto the second's, between ``depart_s`` and ``arrive_s`` of its last
        :class:`LotMove`. Without rails (or from or to outside the fab) it moves along the
        overhead track (up, along x, along y, down). A lot at a tool stands on one of its load
        ports, or waits in a row in front of the tool when they are all taken.
        """
        arr = self._lot_arrays
        if arr is None:
            arr = self._build_lot_arrays()
        if len(arr["ids"]) == 0:
            return np.zeros((0, 3)), np.zeros(0, dtype=np.int16), []
        # the legs (up, along x, along y, down) are fixed per move: only the distance
        # travelled depends on t, and each coordinate is a clipped linear function of it
        a, b = arr["from"], arr["to"]
        f = np.clip((t - arr["depart"]) * arr["inv_dur"], 0.0, 1.0)
        s = f * arr["total"]
        h = self.spec.transport.carrier_height_m
        pos = np.empty((len(s), 3))
        pos[:, 0] = a[:, 0] + (b[:, 0] - a[:, 0]) * np.clip(
            (s - arr["c1"]) * arr["inv_dx"], 0.0, 1.0
        )
        pos[:, 1] = a[:, 1] + (b[:, 1] - a[:, 1]) * np.clip(
            (s - arr["c2"]) * arr["inv_dy"], 0.0, 1.0
        )
        pos[:, 2] = np.maximum(np.clip(s, 0.0, h) - np.clip(s - arr["c3"], 0.0, h), 0.0)
        arrived = f >= 1.0
        on_rail = arr["can_rail"] & ~arrived
        if on_rail.any():
            # a path is made when a lot first needs it (most lots drawn wait at a tool)
            pid, routes = arr["pid"], arr["routes"]
            for k in np.flatnonzero(on_rail & (pid < 0)):
                pid[k] = routes.path_id(*arr["pairs"][k])
            rail = np.flatnonzero(on_rail)
            pos[rail] = routes.positions(pid[rail], f[rail])
        pos[arrived] = arr["rest"][arrived]
        # the vehicles carrying the lots in transit on the rails, over their carriers
        riding = (f > 0.0) & on_rail
        self._carried = (t, id(arr), pos[riding, :2].copy())
        return pos, arr["product"], arr["ids"]

    def carrying_vehicles(self, t: float) -> np.ndarray:
        """Floor positions (n, 2) of the OHT vehicles carrying the lots in transit at ``t``.

        One vehicle over each carrier that rides the rails (see :meth:`lot_positions`); the
        plant's own vehicles, when its source serves them, are in :attr:`vehicles`.
        """
        got = self._carried
        if got is None or got[0] != t or got[1] != id(self._lot_arrays):
            self.lot_positions(t)
            got = self._carried
        return got[2] if got is not None else np.zeros((0, 2))

    def _anchor(self, equipment: str | None) -> np.ndarray:
        if equipment is None or equipment not in self.index:
            return np.array([0.0, self.spec.site.floor_m[1] / 2])
        e = self.spec.equipment[self.index[equipment]]
        return np.array(e.position_m, dtype=float)

    def _build_lot_arrays(self) -> dict[str, Any]:
        moves = list(self.lot_moves.values())
        n = len(moves)
        frm = np.zeros((n, 2))
        to = np.zeros((n, 2))
        rest = np.zeros((n, 3))
        can_rail = np.zeros(n, dtype=bool)
        pairs: list[tuple[str, str]] = [("", "")] * n
        routes = self.routes if n else None
        slot: dict[str | None, int] = {}
        for k, mv in enumerate(moves):
            frm[k] = self._anchor(mv.from_equipment)
            to[k] = self._anchor(mv.to_equipment)
            j = slot.get(mv.to_equipment, 0)
            slot[mv.to_equipment] = j + 1
            dest = mv.to_equipment
            if routes is not None and dest is not None and dest in routes.ports:
                rest[k] = routes.rest(dest, j)
            else:  # queue in a row in front of the tool (-y), 0.5 m apart, 4 per row
                rest[k] = (to[k, 0] - 0.75 + 0.5 * (j % 4), to[k, 1] - 1.6 - 0.5 * (j // 4), 0.0)
            if routes is not None and routes.serves(mv.from_equipment, dest):
                assert mv.from_equipment is not None and dest is not None
                can_rail[k] = True
                pairs[k] = (mv.from_equipment, dest)
        depart = np.array([m.depart_s for m in moves], dtype=float)
        arrive = np.array([m.arrive_s for m in moves], dtype=float)
        h = self.spec.transport.carrier_height_m
        dx, dy = np.abs(to[:, 0] - frm[:, 0]), np.abs(to[:, 1] - frm[:, 1])
        # a leg of length 0 is done at once (1/eps: any distance past it clips to 1)
        arr = {
            "ids": [m.lot for m in moves],
            "from": frm,
            "to": to,
            "rest": rest,
            "depart": depart,
            "arrive": arrive,
            "inv_dur": 1.0 / np.maximum(arrive - depart, 1e-9),
            "c1": np.full(n, h),
            "c2": h + dx,
            "c3": h + dx + dy,
            "total": 2 * h + dx + dy,
            "inv_dx": 1.0 / np.maximum(dx, 1e-9),
            "inv_dy": 1.0 / np.maximum(dy, 1e-9),
            "product": np.array([self._products.get(m.product, 0) for m in moves], dtype=np.int16),
            "can_rail": can_rail,
            "pairs": pairs,
            "pid": np.full(n, -1, dtype=np.int64),  # path numbers, filled when needed
            "routes": routes,
        }
        self._lot_arrays = arr
        return arr

    def lot_count(self) -> int:
        """Return how many lots the view draws."""
        return len(self.lot_moves)


def _plant_time(ev: PlantEvent) -> float:
    """The plant time of an event (-inf for a connection status: it is stamped with the
    wall clock of this computer, not with the data's time)."""
    if isinstance(ev, TagUpdate):
        return ev.source_ts
    if isinstance(ev, LotMove):
        return ev.depart_s
    if isinstance(ev, (StateChange, AlarmEvent)):
        return ev.time_s
    return -math.inf


def _state_code(value: Any) -> int | None:
    if isinstance(value, E10State):
        return value.code
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        try:
            return E10State.from_code(int(value)).code
        except ValueError:
            return None
    if isinstance(value, float) and not math.isnan(value):
        return _state_code(int(value))
    if isinstance(value, str):
        try:
            return E10State(value).code
        except ValueError:
            try:
                return E10State[value.upper()].code
            except KeyError:
                return None
    return None
