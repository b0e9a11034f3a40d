"""The fab model: a SimPy discrete-event simulation built from any :class:`PlantSpec`.

Lots (FOUPs) enter by rate, schedule or CONWIP release, or sit in the fab at time zero
(``initial_wip``), and follow their route step by step: transport to the step's tool group,
wait in the group's dispatch queue, (setup), load, process, unload, then rework, scrap or go
on. Tools fail at random, take preventive maintenance (with qualification), change setups
and form batches; each spends its time in SEMI E10 states.

The hot path is plain callbacks on timer entries in a SimPy environment's event queue
(:class:`factory_twin.sim.engine.Engine`: SimPy's clock, queue, event ids and ordering),
rather than one generator process per lot: a lot costs one entry per transport and one per
process phase, and every dispatch decision is O(log n) (see :mod:`factory_twin.sim.queues`).
The model itself starts no SimPy process; :attr:`FabModel.env` is a full SimPy environment,
so processes added to it interleave with the model's timers in SimPy's order. Records are
tuples appended to lists (:class:`factory_twin.sim.records.Recorder`).

The same class runs headless as fast as it can (:func:`factory_twin.sim.runner.run_replication`)
and stepped for a live plant (:class:`factory_twin.sim.live.LiveSimulation`).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import Any

from factory_twin.errors import SimulationError
from factory_twin.model import schema as s
from factory_twin.model.capacity import raw_process_time_s
from factory_twin.model.events import E10State, LotMove, StateChange, TagUpdate
from factory_twin.model.transport import move_time_s, nearest_destination
from factory_twin.sim.engine import Engine
from factory_twin.sim.oht_fast import Fleet, new_fleet
from factory_twin.sim.queues import BatchQueue, LotQueue
from factory_twin.sim.records import Recorder
from factory_twin.sim.rng import Sampler, Streams, make_sampler, uniform_sampler

logger = logging.getLogger(__name__)

PRODUCTIVE = E10State.PRODUCTIVE
STANDBY = E10State.STANDBY
ENGINEERING = E10State.ENGINEERING
SCHEDULED_DOWN = E10State.SCHEDULED_DOWN
UNSCHEDULED_DOWN = E10State.UNSCHEDULED_DOWN

_STATE_VALUE = {st: st.value for st in E10State}  # Enum.value is a slow descriptor
_SETUP, _PROC = 0, 1
_MOVING, _QUEUED, _IN_PROCESS = 0, 1, 2
OUTCOME_OK, OUTCOME_REWORK, OUTCOME_SCRAP = 0, 1, 2
_FAR_WINDOW_S = 6 * 3600.0  # timers due later than this ahead wait outside the event queue


def raw_process_time(spec: s.PlantSpec, product_id: str) -> float:
    """Return the raw process time of a product (the X-factor denominator), seconds."""
    return float(raw_process_time_s(spec, product_id))


# --------------------------------------------------------------------------- runtime objects


def _failure_samplers(tool: Tool) -> tuple[Sampler, Sampler]:
    """Return the (time between failures, repair time) samplers of a tool that can fail."""
    if tool.mtbf is None or tool.mttr is None:
        msg = f"tool {tool.id} failed but has no reliability figures"
        raise SimulationError(msg)
    return tool.mtbf, tool.mttr


def _wafer_pms_due(tool: Tool) -> None:
    """Queue the wafer-count PMs the tool's wafer count has reached; set the next due count."""
    for k, (pm, _, _) in enumerate(tool.pms):
        if pm.basis == "wafers" and tool.wafers >= tool.pm_next[k]:
            tool.pm_next[k] += pm.interval
            tool.pm_pending.append(k)
    tool.pm_wafer_due = _next_wafer_pm(tool)


def _next_wafer_pm(tool: Tool) -> float:
    """Wafer count at which the tool's next wafer-count PM falls due (inf if it has none)."""
    return min(
        (tool.pm_next[k] for k, (pm, _, _) in enumerate(tool.pms) if pm.basis == "wafers"),
        default=math.inf,
    )


class StepRt:
    """One route step, prepared for the run."""

    __slots__ = (
        "batch_key", "bint", "bmax", "bmin", "decide", "group", "idx", "mean_s", "no", "per",
        "qt_limit", "qt_to", "recipe", "rem_s", "rework_p", "rework_to", "route", "sample",
        "sample_u", "scrap_p", "setup", "time", "wint",
    )  # fmt: skip

    batch_key: str  # lots sharing it may share a batch
    bint: float | None  # cascading batches: next batch accepted this long after the start
    bmax: int  # wafers in a batch, at most
    bmin: int  # wafers in a batch, at least
    decide: Sampler | None  # U(0, 1) draws for scrap and rework (None: neither can happen)
    group: Group
    idx: int  # 0-based index in the route
    mean_s: float  # mean process time
    no: int  # 1-based step number
    per: str  # "lot", "wafer" or "batch"
    qt_limit: float  # queue-time limit from this step, seconds
    qt_to: int  # index of the step the queue-time limit runs to (-1: none)
    recipe: str
    rem_s: float  # remaining raw process time from this step on (for CR)
    rework_p: float
    rework_to: int  # index of the step a reworked lot goes back to (-1: none)
    route: str
    sample: float  # sampling percentage
    sample_u: Sampler | None  # U(0, 1) draws for sampling (None: every lot)
    scrap_p: float
    setup: str | None
    time: Sampler  # process time
    wint: float | None  # cascading wafers: the next wafer starts this long after one

    def __init__(self) -> None:
        self.rem_s = 0.0


class ProductRt:
    """A product, prepared for the run."""

    __slots__ = ("conwip", "count", "due_after", "id", "priority", "route", "rpt_s", "wafers")

    conwip: bool
    count: int  # lots released so far
    due_after: float | None
    id: str
    priority: int
    route: list[StepRt]
    rpt_s: float  # raw process time
    wafers: int


