"""The drill scoring engine: pure, deterministic and computable by hand.

Input: a :class:`~factory_twin.model.schema.Drill`, the time-ordered
:class:`InjectionRecord` list (when each injection actually fired) and the
:class:`ActionRecord` list (what each trainee did, when). Times are **drill seconds**: plant
seconds since the drill started. Output: one :class:`TraineeScore` per trainee.

The rules, all of them:

1. Each expected response is anchored on an injection: the one it names in ``after``, else
   the first injection of the drill on the same equipment, else the drill's first injection.
   A response whose anchor never fired is *not triggered*: no points, and not counted in the
   maximum.
2. The trainee's first matching action at or after the anchor fired answers the response;
   its response time is the action's time minus the anchor's. Within ``within_s``: the full
   ``points`` ("on time"); later: 0 ("late"). No matching action: 0, "missed" (or "pending"
   while the limit has not passed, when ``now_s`` is given).
   ``sign_off_step`` without ``step`` is answered when every safety step of the procedure is
   signed off (the time of the last one). An acknowledgement without a comment does not
   answer a response with ``comment_required``.
3. Wrong actions cost the drill's ``penalties``: holding a *healthy* tool (no breakdown,
   drift, stuck tag, alarm, communication loss or interlock injected on it before the hold),
   resuming an *interlocked* tool before this trainee signed off the interlock's step, and
   acknowledging without a comment an alarm whose expected acknowledgement requires one.
4. Score = max(0, points earned - penalties); percent = score / maximum * 100; the trainee
   passes with percent >= ``pass_mark_pct`` (with no triggered response: passes when no
   wrong action was made).

Examples
--------
>>> from factory_twin.model import schema as s
>>> d = s.Drill(id="d", name="D",
...     injections=[s.FaultInjection(at_s=60, equipment="E1", fault="breakdown")],
...     expected=[s.ExpectedResponse(action="hold_tool", equipment="E1", within_s=120, points=10)])
>>> inj = [InjectionRecord("inj1", "breakdown", "E1", 60.0)]
>>> act = [ActionRecord("ann", "hold_tool", 150.0, equipment="E1")]
>>> score_trainee(d, inj, act, "ann").score
10.0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from factory_twin.model import schema as s

ACTION_KINDS: tuple[str, ...] = (
    "acknowledge_alarm",
    "hold_tool",
    "resume_tool",
    "open_procedure",
    "sign_off_step",
    "prioritise_lot",
    "reroute_lot",
    "dispatch_maintenance",
)
"""Trainee actions the engine knows (``resume_tool`` scores only as a wrong action)."""

UNHEALTHY_FAULTS = frozenset(
    {"breakdown", "tag_drift", "tag_stuck", "alarm", "comm_loss", "interlock"}
)
"""Faults that make their tool a right one to hold."""

Status = Literal["on time", "late", "missed", "pending", "not triggered"]


@dataclass(frozen=True, slots=True)
class InjectionRecord:
    """An injection that fired: which, what, on what, and when (drill seconds)."""

    injection_id: str
    fault: str
    equipment: str
    time_s: float
    lot: str = ""
    procedure: str = ""
    step: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One trainee action at drill time ``time_s`` (``accepted``: the plant allowed it)."""

    trainee: str
    action: str
    time_s: float
    equipment: str = ""
    procedure: str = ""
    step: int = 0
    lot: str = ""
    alarm: str = ""
    comment: str = ""
    accepted: bool = True


@dataclass(frozen=True, slots=True)
class ResponseRow:
    """How one expected response was answered."""

    index: int
    action: str
    equipment: str
    target: str  # procedure, alarm, lot or step the response is about ('' if none)
    injection_id: str
    injected_s: float | None
    limit_s: float
    points_possible: float
    done_s: float | None
    response_s: float | None
    points: float
    status: Status


@dataclass(frozen=True, slots=True)
class WrongAction:
    """An action that cost points."""

    time_s: float
    action: str
    equipment: str
    reason: str
    penalty: float


