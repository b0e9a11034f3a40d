"""A drill served live: the plant simulator in drill mode, playing a drill's injections.

:class:`DrillSimulator` is the :class:`~factory_twin.app.simulator.EmbeddedPlantSimulator`
with a drill. Before serving it fast-forwards the plant to the drill's ``start_at_s`` (a
warmed-up fab), then every step:

* fires the timed injections at their exact plant time (the step is cut there) and the
  triggered ones when their trigger shows in the plant's events (a tool entering a state, a
  tag crossing a value, a lot reaching a step), ``delay_s`` later;
* keeps drifting tags moving and holds communication-lost tools' values Bad;
* publishes the drill clock, state, active faults and every trainee's score
  (:mod:`factory_twin.opcua.server.drill_space`), with an event per injection, action and score
  change, and keeps every trainee's debrief for that trainee alone (``GetDebrief`` with the
  secret token their ``Join`` returned; ``DebriefRevision`` says when one changed);
* keeps every drill event it emitted and every alarm transition of the plant (raised,
  cleared, acknowledged, shelved...), numbered, in :attr:`DrillSimulator.events` (over a
  stop and start of its server too; with ``record_dir`` in ``<drill>.events``, over a new
  process as well), so a client back after a lost connection fetches the ones it missed
  (``GetEvents``, :mod:`factory_twin.opcua.server.drill_events`); and publishes the trainee
  names its token store holds (``TakenNames``: names only) for a trainer following it from
  another computer.

Trainee actions are OPC UA calls: the machines' Hold and Resume, the conditions' Acknowledge
and the Drill object's methods, each tied to the caller (the session user, or an anonymous
client's session name), so a class of trainees is scored separately on one plant; a trainee
who reconnects under the same name keeps the score (scores are kept by name).
Resuming an interlocked tool is refused (and costs points) until the interlock's procedure
step is signed off, for each trainee by themselves (a class shares one plant, not its sign-offs).

With ``record_dir`` the run is recorded: the served events and alarms to
``<drill>-<time>.parquet`` (the historian's format: the replay bar plays it) and the drill log
to ``<drill>-<time>.drill.json`` (:class:`~factory_twin.app.drill_log.DrillLog`). The trainee
names taken by a Join are kept there too, in ``<drill>.tokens`` (one file per drill, not per
run: a salted hash of each name's token, never the token, see
:mod:`factory_twin.opcua.server.drill_tokens`), so a drill server started again on the same
directory still joins each trainee with the token their app saved and refuses anyone else
under their name; the trainer's ReleaseName removes the name from the file. On a damaged
token file making the simulator raises
:class:`~factory_twin.opcua.server.drill_tokens.TokenFileError` naming the file and line (the
file copied to ``.bak``), so the drill does not start, unless ``forget_tokens`` is given: then
the problem is logged as an error and the drill starts with every name free. The event log
is kept there too, in ``<drill>.events`` (one file per drill, rewritten atomically, the copy
before the last write in ``.bak``): a drill server started again on the directory before the
drill finished continues it under the same log id, so a trainer's app that was following the
old process still fetches what it missed; once the drill has finished, the next drill server
made on the directory (the next run) keeps the ended run's log as ``<drill>.events.prev`` and
starts a new log with a new id. A log keeps its newest
:data:`~factory_twin.opcua.server.drill_events.MAX_ENTRIES` entries, the numbers intact. A damaged event log does not stop the drill: it is moved aside to
``<drill>.events.damaged``, the problem (file, line, column) logged as an error and kept in
:attr:`DrillSimulator.events`'s ``problem`` (its ``damage`` the error, for the Train window
to show), and a new log (a new id) started. Without
``record_dir`` the names and the event log are kept in memory only: over :meth:`stop` and
:meth:`start` of this object, not over a new process.

Drills only ever run on this simulator: nothing here talks to a live plant.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from factory_twin.app.drill_debrief import debrief_texts
from factory_twin.app.drill_log import AlarmRecord, DrillLog, NameRelease
from factory_twin.app.simulator import EmbeddedPlantSimulator
from factory_twin.errors import FactoryTwinError
from factory_twin.model import schema as s
from factory_twin.model.drill_checks import check_drill
from factory_twin.model.drill_scoring import (
    ActionRecord,
    InjectionRecord,
    TraineeScore,
    safety_steps,
    score_all,
)
from factory_twin.model.drills import describe_injection
from factory_twin.model.events import (
    AlarmEvent,
    LotMove,
    PlantEvent,
    Quality,
    StateChange,
    TagUpdate,
)
from factory_twin.opcua.server import DrillCall, DrillSpace, trainee_name
from factory_twin.opcua.server.drill_events import DrillEventLog
from factory_twin.opcua.server.drill_tokens import TokenStore

logger = logging.getLogger(__name__)

TRAINER_CALLS = ("Pause", "Resume", "SetSpeed", "Finish", "Inject", "ReleaseName")
WARM_UP_TAG_PERIOD_S = 60.0  # tag samples are coarse while fast-forwarding to the start


@dataclass
class _Drift:
    equipment: str
    tag: str
    t0: float
    v0: float
    rate: float
    target: float | None
    until: float

    def value(self, now: float) -> float:
        v = self.v0 + self.rate * (now - self.t0)
        if self.target is not None:
            v = min(v, self.target) if self.rate >= 0 else max(v, self.target)
        return v


def _drift_of(inj: s.FaultInjection, now: float, v0: float) -> _Drift:
    rate = inj.rate_per_s
    if rate is None:  # a ramp to the value over ramp_s
        rate = ((inj.value or v0) - v0) / inj.ramp_s
    elif inj.value is not None and (inj.value - v0) * rate < 0:
        rate = -rate  # the rate is a speed toward the value
    return _Drift(inj.equipment, inj.tag or "", now, v0, rate, inj.value, now + inj.hold_s)


class DrillSimulator(EmbeddedPlantSimulator):
    """The plant simulator running drill ``drill`` (see the module doc).

    Parameters
    ----------
    spec, drill
        The plant and one of its drills.
    speed
        Plant seconds per wall second (default the drill's ``speed``).
    record_dir
        Record the run there (Parquet history and drill log); None records nothing.
    trainers
        Session names allowed to call the trainer methods (None: anyone).
    forget_tokens
        Start with no trainee names taken when ``record_dir``'s token file is damaged (the
        problem logged as an error) instead of raising TokenFileError.
    **options
        As :class:`EmbeddedPlantSimulator` (``endpoint``, ``seed``, ``tick_s``, security...).
    """

    def __init__(
        self,
        spec: s.PlantSpec,
        drill: s.Drill,
        *,
        speed: float | None = None,
        record_dir: Path | None = None,
        trainers: set[str] | None = None,
        tag_period_s: float | None = 1.0,
        forget_tokens: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(
            spec,
            speed=drill.speed if speed is None else speed,
            tag_period_s=tag_period_s,
            **options,
        )
        self.drill = drill
        self.trainers = trainers
        self.record_dir = record_dir
        self.state = "running"
        self.injections: list[InjectionRecord] = []
        self.actions: list[ActionRecord] = []
        self.alarms: list[AlarmRecord] = []
        self.releases: list[NameRelease] = []
        self.trainees: list[str] = []
        self.scores: dict[str, TraineeScore] = {}
        self.space: DrillSpace | None = None
        self.log_path: Path | None = None
        self.history_path: Path | None = None
        self._steps = safety_steps(spec)
        self._timed = sorted((float(i.at_s), i) for i in drill.injections if i.at_s is not None)
        self._armed = [i for i in drill.injections if i.trigger is not None]
        self._due: list[tuple[float, s.FaultInjection]] = []  # triggered, waiting for delay
        self._drifts: dict[tuple[str, str], _Drift] = {}
        self._comm_lost: dict[str, float] = {}
        # tool -> (procedure, step) that unlocks it, and the trainees who have signed it off:
        # in a class each trainee's resume is refused until they signed the step off themselves
        self._interlocks: dict[str, tuple[str, int]] = {}
        self._unlocked_by: dict[str, set[str]] = {}
        self._faults: list[tuple[str, str, float]] = []
        self._extra: list[PlantEvent] = []
        # drill events waiting to be emitted: (kind, message, trainee, equipment, points)
        self._pending_events: list[tuple[str, str, str, str, float]] = []
        self._adhoc = 0
        self._paused_speed = 0.0
        self._writer: Any = None
        self._started_at = time.time()
        self._published: dict[str, float] = {}
        self._debriefed: tuple[int, int, dict[str, TraineeScore]] | None = None
        # the trainees' names and token hashes, kept over restarts (in record_dir's file)
        self._tokens = (
            TokenStore.open(record_dir / f"{drill.id}.tokens", forget=forget_tokens)
            if record_dir is not None
            else TokenStore()
        )
        self._types = {e.id: spec.equipment_type(e.type) for e in spec.equipment}
        # every drill event and alarm transition, numbered, over stops and starts of the
        # server (GetEvents); with record_dir kept in its file over a new process too, while
        # the run goes on: the log of a run whose drill finished is kept as .prev, and this
        # run starts a new one (a new id)
        log = (
            DrillEventLog.open(record_dir / f"{drill.id}.events")
            if record_dir is not None
            else DrillEventLog()
        )
        self.events = log.next_run() if log.ended else log

    @property
    def token_path(self) -> Path | None:
        """The file keeping the trainee names' token hashes (None: memory only)."""
        return self._tokens.path

    @property
    def events_path(self) -> Path | None:
        """The file keeping the event log (None: memory only)."""
        return self.events.path

    @property
    def taken_names(self) -> list[str]:
        """The trainee names a Join has taken (sorted; a ReleaseName frees one)."""
        return list(self._tokens)

    # ------------------------------------------------------------------ clock

    @property
    def start_plant_s(self) -> float:
        """Plant time the drill clock starts at."""
        return self.drill.start_at_s

    @property
    def clock_s(self) -> float:
        """Drill seconds: plant seconds since the drill started."""
        return max(0.0, self.now_s - self.drill.start_at_s)

    # ------------------------------------------------------------------ life cycle

    def _make_simulation(self) -> Any:
        sim = super()._make_simulation()
        if self.drill.start_at_s > 0:
            period = sim.tag_period_s
            sim.tag_period_s = max(period, WARM_UP_TAG_PERIOD_S)
            sim.advance(self.drill.start_at_s)
            sim.tag_period_s = period
        return sim

    async def start(self) -> None:
        """Start the simulator in drill mode (warm-up first on the first start)."""
        if self.running:
            return
        await super().start()
        server = self.server
        assert server is not None
        self.space = await server.enable_drill(
            self.drill.id,
            self.drill.name,
            self.drill.briefing or self.drill.description,
            self.speed,
            self._on_drill_call,
            self._on_ack,
        )
        self.space.tokens = self._tokens
        self.space.events = self.events
        await self.space.publish_names()
        server.on_alarm = self._on_alarm
        self._debriefed = None  # a new address space: publish the debriefs again
        if self.record_dir is not None and self._writer is None:
            self._open_recording()
        await self.space.set("State", self.state)
        await self.space.set("Clock", round(self.clock_s, 3))  # restarted: not 0 till a step
        await self._rescore()

    async def stop(self) -> None:
        """Stop serving; finish the recording (the drill state is kept)."""
        await super().stop()
        self.space = None
        self.events.flush()
        self.close_recording()

    def _open_recording(self) -> None:
        from factory_twin.opcua.historian import HistoryWriter

        assert self.record_dir is not None
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self._started_at))
        base = self.record_dir / f"{self.drill.id}-{stamp}"
        self.history_path = base.with_suffix(".parquet")
        self.log_path = base.with_suffix(".drill.json")
        self._writer = HistoryWriter(self.history_path, flush_s=2.0)
        self._writer.add(self.sim.snapshot(), received_s=self._started_at)
        self.add_listener(self._record)

    def _record(self, events: list[PlantEvent]) -> None:
        if self._writer is not None:
            self._writer.add(events)

    def close_recording(self) -> Path | None:
        """Finish the Parquet file and write the drill log; return the log's path."""
        writer, self._writer = self._writer, None
        if writer is None:
            return None
        self.remove_listener(self._record)
        writer.close()
        assert self.log_path is not None
        self.log().save(self.log_path)
        return self.log_path

    def log(self) -> DrillLog:
        """The drill so far as a :class:`DrillLog`."""
        return DrillLog(
            plant=self.spec.site.name,
            drill_id=self.drill.id,
            start_plant_s=self.start_plant_s,
            started_at=self._started_at,
            injections=list(self.injections),
            actions=list(self.actions),
            alarms=list(self.alarms),
            trainees=list(self.trainees),
            end_s=self.clock_s,
            history=self.history_path.name if self.history_path is not None else "",
            releases=list(self.releases),
        )

    # ------------------------------------------------------------------ stepping

    async def step(self, dt_s: float) -> int:
        """Advance ``dt_s`` plant seconds, firing the injections due; serve what happened."""
        if self.sim is None or dt_s <= 0 or self.state != "running":
            return 0
        try:
            events = self._advance(dt_s)
        except Exception:
            logger.exception("drill step failed at t=%.1f s", self.now_s)
            return 0
        self.steps += 1
        try:
            n = await self._deliver(self._filter(events))
            await self._after_step()
        except Exception:
            logger.exception("serving the drill step at t=%.1f s failed", self.now_s)
            return 0
        return n

    def _next_due(self) -> float | None:
        times = [self.drill.start_at_s + t for t, _ in self._timed[:1]]
        times += [t for t, _ in self._due]
        return min(times) if times else None

    def _advance(self, dt_s: float) -> list[PlantEvent]:
        sim = self.sim
        target = sim.now_s + dt_s
        events: list[PlantEvent] = []
        while True:
            due = self._next_due()
            if due is None or due > target:
                break
            if due > sim.now_s:
                events += sim.advance(due - sim.now_s)
                self._check_triggers(events)
            self._fire_due()
        if target > sim.now_s:
            new = sim.advance(target - sim.now_s)
            events += new
            self._check_triggers(new)
            self._fire_due()
        self._update_faults()
        # what the injections fired at the step's end did (a breakdown's state change) can
        # meet a trigger too
        fired = sim.drain()
        self._check_triggers(fired)
        events += fired
        events += self._extra
        self._extra = []
        return events

    def _fire_due(self) -> None:
        now = self.sim.now_s
        while self._timed and self.drill.start_at_s + self._timed[0][0] <= now + 1e-9:
            _, inj = self._timed.pop(0)
            self._fire(inj)
        due = [x for x in self._due if x[0] <= now + 1e-9]
        self._due = [x for x in self._due if x[0] > now + 1e-9]
        for _, inj in due:
            self._fire(inj)

    def _check_triggers(self, events: list[PlantEvent]) -> None:
        if not self._armed:
            return
        for inj in list(self._armed):
            tr = inj.trigger
            assert tr is not None
            for ev in events:
                t = _trigger_time(tr, ev)
                if t is not None and t >= self.drill.start_at_s:
                    self._armed.remove(inj)
                    self._due.append((max(t + tr.delay_s, self.sim.now_s), inj))
                    break

    # ------------------------------------------------------------------ injections

    def _fire(self, inj: s.FaultInjection) -> None:
        """Apply one injection to the plant now and record it."""
        sim = self.sim
        now = sim.now_s
        eq = inj.equipment
        lot = ""
        k = inj.fault
        if k == "breakdown":
            sim.inject_breakdown(eq, inj.hold_s)
        elif k == "tag_drift":
            v0 = float(sim.value_of(eq, inj.tag))
            d = self._drifts[(eq, inj.tag or "")] = _drift_of(inj, now, v0)
            sim.force_tag(eq, inj.tag, d.value(now), inj.hold_s)
        elif k == "tag_stuck":
            v = inj.value if inj.value is not None else sim.value_of(eq, inj.tag)
            sim.force_tag(eq, inj.tag, v, inj.hold_s)
        elif k == "alarm":
            sim.force_tag(eq, inj.tag, self._alarm_value(inj), inj.hold_s)
        elif k == "comm_loss":
            self._comm_lost[eq] = now + inj.hold_s
            self._extra += [
                TagUpdate(eq, t.name, None, now, Quality.BAD, status="BadCommunicationError")
                for t in self._types[eq].tags
            ]
        elif k == "transport_jam":
            sim.jam_transport(inj.hold_s)
        elif k == "hot_lot":
            lot = sim.release_hot_lot(
                inj.product or "", lot_id=inj.lot, priority=inj.priority, step=inj.step or 1
            )
        elif k == "interlock":
            self._interlocks[eq] = (inj.procedure or "", inj.step or 1)
            self._unlocked_by[eq] = set()
            sim.hold(eq)
        until = now + inj.hold_s if k not in ("hot_lot", "interlock") else float("inf")
        self._faults.append((k, eq or s.TRANSPORT_ID, until))
        rec = InjectionRecord(
            inj.id,
            k,
            eq or s.TRANSPORT_ID,
            self.clock_s,
            lot=lot,
            procedure=inj.procedure or "",
            step=inj.step or 0,
            detail=inj.message or describe_injection(inj),
        )
        self.injections.append(rec)
        self._pending_events.append(("injection", rec.detail, "", rec.equipment, 0.0))

    def _alarm_value(self, inj: s.FaultInjection) -> float:
        if inj.value is not None:
            return inj.value
        tag = self._types[inj.equipment].tag(inj.tag or "")
        assert tag.alarms is not None and inj.limit is not None
        limit = float(getattr(tag.alarms, inj.limit))
        lo, hi = tag.normal_range or (limit, limit)
        setpoint = (lo + hi) / 2
        return limit + (limit - setpoint) * 0.05 if limit != setpoint else limit * 1.05

    def _update_faults(self) -> None:
        sim = self.sim
        now = sim.now_s
        for key, d in list(self._drifts.items()):
            if now >= d.until:
                del self._drifts[key]
                continue
            sim.force_tag(d.equipment, d.tag, d.value(now), d.until - now)
        for eq, until in list(self._comm_lost.items()):
            if now >= until:
                del self._comm_lost[eq]
                self._extra += [e for e in sim.snapshot() if getattr(e, "equipment", "") == eq]
        self._faults = [f for f in self._faults if f[2] > now]

    def _filter(self, events: list[PlantEvent]) -> list[PlantEvent]:
        lost = self._comm_lost
        if not lost:
            return events
        return [
            e
            for e in events
            if not (
                isinstance(e, (TagUpdate, StateChange))
                and e.equipment in lost
                and not (isinstance(e, TagUpdate) and e.quality is Quality.BAD)
            )
        ]

    # ------------------------------------------------------------------ publishing

    async def _after_step(self) -> None:
        space = self.space
        if space is None:
            return
        await space.set("Clock", round(self.clock_s, 3))
        await self._publish_vars()
        if self.state == "running" and self.clock_s >= self.drill.planned_end_s:
            await self.finish()
        await self._flush_events()
        await self._rescore()
        self.events.flush()  # the step's alarm transitions

    async def _publish_vars(self) -> None:
        if self.space is not None:
            await self.space.set("State", self.state)
            await self.space.set("Speed", float(self.speed))
            await self.space.set("ActiveFaults", [f"{k} {e}" for k, e, _ in self._faults])

    async def _flush_events(self) -> None:
        pending, self._pending_events = self._pending_events, []
        if self.space is None:
            return
        for kind, message, trainee, equipment, points in pending:
            await self.space.emit(
                kind, message, trainee=trainee, equipment=equipment, points=points
            )

    async def _rescore(self) -> None:
        scores = score_all(
            self.drill,
            self.injections,
            self.actions,
            trainees=self.trainees,
            steps=self._steps,
            now_s=None if self.state == "finished" else self.clock_s,
        )
        self.scores = scores
        if self.space is None:
            return
        for name, sc in scores.items():
            if self._published.get(name) != sc.score:
                if name in self._published:
                    await self.space.emit(
                        "score",
                        f"{name}: {sc.score:g} of {sc.max_points:g} points",
                        trainee=name,
                        points=sc.score,
                    )
                self._published[name] = sc.score
        summary = {
            n: {
                "score": sc.score,
                "max": sc.max_points,
                "percent": round(sc.percent, 2),
                "passed": sc.passed,
                "wrong": len(sc.wrong),
            }
            for n, sc in scores.items()
        }
        await self.space.set_scores({n: sc.score for n, sc in scores.items()}, summary)
        # the debriefs change only with the scores, injections and alarms: a step that
        # changed none of them skips rebuilding every trainee's timeline
        key = (len(self.injections), len(self.alarms), scores)
        if key != self._debriefed:
            self._debriefed = key
            await self.space.set_debriefs(debrief_texts(self.log(), scores))

    async def finish(self) -> None:
        """End the drill: the plant stops, unanswered responses count as missed; the event
        log is marked ended (the next drill server on the record directory starts a new one)."""
        self.state = "finished"
        self.events.end_run()
        if self.space is not None:
            await self.space.set("State", "finished")
            await self.space.emit("state", f"drill {self.drill.id} finished")
        self.events.flush()

    # ------------------------------------------------------------------ trainee actions

    def _join(self, name: str) -> None:
        if (
            name
            and name not in self.trainees
            and (self.trainers is None or name not in self.trainers)
        ):
            self.trainees.append(name)

    def _act(self, user: str, action: str, **fields: Any) -> ActionRecord:
        self._join(user)
        rec = ActionRecord(user, action, self.clock_s, **fields)
        self.actions.append(rec)
        what = " ".join(str(v) for v in fields.values() if v not in ("", 0, True))
        self._pending_events.append(
            ("action", f"{user}: {action} {what}".strip(), user, fields.get("equipment", ""), 0.0)
        )
        return rec

    def _on_method(self, equipment: str, method: str) -> bool:
        user = trainee_name()
        if not user or self.sim is None:
            return super()._on_method(equipment, method)
        if method in ("Hold", "Resume") and not self._may_act(user, f"{method} {equipment}"):
            return False
        if method == "Hold":
            self._act(user, "hold_tool", equipment=equipment)
            tool = self.sim.model.tool(equipment)
            return super()._on_method(equipment, method) or tool.held or tool.hold_pending
        if method == "Resume":
            locked = self._interlocks.get(equipment)
            if user in self._unlocked_by.get(equipment, ()):
                locked = None
            self._act(user, "resume_tool", equipment=equipment, accepted=locked is None)
            if locked is not None:
                self._pending_events.append(
                    (
                        "refused",
                        f"{equipment} is interlocked: sign off step {locked[1]} of {locked[0]}",
                        user,
                        equipment,
                        0.0,
                    )
                )
                return False
        return super()._on_method(equipment, method)

    def _may_act(self, user: str, what: str) -> bool:
        """True if the calling session may act as ``user`` (it joined with the name's token,
        see DrillSpace.may_act); else a refusal event, not sent to the name's trainee."""
        if self.space is None or self.space.may_act(user):
            return True
        logger.info("%s as %r refused: this session has not joined as them", what, user)
        self._pending_events.append(
            ("refused", f"{what} as {user!r} refused: not joined as them", "", "", 0.0)
        )
        return False

    def _on_ack(self, equipment: str, code: str, comment: str) -> bool:
        user = trainee_name()
        if not user:
            return True
        if not self._may_act(user, f"acknowledging {equipment} {code}"):
            return False
        self._act(user, "acknowledge_alarm", equipment=equipment, alarm=code, comment=comment)
        return True

    def _on_alarm(self, ev: AlarmEvent) -> None:
        t = max(0.0, ev.time_s - self.drill.start_at_s)
        self.alarms.append(
            AlarmRecord(
                t, ev.alarm_id, ev.equipment, ev.code, ev.message, ev.active, ev.acked,
                ev.user, ev.comment,
            )
        )  # fmt: skip
        self.events.add_alarm(ev, t)  # for a client back after a lost connection (GetEvents)
        if self._writer is not None:
            self._writer.add([ev])

    async def _on_drill_call(self, call: DrillCall) -> str:
        trainer_only = call.method in TRAINER_CALLS
        if trainer_only and self.trainers is not None and call.user not in self.trainers:
            return f"only a trainer ({', '.join(sorted(self.trainers))}) may call {call.method}"
        if self.state == "finished" and call.method not in ("Join", "ReleaseName"):
            return "the drill has finished"
        why = await self._serve_call(call)
        await self._publish_vars()
        await self._flush_events()
        await self._rescore()
        return why

    async def _serve_call(self, call: DrillCall) -> str:
        m, u, a = call.method, call.user, call.args
        if m == "Join":
            self._join(u)
            return ""
        if m in ("OpenProcedure", "SignOffStep"):
            return self._procedure_call(m, u, a)
        if m == "CallMaintenance":
            self._act(u, "dispatch_maintenance", equipment=str(a[0]), comment=str(a[1] or ""))
            return ""
        if m == "PrioritiseLot":
            if self.sim is None or not self.sim.prioritise_lot(str(a[0]), int(a[1])):
                return f"no lot {a[0]!r} in the fab"
            self._act(u, "prioritise_lot", lot=str(a[0]))
            return ""
        if m == "RerouteLot":
            if self.sim is None or str(a[0]) not in self.sim.model.wip:
                return f"no lot {a[0]!r} in the fab"
            self._act(u, "reroute_lot", lot=str(a[0]), equipment=str(a[1]))
            return ""
        if m == "ReleaseName":
            return self.release_name(str(a[0] or ""), by=u)
        return await self._trainer_call(m, a)

    def release_name(self, trainee: str, *, by: str = "") -> str:
        """Trainer: release ``trainee``'s name (its token is forgotten, so anyone may join
        under it afresh; the old token reads nothing; the score stays). Logged in the drill
        log and as a ``state`` event. '' when done, else why not."""
        if not trainee:
            return "name the trainee whose name to release"
        if not self._tokens.release(trainee):
            return f"no trainee has joined as {trainee!r} (nothing to release)"
        self.releases.append(NameRelease(self.clock_s, trainee, by))
        logger.info("the trainer released the name %r", trainee)
        self._pending_events.append(
            ("state", f"the trainer released the name {trainee!r}", trainee, "", 0.0)
        )
        return ""

    def _procedure_call(self, m: str, u: str, a: tuple[Any, ...]) -> str:
        eq, proc = str(a[0]), str(a[1])
        procs = {p.id: p for p in self.spec.procedures}
        if proc not in procs:
            return f"no procedure {proc!r}"
        if m == "OpenProcedure":
            self._act(u, "open_procedure", equipment=eq, procedure=proc)
            return ""
        step = int(a[2])
        if not 1 <= step <= len(procs[proc].steps):
            return f"procedure {proc!r} has {len(procs[proc].steps)} steps, not {step}"
        self._act(u, "sign_off_step", equipment=eq, procedure=proc, step=step)
        lock = self._interlocks.get(eq)
        if lock == (proc, step):
            done = self._unlocked_by.setdefault(eq, set())
            done.add(u)
            if set(self.trainees) <= done:  # every trainee has signed it off: the fault is over
                del self._interlocks[eq]
                self._faults = [
                    f for f in self._faults if not (f[0] == "interlock" and f[1] == eq)
                ]
        return ""

    async def _trainer_call(self, m: str, a: tuple[Any, ...]) -> str:
        if m == "Pause":
            self.state = "paused"
        elif m == "Resume":
            self.state = "running"
        elif m == "SetSpeed":
            if not float(a[0]) > 0:
                return f"speed must be positive, got {a[0]}"
            self.speed = float(a[0])
        elif m == "Finish":
            await self.finish()
            return ""
        elif m == "Inject":
            return self.inject(str(a[0]), str(a[1]), str(a[2] or ""), float(a[3]), float(a[4]))
        else:
            return f"unknown method {m}"
        if self.space is not None:
            await self.space.set("State", self.state)
            await self.space.emit("state", f"drill {self.state} at speed {self.speed:g}")
        return ""

    def _adhoc_target(self, fault: str, equipment: str, what: str) -> dict[str, Any]:
        return adhoc_target(self.spec, self._steps, fault, equipment, what)

    def inject(self, fault: str, equipment: str, tag: str, value: float, duration_s: float) -> str:
        """Inject an ad-hoc fault now (the trainer's Inject); '' when done, else why not.

        For an ``interlock`` ``tag`` may name ``procedure[:step]``, for a ``hot_lot``
        ``product[:step]``; see :func:`adhoc_target` for the defaults.
        """
        self._adhoc += 1
        fields: dict[str, Any] = {
            "id": f"adhoc{self._adhoc}",
            "at_s": self.clock_s,
            "equipment": equipment,
            "fault": fault,
            "duration_s": duration_s if duration_s > 0 else None,
            "message": f"ad-hoc {fault} injected by the trainer",
        }
        if fault in ("interlock", "hot_lot"):
            fields.update(self._adhoc_target(fault, equipment, tag))
        elif tag:
            fields["tag"] = tag
        if fault in ("tag_drift", "tag_stuck", "alarm"):
            fields["value"] = value
        try:
            inj = s.FaultInjection.model_validate(fields)
            problems = check_drill(self.spec, s.Drill(id="adhoc", name="adhoc", injections=[inj]))
        except ValidationError as exc:
            return "; ".join(str(e["msg"]) for e in exc.errors()) or "invalid injection"
        except ValueError as exc:
            return str(exc).splitlines()[0] if str(exc) else "invalid injection"
        if problems:
            return "; ".join(m for _, m in problems)
        try:
            self._fire(inj)
        except FactoryTwinError as exc:
            return str(exc)
        return ""