class Lot:
    """A lot (FOUP) in the fab."""

    __slots__ = (
        "due_s", "id", "idx", "initial", "priority", "product", "qenter", "qseq", "qt_deadline",
        "qt_from", "qt_to", "release_s", "route", "start_s", "step", "tool", "transport_s",
        "wafers", "where",
    )  # fmt: skip

    def __init__(self, lot_id: str, product: ProductRt, wafers: int, priority: int) -> None:
        self.id = lot_id
        self.product = product
        self.route = product.route
        self.wafers = wafers
        self.priority = priority
        self.due_s: float | None = None
        self.idx = 0
        self.step: StepRt = product.route[0]
        self.qenter = math.nan
        self.start_s = math.nan
        self.qseq = 0
        self.qt_to = -1
        self.qt_from = 0
        self.qt_deadline = 0.0
        self.release_s = 0.0
        self.transport_s = 0.0
        self.tool: Tool | None = None
        self.where = _MOVING
        self.initial = False


class Job:
    """A load on a tool: one lot, or the lots of a batch."""

    __slots__ = (
        "end",
        "id",
        "lots",
        "phase",
        "rem",
        "setup_s",
        "start_s",
        "step",
        "token",
        "tool",
    )

    end: float  # when the current phase ends
    id: int
    lots: list[Lot]
    phase: int  # _SETUP or _PROC
    rem: float  # time left in the phase when the tool went down
    setup_s: float
    start_s: float
    step: StepRt
    token: int  # phase entries carry it; a stale entry's token no longer matches
    tool: Tool


class Group:
    """A tool group: identical tools sharing one dispatch queue."""

    __slots__ = (
        "batch_wait", "cascade", "free", "id", "idx", "is_batch", "load_s", "min_run", "pos",
        "queue", "rule", "setup_default", "setups", "tools", "unload_s", "wake_at",
    )  # fmt: skip

    batch_wait: float
    cascade: int  # lots a cascading tool holds at once
    free: list[Tool]  # idle tools able to take work
    id: str
    idx: int
    is_batch: bool
    load_s: float
    min_run: int  # lots to run before a setup change
    pos: tuple[float, float]  # centre of the group's tools on the floor
    queue: LotQueue | BatchQueue
    rule: s.DispatchRule
    setup_default: Sampler | None
    setups: dict[tuple[str | None, str], Sampler]
    tools: list[Tool]
    unload_s: float
    wake_at: float | None  # when a waiting batch may start (None: no wake-up pending)


class Tool:
    """One tool and its state."""

    __slots__ = (
        "accept_at",
        "accept_due",
        "accept_rem",
        "accept_token",
        "accepting",
        "busy_since",
        "dist",
        "down",
        "fail_at",
        "fail_natural",
        "fail_pending",
        "fail_token",
        "first_fail",
        "group",
        "held",
        "hold_pending",
        "id",
        "idx",
        "in_free",
        "jobs",
        "mtbf",
        "mttr",
        "pm_next",
        "pm_pending",
        "pm_wafer_due",
        "pms",
        "pos",
        "rel_basis",
        "runs",
        "setup",
        "since",
        "state",
        "sub",
        "ttf_left",
        "type",
        "wafers",
    )  # fmt: skip

    accept_at: float  # when the tool accepts the next load (cascading)
    accept_due: bool  # a cascading tool's next-lot time came while it was full
    accept_rem: float  # accept_at - now when the tool went down (-1: none)
    accept_token: int
    accepting: bool
    busy_since: float
    dist: dict[Group, tuple[float, Tool]]  # transport time to each group, and the nearest tool
    down: tuple[E10State, str] | None
    fail_natural: bool
    fail_pending: bool
    fail_token: int
    first_fail: Sampler | None
    group: Group
    held: bool
    hold_pending: bool
    id: str
    idx: int
    in_free: bool
    jobs: list[Job]
    mtbf: Sampler | None
    mttr: Sampler | None
    pm_next: list[float]  # when (time or wafer count) each PM falls due next
    pm_pending: list[int]  # PMs due, by index in pms
    pm_wafer_due: float  # wafer count at which the next wafer-count PM falls due
    pms: list[tuple[s.PmSpec, Sampler, Sampler | None]]  # (PM, duration, qualification)
    pos: tuple[float, float]
    rel_basis: str | None  # "calendar", "busy" or None (never fails)
    runs: int  # lots run since the last setup change
    setup: str | None
    since: float  # start of the current state interval
    state: E10State
    sub: str
    ttf_left: float  # busy-basis failures: busy time left to the next failure
    type: str
    wafers: int

    def __init__(self) -> None:
        self.state = STANDBY
        self.sub = ""
        self.since = 0.0
        self.dist = {}
        self.setup = None
        self.runs = 0
        self.jobs = []
        self.down = None
        self.held = False
        self.hold_pending = False
        self.accepting = True
        self.accept_at = 0.0
        self.accept_due = False  # a cascading tool's next-lot time came while it was full
        self.accept_rem = -1.0
        self.accept_token = 0
        self.in_free = False
        self.fail_pending = False
        self.fail_natural = False
        self.fail_token = 0
        self.fail_at = math.inf  # calendar-basis failures: when the next one is due
        self.ttf_left = math.inf
        self.busy_since = 0.0
        self.pm_pending = []
        self.wafers = 0


