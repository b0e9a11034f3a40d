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
from typing import Any

from factory_twin.errors import SimulationError
from factory_twin.model import schema as s
from factory_twin.model.events import E10State, LotMove, StateChange, TagUpdate
from factory_twin.model.transport import move_time_s, nearest_destination
from factory_twin.sim.engine import Engine
from factory_twin.sim.fab_objects import (
    _IN_PROCESS,
    _MOVING,
    _PROC,
    _QUEUED,
    _SETUP,
    ENGINEERING,
    OUTCOME_OK,
    OUTCOME_REWORK,
    OUTCOME_SCRAP,
    PRODUCTIVE,
    SCHEDULED_DOWN,
    STANDBY,
    UNSCHEDULED_DOWN,
    Group,
    Job,
    Lot,
    ProductRt,
    StepRt,
    Tool,
    _wafer_pms_due,
)
from factory_twin.sim.model_build import ModelBuild, check_spec, parse_rule, raw_process_time
from factory_twin.sim.model_equipment import EquipmentEvents
from factory_twin.sim.records import Recorder
from factory_twin.sim.rng import Streams

# the model's public names, wherever they are defined (runtime objects in fab_objects.py,
# the plant checks in model_build.py)
__all__ = [
    "ENGINEERING",
    "OUTCOME_OK",
    "OUTCOME_REWORK",
    "OUTCOME_SCRAP",
    "PRODUCTIVE",
    "SCHEDULED_DOWN",
    "STANDBY",
    "UNSCHEDULED_DOWN",
    "FabModel",
    "Group",
    "Job",
    "Lot",
    "ProductRt",
    "StepRt",
    "Tool",
    "check_spec",
    "parse_rule",
    "raw_process_time",
]

logger = logging.getLogger(__name__)

_STATE_VALUE = {st: st.value for st in E10State}  # Enum.value is a slow descriptor
_FAR_WINDOW_S = 6 * 3600.0  # timers due later than this ahead wait outside the event queue


class FabModel(ModelBuild, EquipmentEvents):
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
        self._oht_done = self._on_oht_delivered
        self._timer = self.env.call_later  # (delay, callback, value): the model's timers
        self._at = self.env.call_at  # (time, callback, value): the hot path's entries
        self._build(rule_e)

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
        lot.transport_s = now  # the request time until the lot is delivered
        lot.where = _MOVING
        if self.events is not None:
            a, b = self._port[src.id], self._port[dst.id]
            key = (a, b)
            t = self._nominal.get(key)
            if t is None:
                t = self._nominal[key] = self.oht.nominal_s(a, b)
            self.events.append(
                LotMove(lot.id, lot.product.id, src.id, dst.id, now, now + t, i + 1)
            )
        self.oht.request_at(src.port, dst.port, lot, self._oht_done)

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