@dataclass(frozen=True, slots=True)
class TraineeScore:
    """One trainee's result."""

    trainee: str
    rows: tuple[ResponseRow, ...]
    wrong: tuple[WrongAction, ...]
    earned: float
    penalty: float
    max_points: float
    pass_mark_pct: float
    actions: tuple[ActionRecord, ...] = field(default=())

    @property
    def score(self) -> float:
        """Points earned minus penalties, never below 0."""
        return max(0.0, self.earned - self.penalty)

    @property
    def percent(self) -> float:
        """Score as a percentage of the maximum (100 when nothing could be earned)."""
        if self.max_points <= 0:
            return 100.0 if not self.wrong else 0.0
        return 100.0 * self.score / self.max_points

    @property
    def passed(self) -> bool:
        """True when the percentage reaches the pass mark."""
        return self.percent >= self.pass_mark_pct - 1e-9


def safety_steps(spec: s.PlantSpec) -> dict[str, tuple[int, ...]]:
    """Return, per procedure id, the 1-based numbers of its steps with safety notes."""
    return {
        p.id: tuple(i + 1 for i, st in enumerate(p.steps) if st.safety) for p in spec.procedures
    }


def anchor_of(drill: s.Drill, r: s.ExpectedResponse) -> s.FaultInjection | None:
    """Return the injection response ``r`` is timed from (see rule 1), None if none."""
    if not drill.injections:
        return None
    if r.after is not None:
        for inj in drill.injections:
            if inj.id == r.after:
                return inj
    if r.equipment:
        for inj in drill.injections:
            if inj.equipment == r.equipment:
                return inj
    return drill.injections[0]


def _matches(
    r: s.ExpectedResponse, a: ActionRecord, lot: str, steps: Mapping[str, tuple[int, ...]]
) -> bool:
    if a.action != r.action:
        return False
    if r.equipment and a.equipment and a.equipment != r.equipment:
        return False
    exact = ("acknowledge_alarm", "hold_tool", "dispatch_maintenance")
    if r.action in exact and a.equipment != r.equipment:
        return False
    if r.procedure and a.procedure != r.procedure:
        return False
    if r.action == "acknowledge_alarm":
        if r.alarm is not None and a.alarm != r.alarm:
            return False
        if r.comment_required and not a.comment.strip():
            return False
    if r.action in ("prioritise_lot", "reroute_lot"):
        want = r.lot or lot
        if want and a.lot != want:
            return False
    return not (r.action == "sign_off_step" and r.step is not None and a.step != r.step)


def _answer(
    r: s.ExpectedResponse,
    t0: float,
    lot: str,
    actions: Sequence[ActionRecord],
    steps: Mapping[str, tuple[int, ...]],
) -> float | None:
    """Return when the trainee answered ``r`` (drill seconds), None if not (yet)."""
    cands = [a for a in actions if a.time_s >= t0 - 1e-9 and _matches(r, a, lot, steps)]
    if not cands:
        return None
    if r.action == "sign_off_step" and r.step is None:
        need = steps.get(r.procedure or "", ())
        if not need:
            return None
        first: dict[int, float] = {}
        for a in cands:
            first.setdefault(a.step, a.time_s)
        if not all(n in first for n in need):
            return None
        return max(first[n] for n in need)
    return min(a.time_s for a in cands)


def _target(r: s.ExpectedResponse) -> str:
    if r.action == "sign_off_step":
        return f"{r.procedure} step {r.step}" if r.step else f"{r.procedure} safety steps"
    return r.procedure or r.alarm or r.lot or ""


def _rows(
    drill: s.Drill,
    fired: Mapping[str, InjectionRecord],
    mine: Sequence[ActionRecord],
    steps: Mapping[str, tuple[int, ...]],
    now_s: float | None,
) -> list[ResponseRow]:
    rows: list[ResponseRow] = []
    for i, r in enumerate(drill.expected):
        anchor = anchor_of(drill, r)
        rec = fired.get(anchor.id) if anchor is not None else None
        common = (i, r.action, r.equipment, _target(r), anchor.id if anchor else "")
        if rec is None:
            rows.append(
                ResponseRow(*common, None, r.within_s, r.points, None, None, 0.0, "not triggered")
            )
            continue
        t0 = rec.time_s
        done = _answer(r, t0, rec.lot, mine, steps)
        status: Status
        if done is None:
            status = "pending" if now_s is not None and now_s <= t0 + r.within_s else "missed"
            rows.append(ResponseRow(*common, t0, r.within_s, r.points, None, None, 0.0, status))
            continue
        rt = done - t0
        on_time = rt <= r.within_s + 1e-9
        rows.append(
            ResponseRow(
                *common,
                t0,
                r.within_s,
                r.points,
                done,
                rt,
                float(r.points) if on_time else 0.0,
                "on time" if on_time else "late",
            )
        )
    return rows