class FabModel:
    """A discrete-event model of a plant.

    Parameters
    ----------
    spec
        The plant.
    seed, replication
        Scenario seed and replication number; every random stream derives from them.
    rule
        Dispatching rule for every tool group (overrides each group's ``dispatch``).
    recorder
        Where records go (a fresh in-memory :class:`Recorder` if None).
    live
        Also produce :class:`StateChange`, :class:`LotMove` and machine-tag
        :class:`TagUpdate` events in :attr:`events` (for the stepped mode).

    Raises
    ------
    SimulationError
        If the plant cannot be simulated (see :func:`check_spec`).
    """

    def __init__(
        self,
        spec: s.PlantSpec,
        *,
        seed: int = 0,
        replication: int = 0,
        rule: s.DispatchRule | str | None = None,
        recorder: Recorder | None = None,
        live: bool = False,
    ) -> None:
        rule_e = parse_rule(rule)
        check_spec(spec)
        self.spec = spec
        self.env = Engine(_FAR_WINDOW_S)
        self.streams = Streams(seed, replication)
        self.rec = recorder if recorder is not None else Recorder()
        self._steps = self.rec.steps  # the two big tables, spilled at rec.spill_at rows
        self._states = self.rec.states
        self._spill_at = self.rec.spill_at
        self.events: list[Any] | None = [] if live else None
        self.wip: dict[str, Lot] = {}
        self._job_seq = 0
        # bound once: the hot path would otherwise create a bound method per event
        self._cb_phase = self._on_phase
        self._cb_moved = self._arrive
        self._timer = self.env.call_later  # (delay, callback, value): the model's timers
        self._at = self.env.call_at  # (time, callback, value): the hot path's entries
        self._build(rule_e)

    # ----------------------------------------------------------------- building

    def _build(self, rule: s.DispatchRule | None) -> None:
        spec, st = self.spec, self.streams
        types = {t.id: t for t in spec.equipment_types}
        self.groups: dict[str, Group] = {}
        self.tools: dict[str, Tool] = {}
        batch_groups = {
            step.tool_group for r in spec.routes for step in r.steps if step.per == "batch"
        }
        for gi, (gid, members) in enumerate(spec.groups().items()):
            cfg = spec.tool_group(gid)
            g = Group()
            g.id, g.idx = gid, gi
            g.rule = rule if rule is not None else cfg.dispatch
            g.is_batch = gid in batch_groups or any(types[e.type].batch for e in members)
            g.min_run = cfg.min_run_lots
            g.batch_wait = cfg.batch_wait_s
            g.load_s, g.unload_s = cfg.load_s, cfg.unload_s
            g.cascade = cfg.cascade_lots
            g.setups = {
                (c.from_setup, c.to_setup): make_sampler(
                    c.time, _lazy(st, "setup", gid, c.from_setup or "*", c.to_setup)
                )
                for c in cfg.setups
            }
            g.setup_default = (
                make_sampler(cfg.setup_default, _lazy(st, "setup", gid, "*", "*"))
                if cfg.setup_default is not None
                else None
            )
            with_setups = any(
                step.setup is not None and step.tool_group == gid
                for r in spec.routes
                for step in r.steps
            )
            g.queue = (
                BatchQueue(g.rule, cfg.batch_wait_s)
                if g.is_batch
                else LotQueue(g.rule, with_setups=with_setups)
            )
            g.free = []
            g.wake_at = None
            g.tools = []
            xs = [e.position_m[0] for e in members]
            ys = [e.position_m[1] for e in members]
            g.pos = (sum(xs) / len(xs), sum(ys) / len(ys))
            self.groups[gid] = g
            for e in members:
                t = self._build_tool(e, g, len(self.tools))
                g.tools.append(t)
                self.tools[e.id] = t
                t.in_free = True
                g.free.append(t)
        self.tool_list = list(self.tools.values())
        # routes and products
        self.routes: dict[str, list[StepRt]] = {}
        self._group_caps = _group_caps(spec, types)
        for r in spec.routes:
            self.routes[r.id] = self._build_route(r, types)
        self.products: dict[str, ProductRt] = {}
        for p in spec.products:
            pr = ProductRt()
            pr.id = p.id
            pr.route = self.routes[p.route]
            pr.wafers = p.wafers_per_lot
            pr.priority = p.priority
            pr.due_after = p.due_after_s
            pr.count = 0
            pr.conwip = p.release.mode == "conwip"
            pr.rpt_s = raw_process_time(spec, p.id)
            self.products[p.id] = pr
        for r in spec.routes:  # remaining raw time per step, for CR
            steps = self.routes[r.id]
            wafers = next((p.wafers_per_lot for p in spec.products if p.route == r.id), 25)
            rem = 0.0
            for step in reversed(steps):
                rem += step.sample / 100.0 * self._nominal_time(step, wafers)
                step.rem_s = rem
        tr = spec.transport
        self._tr_fixed = (
            make_sampler(tr.fixed_time, _lazy(st, "transport"))
            if tr.fixed_time is not None
            else None
        )
        self._tr_none = tr.kind == "none"
        # Limited vehicles: a counted pool with a FIFO of waiting lots. It behaves exactly as a
        # simpy.Resource(capacity=vehicles) would, at a third of the cost per move.
        self.vehicles: int | None = (
            tr.vehicles if tr.vehicles is not None and not self._tr_none else None
        )
        self._veh_free = self.vehicles or 0
        self._veh_wait: deque[tuple[Lot, float]] = deque()
        # OHT fleet on the rails (amhs model 'oht'): every move rides a vehicle (sim/oht_fast.py)
        am = spec.amhs
        self.oht: Fleet | None = None
        self._port: dict[str, str] = {}
        self._nominal: dict[tuple[str, str], float] = {}
        if am is not None and am.model == "oht" and not self._tr_none:
            self.oht = new_fleet(am, self.env)
            self._port = {p.tool: p.node for p in am.ports}
        self._start_processes()

    def _build_tool(self, e: s.Equipment, g: Group, idx: int) -> Tool:
        st = self.streams
        t = Tool()
        t.id, t.idx, t.group, t.type = e.id, idx, g, e.type
        t.pos = e.position_m
        rel = e.reliability
        t.rel_basis = None
        t.mtbf = t.mttr = t.first_fail = None
        if rel is not None:
            t.rel_basis = rel.basis
            t.mtbf = make_sampler(rel.mtbf, _lazy(st, "mtbf", e.id))
            t.mttr = make_sampler(rel.mttr, _lazy(st, "mttr", e.id))
            if rel.first_s is not None:
                t.first_fail = make_sampler(rel.first_s, _lazy(st, "first_failure", e.id))
        t.pms = []
        t.pm_next = []
        for pm in e.pm:
            dur = make_sampler(pm.duration, _lazy(st, "pm", e.id, pm.name))
            qual = (
                make_sampler(pm.qualification, _lazy(st, "qual", e.id, pm.name))
                if pm.qualification is not None
                else None
            )
            t.pms.append((pm, dur, qual))
            t.pm_next.append(pm.first if pm.first is not None else pm.interval)
        t.pm_wafer_due = _next_wafer_pm(t)
        return t

    def _build_route(self, r: s.Route, types: dict[str, s.EquipmentType]) -> list[StepRt]:
        st = self.streams
        out = []
        for i, step in enumerate(r.steps):
            x = StepRt()
            x.route, x.idx, x.no = r.id, i, i + 1
            x.group = self.groups[step.tool_group]
            x.recipe = step.recipe
            x.setup = step.setup
            x.per = step.per
            x.time = make_sampler(step.process_time, _lazy(st, "process", r.id, i + 1))
            x.mean_s = x.time.mean
            x.wint = step.wafer_interval_s
            x.bint = step.batch_interval_s
            x.bmin, x.bmax = _batch_limits(step, self._group_caps)
            x.batch_key = step.recipe or f"{r.id}#{i + 1}"
            x.sample = step.sample_pct
            x.sample_u = (
                uniform_sampler(st, "sampling", r.id, i + 1) if step.sample_pct < 100 else None
            )
            x.scrap_p = step.scrap_probability
            x.rework_p = step.rework.probability if step.rework is not None else 0.0
            x.rework_to = step.rework.to_step - 1 if step.rework is not None else -1
            x.decide = (
                uniform_sampler(st, "yield", r.id, i + 1)
                if x.scrap_p > 0 or x.rework_p > 0
                else None
            )
            q = step.queue_time_limit
            x.qt_to = q.to_step - 1 if q is not None else -1
            x.qt_limit = q.limit_s if q is not None else 0.0
            out.append(x)
        return out

    @staticmethod
    def _nominal_time(step: StepRt, wafers: int) -> float:
        t = step.mean_s
        if step.per == "wafer":
            t = t + (wafers - 1) * step.wint if step.wint else t * wafers
        return t + step.group.load_s + step.group.unload_s

    def _start_processes(self) -> None:
        for t in self.tool_list:
            if self.events is not None:
                self.events.append(StateChange(t.id, STANDBY, 0.0, ""))
            if t.rel_basis is not None:
                first = t.first_fail() if t.first_fail is not None else _failure_samplers(t)[0]()
                if t.rel_basis == "calendar":
                    t.fail_at = first
                    self._timer(first, self._on_fail_timer, (t, t.fail_token))
                else:  # busy: the clock runs while the tool is productive
                    t.ttf_left = first
            for k, (pm, _, _) in enumerate(t.pms):
                if pm.basis == "calendar":
                    self._timer(t.pm_next[k], self._on_pm_timer, (t, k))
        for p in self.spec.products:
            pr = self.products[p.id]
            rel = p.release
            if rel.mode == "rate":
                assert rel.interarrival is not None
                arr = make_sampler(rel.interarrival, _lazy(self.streams, "arrivals", p.id))
                self._timer(
                    rel.start_s + arr(), self._on_rate_release, (pr, arr, rel.lots_per_release)
                )
            elif rel.mode == "schedule":
                times = sorted(rel.times_s)
                self._timer(
                    times[0], self._on_schedule_release, (pr, times, 0, rel.lots_per_release)
                )
            else:
                assert rel.wip_lots is not None
                self._timer(rel.start_s, self._on_conwip_start, (pr, rel.wip_lots))
        for il in self.spec.initial_wip:
            pr = self.products[il.product]
            lot = self._new_lot(
                pr, lot_id=il.id, wafers=il.wafers, priority=il.priority, due_s=il.due_s
            )
            lot.initial = True
            self._goto(lot, il.step - 1, None, False)

    # ----------------------------------------------------------------- helpers

    @property
    def now_s(self) -> float:
        """The simulation clock, seconds."""
        return float(self.env.now_s)

    def run(self, until_s: float) -> None:
        """Advance the simulation to ``until_s`` (events at exactly ``until_s`` wait).

        The model's timers are callback entries on its :class:`~factory_twin.sim.engine.Engine`
        (a SimPy environment): see :meth:`Engine.run_until`.
        """
        self.env.run_until(until_s)

    def tool(self, equipment_id: str) -> Tool:
        """Return the runtime tool ``equipment_id`` (SimulationError if unknown)."""
        try:
            return self.tools[equipment_id]
        except KeyError:
            msg = f"no tool {equipment_id!r} in this plant"
            raise SimulationError(msg) from None

    # ----------------------------------------------------------------- release and exit

    def _new_lot(
        self,
        pr: ProductRt,
        *,
        lot_id: str | None = None,
        wafers: int | None = None,
        priority: int | None = None,
        due_s: float | None = None,
    ) -> Lot:
        now = self.env.now_s
        pr.count += 1
        lot = Lot(
            lot_id if lot_id is not None else f"{pr.id}.{pr.count}",
            pr,
            wafers if wafers is not None else pr.wafers,
            priority if priority is not None else pr.priority,
        )
        lot.release_s = now
        if due_s is not None:
            lot.due_s = due_s
        elif pr.due_after is not None:
            lot.due_s = now + pr.due_after
        self.wip[lot.id] = lot
        self.rec.wip.append((now, 1, pr.id))
        if self.events is not None:
            self.events.append(LotMove(lot.id, pr.id, None, None, now, now, 0))
        return lot

    def release(self, pr: ProductRt) -> Lot:
        """Release one new lot of a product at its first (sampled) step."""
        lot = self._new_lot(pr)
        self._goto(lot, 0, None, True)
        return lot

    def _on_rate_release(self, value: Any) -> None:
        pr, arr, n = value
        for _ in range(n):
            self.release(pr)
        self._timer(arr(), self._on_rate_release, value)

    def _on_schedule_release(self, value: Any) -> None:
        pr, times, i, n = value
        for _ in range(n):
            self.release(pr)
        if i + 1 < len(times):
            self._timer(times[i + 1] - times[i], self._on_schedule_release, (pr, times, i + 1, n))

    def _on_conwip_start(self, value: Any) -> None:
        pr, n = value
        for _ in range(n):
            self.release(pr)

    def _exit(self, lot: Lot, tool: Tool | None, *, scrapped: bool) -> None:
        now = self.env.now_s
        pr = lot.product
        del self.wip[lot.id]
        self.rec.lots.append(
            (lot.id, pr.id, lot.wafers, lot.priority, lot.release_s, now, scrapped, lot.initial,
             lot.due_s if lot.due_s is not None else math.nan)
        )  # fmt: skip
        self.rec.wip.append((now, -1, pr.id))
        if self.events is not None:
            src = tool.id if tool is not None else None
            self.events.append(LotMove(lot.id, pr.id, src, None, now, now, lot.idx + 1))
        if pr.conwip:
            self.release(pr)

    # ----------------------------------------------------------------- movement

    def _goto(self, lot: Lot, i: int, tool: Tool | None, sample: bool) -> None:
        """Send ``lot`` to step index ``i`` (skipping unsampled steps) or out of the fab."""
        route = lot.route
        n = len(route)
        if sample:
            while i < n:
                st = route[i]
                if st.sample_u is None or st.sample_u() * 100.0 < st.sample:
                    break
                i += 1
        if i >= n:
            self._exit(lot, tool, scrapped=False)
            return
        lot.idx = i
        lot.step = route[i]
        if tool is None or self._tr_none:
            lot.transport_s = 0.0
            self._arrive(lot)
            return
        g = lot.step.group
        d = tool.dist.get(g)
        if d is None:
            k, dist_m = nearest_destination(tool.pos, [t.pos for t in g.tools])
            d = tool.dist[g] = (move_time_s(self.spec.transport, dist_m), g.tools[k])
        if self.oht is not None:
            self._oht_move(lot, tool, d[1], i)
            return
        t = self._tr_fixed() if self._tr_fixed is not None else d[0]
        lot.transport_s = t
        lot.where = _MOVING
        now = self.env.now_s
        if self.events is not None:
            self.events.append(
                LotMove(lot.id, lot.product.id, tool.id, d[1].id, now, now + t, i + 1)
            )
        if self.vehicles is not None:
            if self._veh_free > 0:
                self._veh_free -= 1
                self._at(now + t, self._on_delivered, lot)
            else:
                self._veh_wait.append((lot, now))
        elif t > 0:
            self._at(now + t, self._cb_moved, lot)
        else:
            self._arrive(lot)

    def _oht_move(self, lot: Lot, src: Tool, dst: Tool, i: int) -> None:
        """Hand the move to the OHT fleet; the lot arrives when a vehicle has set it down."""
        assert self.oht is not None
        now = self.env.now_s
        a, b = self._port[src.id], self._port[dst.id]
        lot.transport_s = now  # the request time until the lot is delivered
        lot.where = _MOVING
        if self.events is not None:
            key = (a, b)
            t = self._nominal.get(key)
            if t is None:
                t = self._nominal[key] = self.oht.nominal_s(a, b)
            self.events.append(
                LotMove(lot.id, lot.product.id, src.id, dst.id, now, now + t, i + 1)
            )
        self.oht.request(a, b, lot, self._on_oht_delivered)

    def _on_oht_delivered(self, lot: Lot) -> None:
        lot.transport_s = self.env.now_s - lot.transport_s
        self._arrive(lot)

    def _on_delivered(self, value: Any) -> None:
        if self._veh_wait:  # the freed vehicle goes to the lot waiting longest
            nxt, asked = self._veh_wait.popleft()
            travel = nxt.transport_s
            nxt.transport_s += self.env.now_s - asked
            self._timer(travel, self._on_delivered, nxt)
        else:
            self._veh_free += 1
        self._arrive(value)

    def _arrive(self, lot: Lot) -> None:
        now = self.env.now_s
        lot.qenter = now
        lot.start_s = math.nan
        lot.where = _QUEUED
        g = lot.step.group
        if g.is_batch:
            g.queue.push(lot, now)
            if g.free:
                self._try_batch(g)
            return
        if g.free:
            free = g.free
            tool = free[0]
            su = lot.step.setup
            if su is not None and tool.setup != su and len(free) > 1:
                for t in free:
                    if t.setup == su:
                        tool = t
                        break
            free.remove(tool)
            tool.in_free = False
            self._start_job(tool, [lot], lot.step)
            return
        g.queue.push(lot, now)

    def _try_batch(self, g: Group) -> None:
        for tool in list(g.free):
            if not g.queue.n:
                return
            g.free.remove(tool)
            tool.in_free = False
            self._tool_free(tool)

    def _on_group_wake(self, value: Any) -> None:
        g, at = value
        if g.wake_at == at:
            g.wake_at = None
            self._try_batch(g)

    # ----------------------------------------------------------------- jobs

    def _tool_free(self, tool: Tool) -> None:
        """Give an able tool its next work, or put it on its group's free list."""
        if tool.down is not None or tool.held or not tool.accepting:
            return
        if tool.hold_pending:
            if not tool.jobs:
                tool.hold_pending = False
                tool.held = True
                self._refresh(tool)
            return
        if tool.pm_pending:
            if not tool.jobs:
                self._start_pm(tool)
            return
        g = tool.group
        now = self.env.now_s
        stick = tool.runs < g.min_run
        if g.is_batch:
            lots, wake = g.queue.take(now, tool.setup, stick=stick)  # type: ignore[union-attr]  # is_batch: a BatchQueue
            if lots:
                self._start_job(tool, lots, lots[0].step)
                return
            if wake is not None and (g.wake_at is None or wake < g.wake_at):
                g.wake_at = wake
                self._timer(wake - now, self._on_group_wake, (g, wake))
        else:
            lot = g.queue.pop(now, tool.setup, stick=stick)  # type: ignore[union-attr]  # not is_batch: a LotQueue
            if lot is not None:
                self._start_job(tool, [lot], lot.step)
                return
        if not tool.in_free:
            tool.in_free = True
            g.free.append(tool)

    def _setup_time(self, g: Group, frm: str | None, to: str) -> float:
        smp = g.setups.get((frm, to)) or g.setups.get((None, to)) or g.setup_default
        return smp() if smp is not None else 0.0

    def _start_job(self, tool: Tool, lots: list[Lot], step: StepRt) -> None:
        now = self.env.now_s
        self._job_seq += 1
        job = Job()
        job.id = self._job_seq
        job.lots = lots
        job.step = step
        job.tool = tool
        job.start_s = now
        job.token = 0
        job.rem = 0.0
        for lot in lots:
            lot.where = _IN_PROCESS
            lot.start_s = now
            lot.tool = tool
            if lot.qt_to >= 0 and lot.idx >= lot.qt_to:
                if lot.idx == lot.qt_to:
                    waited = now - lot.qt_deadline
                    if waited > 0:
                        self.rec.qtime.append(
                            (lot.id, lot.product.id, lot.qt_from, lot.idx + 1, now, waited)
                        )
                lot.qt_to = -1
        tool.jobs.append(job)
        tool.accepting = False
        tool.accept_due = False
        su = step.setup
        setup_s = 0.0
        if su is not None:
            if su != tool.setup:
                if (
                    tool.setup is not None
                    or tool.group.setup_default is not None
                    or tool.group.setups
                ):
                    setup_s = self._setup_time(tool.group, tool.setup, su)
                tool.setup = su
                tool.runs = 0
            tool.runs += len(lots)
        job.setup_s = setup_s
        if self.events is not None:
            ev = self.events
            ev.append(TagUpdate(tool.id, "lot", ",".join(lot.id for lot in lots), now))
            ev.append(TagUpdate(tool.id, "recipe", step.recipe, now))
        if setup_s > 0:
            job.phase = _SETUP
            job.end = now + setup_s
            self._timer(setup_s, self._on_phase, (job, 0))
            self._refresh(tool)
        else:
            self._begin_process(job)
            if tool.state is not PRODUCTIVE or tool.sub:  # a busy tool going on stays put
                self._refresh(tool)

    def _begin_process(self, job: Job) -> None:
        step = job.step
        g = step.group
        pt = step.time()
        accept = step.bint
        if step.per == "wafer":
            w = 0
            for lot in job.lots:
                w += lot.wafers
            if step.wint:
                pt = pt + (w - 1) * step.wint
                if g.cascade > 1:  # the next lot's first wafer follows this lot's last one
                    accept = w * step.wint
            else:
                pt = pt * w
        n = len(job.lots)
        pt += n * (g.load_s + g.unload_s)
        now = self.env.now_s
        job.phase = _PROC
        job.end = end = now + pt
        self._at(end, self._cb_phase, (job, job.token))
        if accept is not None and accept < pt:
            tool = job.tool
            tool.accept_token += 1
            tool.accept_at = now + accept
            self._timer(accept, self._on_accept, (tool, tool.accept_token))

    def _on_accept(self, value: Any) -> None:
        tool, token = value
        if token != tool.accept_token:
            return
        cascade = tool.group.cascade
        if cascade > 1 and len(tool.jobs) >= cascade:
            tool.accept_due = True  # full: the next lot enters when one finishes
            return
        tool.accepting = True
        self._tool_free(tool)

    def _on_phase(self, value: Any) -> None:
        """End a job's setup or its processing (the finish is inlined: the hottest event)."""
        job, token = value
        if token != job.token:
            return
        if job.phase == _SETUP:
            self._begin_process(job)
            self._refresh(job.tool)
            return
        now = self.env.now_s
        tool = job.tool
        step = job.step
        gid = tool.group.id
        tid = tool.id
        jobs = tool.jobs
        if len(jobs) == 1:
            jobs.clear()
        else:
            jobs.remove(job)
        steps = self._steps
        decide = step.decide
        w = 0
        moves = []
        for lot in job.lots:
            w += lot.wafers
            outcome = OUTCOME_OK
            if decide is not None:
                u = decide()
                if u < step.scrap_p:
                    outcome = OUTCOME_SCRAP
                elif u < step.scrap_p + step.rework_p:
                    outcome = OUTCOME_REWORK
            steps.append(
                (lot.id, lot.product.id, step.no, gid, tid, lot.qenter, lot.start_s, now,
                 lot.transport_s, lot.wafers, job.id, outcome)
            )  # fmt: skip
            if len(steps) >= self._spill_at:
                self.rec.spill("steps")
            if step.qt_to >= 0:
                lot.qt_to = step.qt_to
                lot.qt_from = step.no
                lot.qt_deadline = now + step.qt_limit
            moves.append((lot, outcome))
        tool.wafers += w
        if tool.wafers >= tool.pm_wafer_due:  # a wafer-count PM is due (inf: none)
            _wafer_pms_due(tool)
        if not jobs:
            tool.accepting = True
            tool.accept_due = False
            tool.accept_token += 1
        elif tool.accept_due and len(jobs) < tool.group.cascade:
            tool.accept_due = False
            tool.accepting = True
        if self.events is not None:
            ev = self.events
            ev.append(TagUpdate(tid, "wafer_count", tool.wafers, now))
            if not jobs:
                ev.append(TagUpdate(tid, "lot", "", now))
        for lot, outcome in moves:
            if outcome == OUTCOME_OK:
                self._goto(lot, lot.idx + 1, tool, True)
            elif outcome == OUTCOME_SCRAP:
                lot.where = _MOVING
                self._exit(lot, tool, scrapped=True)
            else:
                self._goto(lot, step.rework_to, tool, False)
        # next work first: a tool that goes straight on stays PRODUCTIVE, no state change
        self._tool_free(tool)
        if not jobs or jobs[-1].phase == _SETUP or tool.down is not None or tool.held:
            self._refresh(tool)

    # ----------------------------------------------------------------- states

    def _refresh(self, tool: Tool) -> None:
        """Recompute the E10 state of ``tool`` and record it if it changed."""
        if tool.down is not None:
            st, sub = tool.down
        elif tool.held:
            st, sub = ENGINEERING, "hold"
        elif tool.jobs:
            if tool.jobs[-1].phase == _SETUP:
                st, sub = SCHEDULED_DOWN, "setup"
            else:
                st, sub = PRODUCTIVE, ""
        else:
            st, sub = STANDBY, ""
        old = tool.state
        if st is old and sub == tool.sub:
            return
        now = self.env.now_s
        if tool.rel_basis == "busy":
            if old is PRODUCTIVE:
                tool.ttf_left -= now - tool.busy_since
                tool.fail_token += 1
            if st is PRODUCTIVE:
                tool.busy_since = now
                self._timer(max(tool.ttf_left, 0.0), self._on_fail_timer, (tool, tool.fail_token))
        if now > tool.since:  # the interval just ended (zero-length ones carry no time)
            states = self._states
            states.append((tool.id, _STATE_VALUE[old], tool.sub, tool.since, now))
            if len(states) >= self._spill_at:
                self.rec.spill("states")
        tool.since = now
        tool.state = st
        tool.sub = sub
        if self.events is not None:
            self.events.append(StateChange(tool.id, st, now, sub))
            self.events.append(TagUpdate(tool.id, "state", st.value, now))

    def _leave_free(self, tool: Tool) -> None:
        if tool.in_free:
            tool.in_free = False
            tool.group.free.remove(tool)

    def _suspend(self, tool: Tool) -> None:
        now = self.env.now_s
        for job in tool.jobs:
            job.rem = job.end - now
            job.token += 1
        if not tool.accepting and tool.jobs and tool.accept_at > now:
            tool.accept_rem = tool.accept_at - now
            tool.accept_token += 1
        else:
            tool.accept_rem = -1.0

    def _resume(self, tool: Tool) -> None:
        now = self.env.now_s
        for job in tool.jobs:
            job.end = now + job.rem
            self._timer(job.rem, self._on_phase, (job, job.token))
        if tool.accept_rem >= 0:
            tool.accept_at = now + tool.accept_rem
            self._timer(tool.accept_rem, self._on_accept, (tool, tool.accept_token))
            tool.accept_rem = -1.0

    def _after_up(self, tool: Tool) -> None:
        if tool.down is not None:
            return
        if tool.fail_pending:
            tool.fail_pending = False
            self._fail(tool, None)
            return
        if tool.pm_pending and not tool.jobs and not tool.held:
            self._start_pm(tool)
            return
        self._tool_free(tool)

    # failures

    def _on_fail_timer(self, value: Any) -> None:
        tool, token = value
        if token != tool.fail_token:
            return
        self._fail(tool, None)

    def _fail(self, tool: Tool, repair_s: float | None) -> bool:
        if tool.down is not None:
            if repair_s is None:
                tool.fail_pending = True
            return False
        self._leave_free(tool)
        self._suspend(tool)
        tool.fail_natural = repair_s is None
        if repair_s is None:
            repair_s = _failure_samplers(tool)[1]()
        tool.down = (UNSCHEDULED_DOWN, "repair")
        self._refresh(tool)
        self._timer(repair_s, self._on_repaired, tool)
        return True

    def _on_repaired(self, value: Any) -> None:
        tool = value
        tool.down = None
        if tool.fail_natural:
            if tool.rel_basis == "calendar":
                tool.fail_token += 1
                ttf = _failure_samplers(tool)[0]()
                tool.fail_at = self.env.now_s + ttf
                self._timer(ttf, self._on_fail_timer, (tool, tool.fail_token))
            elif tool.rel_basis == "busy":
                tool.ttf_left = _failure_samplers(tool)[0]()
        self._resume(tool)
        self._refresh(tool)
        self._after_up(tool)

    def time_to_failure(self, tool: Tool) -> float:
        """Return the time left to ``tool``'s next random failure (inf if none is due).

        Calendar basis: seconds of plant time. Busy basis: seconds of productive time left
        (the clock of such a failure runs only while the tool processes).
        """
        if tool.down is not None or tool.rel_basis is None:
            return math.inf
        if tool.rel_basis == "calendar":
            return max(tool.fail_at - self.env.now_s, 0.0)
        left = tool.ttf_left
        if tool.state is PRODUCTIVE:
            left -= self.env.now_s - tool.busy_since
        return max(left, 0.0)

    def inject_breakdown(self, equipment_id: str, duration_s: float) -> bool:
        """Break a tool down now for ``duration_s``; False if it is already down."""
        if duration_s <= 0:
            msg = f"breakdown duration must be positive, got {duration_s}"
            raise SimulationError(msg)
        return self._fail(self.tool(equipment_id), float(duration_s))

    # preventive maintenance

    def _on_pm_timer(self, value: Any) -> None:
        tool, k = value
        pm = tool.pms[k][0]
        self._timer(pm.interval, self._on_pm_timer, (tool, k))
        tool.pm_pending.append(k)
        if tool.down is None and not tool.jobs and not tool.held:
            self._start_pm(tool)

    def _start_pm(self, tool: Tool) -> None:
        k = tool.pm_pending.pop(0)
        _, dur, _ = tool.pms[k]
        self._leave_free(tool)
        tool.down = (SCHEDULED_DOWN, "pm")
        self._refresh(tool)
        self._timer(dur(), self._on_pm_done, (tool, k))

    def _on_pm_done(self, value: Any) -> None:
        tool, k = value
        qual = tool.pms[k][2]
        if qual is not None:
            tool.down = (ENGINEERING, "qualification")
            self._refresh(tool)
            self._timer(qual(), self._on_qual_done, tool)
            return
        tool.down = None
        self._refresh(tool)
        self._after_up(tool)

    def _on_qual_done(self, value: Any) -> None:
        tool = value
        tool.down = None
        self._refresh(tool)
        self._after_up(tool)

    # operator hold

    def hold(self, equipment_id: str) -> bool:
        """Put a tool on operator hold: it starts nothing new (ENGINEERING / 'hold').

        A tool that is processing finishes its load first. Returns False if the tool is
        down (repair, PM, qualification) or already on hold.
        """
        tool = self.tool(equipment_id)
        if tool.down is not None or tool.held or tool.hold_pending:
            return False
        self._leave_free(tool)
        if tool.jobs:
            tool.hold_pending = True
            return True
        tool.held = True
        self._refresh(tool)
        return True

    def resume(self, equipment_id: str) -> bool:
        """Release an operator hold; False if the tool is not on hold."""
        tool = self.tool(equipment_id)
        if tool.hold_pending:
            tool.hold_pending = False
            self._tool_free(tool)
            return True
        if not tool.held:
            return False
        tool.held = False
        self._refresh(tool)
        self._after_up(tool)
        return True

    # ----------------------------------------------------------------- end of run

    def finalize(self) -> None:
        """Record the lots still in the fab as open rows (NaN end/exit) at the current time."""
        steps, states, limit = self._steps, self._states, self._spill_at
        lots = self.rec.lots.append
        nan = math.nan
        for lot in self.wip.values():
            if lot.where == _QUEUED or lot.where == _IN_PROCESS:
                tool = lot.tool.id if lot.where == _IN_PROCESS and lot.tool is not None else ""
                steps.append(
                    (lot.id, lot.product.id, lot.step.no, lot.step.group.id, tool, lot.qenter,
                     lot.start_s, nan, lot.transport_s, lot.wafers, 0, OUTCOME_OK)
                )  # fmt: skip
                if len(steps) >= limit:
                    self.rec.spill("steps")
            lots(
                (lot.id, lot.product.id, lot.wafers, lot.priority, lot.release_s, nan, False,
                 lot.initial, lot.due_s if lot.due_s is not None else nan)
            )  # fmt: skip
        now = float(self.env.now_s)
        for t in self.tool_list:  # close every tool's current state interval
            if now > t.since:
                states.append((t.id, t.state.value, t.sub, t.since, now))
                if len(states) >= limit:
                    self.rec.spill("states")
            t.since = now
        self.rec.end_s = now

    def queue_lengths(self) -> dict[str, int]:
        """Return the number of lots waiting at each tool group."""
        return {gid: len(g.queue) for gid, g in self.groups.items()}

    def events_scheduled(self) -> int:
        """Return how many entries (timers, SimPy events) this run has scheduled so far."""
        return self.env.events_scheduled()