def _first_step(steps: str) -> int:
    return int(steps) if steps.strip().isdigit() else 0


def adhoc_target(
    spec: s.PlantSpec, safety: dict[str, tuple[int, ...]], fault: str, equipment: str, what: str
) -> dict[str, Any]:
    """The fields an ad-hoc ``interlock`` or ``hot_lot`` needs beyond the tool.

    ``what`` is ``procedure[:step]`` (interlock) or ``product[:step]`` (hot lot); left empty,
    an interlock takes the tool type's first procedure and its first safety step (else step 1),
    and a hot lot the first product whose route visits the tool's group, released at that step
    (else the first product at step 1).
    """
    name, _, step_text = what.partition(":")
    step = _first_step(step_text)
    tool = next((e for e in spec.equipment if e.id == equipment), None)
    if fault == "interlock":
        if not name and tool is not None:
            procs = spec.procedures_for(tool.type)
            if procs:
                name = procs[0].id
                step = step or next(iter(safety.get(name, ())), 1)
        return {"procedure": name or None, "step": step or 1}
    group = tool.group if tool is not None else equipment
    if not name:
        for pr in spec.products:
            steps = spec.route(pr.route).steps
            k = next((i for i, st in enumerate(steps) if st.tool_group == group), None)
            if k is not None:
                name, step = pr.id, step or k + 1
                break
        else:
            name = spec.products[0].id if spec.products else ""
    return {"product": name or None, "step": step or 1, "priority": 100}


def _trigger_time(tr: s.Trigger, ev: PlantEvent) -> float | None:
    """Return the plant time ``ev`` meets trigger ``tr``, None if it does not."""
    if tr.enters_state is not None:
        hit = isinstance(ev, StateChange) and ev.equipment == tr.equipment
        return float(ev.time_s) if hit and ev.state is tr.enters_state else None  # type: ignore[union-attr]
    if tr.tag is not None:
        if isinstance(ev, TagUpdate) and ev.equipment == tr.equipment and ev.tag == tr.tag:
            try:
                v = float(ev.value)
            except (TypeError, ValueError):
                return None
            hit = v > tr.above if tr.above is not None else v < (tr.below or 0.0)
            return float(ev.source_ts) if hit else None
        return None
    if not (isinstance(ev, LotMove) and ev.to_equipment is not None and ev.step == tr.step):
        return None
    return float(ev.arrive_s) if tr.product is None or ev.product == tr.product else None