def _wrong(
    drill: s.Drill, injections: Sequence[InjectionRecord], mine: Sequence[ActionRecord]
) -> list[WrongAction]:
    p = drill.penalties
    needs_comment = [
        r for r in drill.expected if r.action == "acknowledge_alarm" and r.comment_required
    ]
    out: list[WrongAction] = []
    for idx, a in enumerate(mine):
        before = [x for x in injections if x.time_s <= a.time_s + 1e-9]
        if a.action == "hold_tool":
            faulty = {x.equipment for x in before if x.fault in UNHEALTHY_FAULTS}
            if a.equipment not in faulty:
                out.append(
                    WrongAction(
                        a.time_s,
                        a.action,
                        a.equipment,
                        f"held {a.equipment}, a healthy tool",
                        p.hold_healthy_tool,
                    )
                )
        elif a.action == "resume_tool":
            for x in before:
                if x.fault != "interlock" or x.equipment != a.equipment:
                    continue
                signed = any(  # signed off earlier (in the order the actions came)
                    b.action == "sign_off_step" and b.procedure == x.procedure and b.step == x.step
                    for b in mine[:idx]
                )
                if not signed:
                    out.append(
                        WrongAction(
                            a.time_s,
                            a.action,
                            a.equipment,
                            f"resumed {a.equipment} while interlocked (step {x.step} of "
                            f"{x.procedure} not signed off)",
                            p.resume_interlocked,
                        )
                    )
                    break
        elif a.action == "acknowledge_alarm" and not a.comment.strip():
            for r in needs_comment:
                if r.equipment == a.equipment and (r.alarm is None or r.alarm == a.alarm):
                    out.append(
                        WrongAction(
                            a.time_s,
                            a.action,
                            a.equipment,
                            f"acknowledged {a.equipment}.{a.alarm or 'alarm'} without the "
                            "required comment",
                            p.ack_without_comment,
                        )
                    )
                    break
    return out


def score_trainee(
    drill: s.Drill,
    injections: Iterable[InjectionRecord],
    actions: Iterable[ActionRecord],
    trainee: str,
    *,
    steps: Mapping[str, tuple[int, ...]] | None = None,
    now_s: float | None = None,
) -> TraineeScore:
    """Score one trainee (see the module's rules).

    ``steps`` is :func:`safety_steps` of the plant (needed for ``sign_off_step`` responses
    without a step); ``now_s`` (drill seconds) marks unanswered responses whose limit has not
    passed as "pending" instead of "missed".
    """
    inj = sorted(injections, key=lambda x: x.time_s)
    fired: dict[str, InjectionRecord] = {}
    for x in inj:
        fired.setdefault(x.injection_id, x)
    mine = sorted((a for a in actions if a.trainee == trainee), key=lambda a: a.time_s)
    rows = _rows(drill, fired, mine, steps or {}, now_s)
    wrong = _wrong(drill, inj, mine)
    return TraineeScore(
        trainee=trainee,
        rows=tuple(rows),
        wrong=tuple(wrong),
        earned=float(sum(r.points for r in rows)),
        penalty=float(sum(w.penalty for w in wrong)),
        max_points=float(sum(r.points_possible for r in rows if r.status != "not triggered")),
        pass_mark_pct=drill.pass_mark_pct,
        actions=tuple(mine),
    )


def score_all(
    drill: s.Drill,
    injections: Iterable[InjectionRecord],
    actions: Iterable[ActionRecord],
    *,
    trainees: Iterable[str] = (),
    steps: Mapping[str, tuple[int, ...]] | None = None,
    now_s: float | None = None,
) -> dict[str, TraineeScore]:
    """Score every trainee who acted (and those in ``trainees``), by name."""
    inj = list(injections)
    acts = list(actions)
    names = list(dict.fromkeys([*trainees, *(a.trainee for a in acts)]))
    return {n: score_trainee(drill, inj, acts, n, steps=steps, now_s=now_s) for n in sorted(names)}