def _lazy(streams: Streams, purpose: str, *ids: str | int) -> Any:
    return lambda: streams.generator(purpose, *ids)


def _group_caps(
    spec: s.PlantSpec, types: dict[str, s.EquipmentType]
) -> dict[str, list[s.BatchSpec]]:
    """Return the batch capacities of the tools of each group."""
    out: dict[str, list[s.BatchSpec]] = {}
    for e in spec.equipment:
        b = types[e.type].batch
        if b is not None:
            out.setdefault(e.group, []).append(b)
    return out


def _batch_limits(step: s.RouteStep, group_caps: dict[str, list[s.BatchSpec]]) -> tuple[int, int]:
    """Return (min, max) wafers of a batch at ``step``; (1, 1) means one lot at a time."""
    if step.per != "batch":
        return 1, 1
    caps = group_caps.get(step.tool_group, [])
    spec_b = step.batch or (caps[0] if caps else None)
    if step.per != "batch" or spec_b is None:
        return 1, 1
    hi = spec_b.max_wafers
    for c in caps:
        assert c is not None
        hi = min(hi, c.max_wafers)
    return min(spec_b.min_wafers, hi), hi


def parse_rule(rule: s.DispatchRule | str | None) -> s.DispatchRule | None:
    """Return the dispatch rule named ``rule`` (SimulationError if unknown)."""
    if rule is None or isinstance(rule, s.DispatchRule):
        return rule
    try:
        return s.DispatchRule(str(rule).lower())
    except ValueError:
        names = ", ".join(r.value for r in s.DispatchRule)
        msg = f"unknown dispatching rule {rule!r}: choose one of {names}"
        raise SimulationError(msg) from None


def check_spec(spec: s.PlantSpec) -> None:
    """Check that a plant can be simulated; raise SimulationError listing every problem.

    Checks: every route step's tool group has tools; products exist with routes; batch
    steps admit a lot (its wafers fit the batch); initial WIP names existing steps; and
    there is something to simulate (a product or initial WIP).
    """
    problems: list[str] = []
    groups = spec.groups()
    types = {t.id: t for t in spec.equipment_types}
    for e in spec.equipment:
        if e.type not in types:
            problems.append(f"equipment {e.id}: unknown equipment type {e.type!r}")
    if problems:
        raise SimulationError("cannot simulate this plant:\n  " + "\n  ".join(problems))
    route_ids = {r.id for r in spec.routes}
    group_caps = _group_caps(spec, types)
    for r in spec.routes:
        for i, st in enumerate(r.steps, 1):
            where = f"route {r.id} step {i} ({st.name or st.recipe or st.tool_group})"
            if st.tool_group not in groups:
                problems.append(
                    f"{where}: no tool can run it (tool group {st.tool_group!r} has no tools)"
                )
                continue
            if st.rework is not None and st.rework.to_step > i:
                problems.append(f"{where}: rework goes forward to step {st.rework.to_step}")
            if st.queue_time_limit is not None and not (
                i < st.queue_time_limit.to_step <= len(r.steps)
            ):
                problems.append(
                    f"{where}: queue-time limit to step {st.queue_time_limit.to_step} is not a later step"
                )
            if st.per == "batch":
                lo, hi = _batch_limits(st, group_caps)
                sb = st.batch
                if sb is not None and sb.min_wafers > hi:
                    problems.append(
                        f"{where}: impossible batch size: min_wafers {sb.min_wafers} exceeds the "
                        f"tools' max_wafers {hi}"
                    )
                for p in spec.products:
                    if p.route == r.id and (lo, hi) != (1, 1) and p.wafers_per_lot > hi:
                        problems.append(
                            f"{where}: impossible batch size: a lot of product {p.id} has "
                            f"{p.wafers_per_lot} wafers, more than max_wafers {hi}"
                        )
    for p in spec.products:
        if p.route not in route_ids:
            problems.append(f"product {p.id}: unknown route {p.route!r}")
    prods = {p.id: p for p in spec.products}
    for il in spec.initial_wip:
        prod = prods.get(il.product)
        if prod is None:
            problems.append(f"initial lot {il.id}: unknown product {il.product!r}")
            continue
        if prod.route in route_ids and il.step > len(spec.route(prod.route).steps):
            problems.append(
                f"initial lot {il.id}: step {il.step} is beyond the end of route {prod.route}"
            )
    if problems:
        raise SimulationError("cannot simulate this plant:\n  " + "\n  ".join(problems))
