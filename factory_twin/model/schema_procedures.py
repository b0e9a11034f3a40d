"""The plant file format's maintenance procedures and drills (see :mod:`factory_twin.model.schema`).

A procedure is the steps of a maintenance task on an equipment type, with acceptance checks
and safety notes; a drill injects faults on a trigger and names the responses expected of a
trainee, with penalties.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import Field, model_validator

from factory_twin.model.events import E10State
from factory_twin.model.schema_common import Strict

# --------------------------------------------------------------------------- maintenance


class StepAction(str, Enum):
    """What a maintenance step does."""

    INSPECT = "inspect"
    REMOVE = "remove"
    INSTALL = "install"
    REPLACE = "replace"
    TORQUE = "torque"
    CLEAN = "clean"
    MEASURE = "measure"
    ADJUST = "adjust"
    LOCKOUT = "lockout"
    RESTORE = "restore"
    VERIFY = "verify"


class Acceptance(Strict):
    """A value the technician measures and the limits it must meet."""

    quantity: str = Field(min_length=1)
    unit: str = ""
    min: float | None = None
    max: float | None = None
    target: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Acceptance:
        if self.min is None and self.max is None:
            msg = "acceptance needs 'min', 'max' or both"
            raise ValueError(msg)
        if self.min is not None and self.max is not None and self.min > self.max:
            msg = f"acceptance min {self.min} is above max {self.max}"
            raise ValueError(msg)
        return self

    def accepts(self, value: float) -> bool:
        """Return True if ``value`` meets the limits."""
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class SafetyNote(Strict):
    """A hazard the technician must acknowledge before the step."""

    kind: Literal["loto", "ppe", "gas", "electrical", "chemical", "hot", "laser", "general"]
    text: str = Field(min_length=1)


class ProcedureStep(Strict):
    """One step of a maintenance procedure."""

    title: str = Field(min_length=1)
    text: str = ""
    component: str = Field(min_length=1)
    action: StepAction = StepAction.INSPECT
    tools: list[str] = Field(default_factory=list)
    parts: list[str] = Field(default_factory=list)
    safety: list[SafetyNote] = Field(default_factory=list)
    duration_s: float = Field(default=300.0, gt=0)
    acceptance: Acceptance | None = None


class Procedure(Strict):
    """A maintenance procedure for one equipment type."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1)
    equipment_type: str
    revision: str = "A"
    description: str = ""
    alarm_codes: list[str] = Field(
        default_factory=list,
        description="alarms this procedure fixes: '<tag>.<lolo|lo|hi|hihi>' of the type's tags, or 'fault[.<name>]'",
    )
    steps: list[ProcedureStep] = Field(min_length=1)


# --------------------------------------------------------------------------- drills

FaultKind = Literal[
    "breakdown",
    "tag_drift",
    "tag_stuck",
    "alarm",
    "comm_loss",
    "transport_jam",
    "hot_lot",
    "interlock",
]
FAULT_KINDS: tuple[str, ...] = (
    "breakdown",
    "tag_drift",
    "tag_stuck",
    "alarm",
    "comm_loss",
    "transport_jam",
    "hot_lot",
    "interlock",
)
ResponseKind = Literal[
    "acknowledge_alarm",
    "hold_tool",
    "open_procedure",
    "sign_off_step",
    "prioritise_lot",
    "reroute_lot",
    "dispatch_maintenance",
]
RESPONSE_KINDS: tuple[str, ...] = (
    "acknowledge_alarm",
    "hold_tool",
    "open_procedure",
    "sign_off_step",
    "prioritise_lot",
    "reroute_lot",
    "dispatch_maintenance",
)
AlarmLimit = Literal["lolo", "lo", "hi", "hihi"]
TRANSPORT_ID = "OHT"
"""The equipment id drills use for the transport system (a jam, maintenance called to it)."""


class Trigger(Strict):
    """What starts a triggered injection: exactly one of a state, a tag crossing, a lot step.

    * ``enters_state`` (with ``equipment``): the tool enters that E10 state;
    * ``tag`` with ``above`` or ``below`` (with ``equipment``): the tag crosses the value;
    * ``step`` (optionally ``product``): a lot arrives at that 1-based route step.

    The injection fires ``delay_s`` plant seconds later, once.
    """

    equipment: str | None = None
    enters_state: E10State | None = None
    tag: str | None = None
    above: float | None = None
    below: float | None = None
    product: str | None = None
    step: int | None = Field(default=None, ge=1)
    delay_s: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _one_condition(self) -> Trigger:
        kinds = [
            self.enters_state is not None,
            self.tag is not None,
            self.step is not None,
        ]
        if sum(kinds) != 1:
            msg = "a trigger needs exactly one of 'enters_state', 'tag' (with 'above' or 'below') or 'step'"
            raise ValueError(msg)
        if self.tag is not None and (self.above is None) == (self.below is None):
            msg = "a tag trigger needs exactly one of 'above' or 'below'"
            raise ValueError(msg)
        if (self.enters_state is not None or self.tag is not None) and not self.equipment:
            msg = "a state or tag trigger needs 'equipment'"
            raise ValueError(msg)
        return self

    def describe(self) -> str:
        """Short words for the trigger, e.g. ``FURN-01 enters unscheduled_down``."""
        if self.enters_state is not None:
            what = f"{self.equipment} enters {self.enters_state.value}"
        elif self.tag is not None:
            side, v = ("above", self.above) if self.above is not None else ("below", self.below)
            what = f"{self.equipment}.{self.tag} {side} {v:g}"
        else:
            what = f"a lot{f' of {self.product}' if self.product else ''} reaches step {self.step}"
        return what + (f" (+{self.delay_s:g} s)" if self.delay_s else "")


class FaultInjection(Strict):
    """A fault a drill injects into the simulated plant, at a plant time or on a trigger.

    Fault kinds and the fields they use:

    * ``breakdown``: the tool goes unscheduled-down for ``duration_s`` (default 3600);
    * ``tag_drift``: ``tag`` moves at ``rate_per_s`` (units per plant second) from its value
      at the injection, stopping at ``value`` if given; without a rate it ramps to ``value``
      over ``ramp_s``; held for ``duration_s`` (default 3600);
    * ``tag_stuck``: ``tag`` freezes at its current value (or ``value``) for ``duration_s``;
    * ``alarm``: ``tag`` is driven just past its ``limit`` (or to ``value``) so the limit
      alarm ``<tag>.<limit>`` rises, for ``duration_s``;
    * ``comm_loss``: the tool's values go Bad (communication error) for ``duration_s``;
    * ``transport_jam``: the OHT vehicles stop for ``duration_s`` (``equipment`` optional,
      the tool nearest the jam);
    * ``hot_lot``: a lot of ``product`` (``lot`` id, ``priority``) is released at route step
      ``step`` (default 1); ``equipment`` names the tool group it waits for (optional);
    * ``interlock``: the tool is held and must not be resumed until step ``step`` (1-based)
      of ``procedure`` is signed off.
    """

    id: str = Field(default="", pattern=r"^[A-Za-z0-9_.\-]*$")
    at_s: float | None = Field(default=None, ge=0)
    trigger: Trigger | None = None
    equipment: str = ""
    fault: FaultKind
    tag: str | None = None
    value: float | None = None
    rate_per_s: float | None = None
    ramp_s: float = Field(default=300.0, gt=0)
    limit: AlarmLimit | None = None
    duration_s: float | None = Field(default=None, gt=0)
    product: str | None = None
    lot: str | None = None
    priority: int = Field(default=10, ge=0)
    step: int | None = Field(default=None, ge=1)
    procedure: str | None = None
    message: str = ""

    @model_validator(mode="after")
    def _fields_of_kind(self) -> FaultInjection:
        if (self.at_s is None) == (self.trigger is None):
            msg = "an injection needs exactly one of 'at_s' (plant time) or 'trigger'"
            raise ValueError(msg)
        k = self.fault
        if k in ("tag_drift", "tag_stuck", "alarm") and not self.tag:
            raise ValueError(f"a {k} injection needs 'tag'")
        if k == "tag_drift" and self.rate_per_s is None and self.value is None:
            raise ValueError("a tag_drift injection needs 'rate_per_s', 'value' or both")
        if k == "alarm" and self.limit is None and self.value is None:
            raise ValueError("an alarm injection needs 'limit' (hi, hihi, lo, lolo) or 'value'")
        if k == "hot_lot" and not self.product:
            raise ValueError("a hot_lot injection needs 'product'")
        if k == "interlock" and (not self.procedure or self.step is None):
            raise ValueError("an interlock injection needs 'procedure' and 'step'")
        needs_tool = k not in ("transport_jam", "hot_lot")
        if needs_tool and not self.equipment:
            raise ValueError(f"a {k} injection needs 'equipment'")
        return self

    @property
    def hold_s(self) -> float:
        """How long the fault lasts, plant seconds (``duration_s`` or the default 3600)."""
        return self.duration_s if self.duration_s is not None else 3600.0


class ExpectedResponse(Strict):
    """What the trainee is expected to do, by when, and the points it is worth.

    The time limit ``within_s`` runs from when the injection ``after`` fired (default: the
    first injection on the same ``equipment``, else the drill's first injection).

    * ``acknowledge_alarm``: acknowledge an alarm of ``equipment`` (``alarm``: its code, e.g.
      ``helium_leak.hi``; any of the tool's alarms if omitted); with ``comment_required`` an
      acknowledgement without a comment does not count and costs points;
    * ``hold_tool``: put ``equipment`` on hold;
    * ``open_procedure``: open ``procedure`` (for ``equipment``);
    * ``sign_off_step``: sign off step ``step`` of ``procedure``, or, without ``step``, every
      step of it that has safety notes;
    * ``prioritise_lot`` / ``reroute_lot``: give lot ``lot`` priority / send it to another
      tool (``lot`` omitted: the hot lot of the ``after`` injection, else any lot);
    * ``dispatch_maintenance``: call maintenance to ``equipment``.
    """

    action: ResponseKind
    equipment: str = ""
    within_s: float = Field(gt=0)
    points: float = Field(default=10.0, ge=0)
    procedure: str | None = None
    alarm: str | None = None
    comment_required: bool = False
    step: int | None = Field(default=None, ge=1)
    lot: str | None = None
    after: str | None = None

    @model_validator(mode="after")
    def _fields_of_action(self) -> ExpectedResponse:
        a = self.action
        if a in ("open_procedure", "sign_off_step") and not self.procedure:
            raise ValueError(f"a {a} response needs 'procedure'")
        if a in ("acknowledge_alarm", "hold_tool", "dispatch_maintenance") and not self.equipment:
            # dispatch_maintenance to the transport system: equipment 'OHT' (TRANSPORT_ID)
            raise ValueError(f"a {a} response needs 'equipment'")
        return self


class Penalties(Strict):
    """Points a wrong action costs."""

    hold_healthy_tool: float = Field(default=5.0, ge=0)
    resume_interlocked: float = Field(default=10.0, ge=0)
    ack_without_comment: float = Field(default=5.0, ge=0)


class Drill(Strict):
    """An operator drill: a briefing, faults at times or on triggers, the responses expected."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1)
    description: str = ""
    briefing: str = Field(default="", description="what the trainees are told before the drill")
    objectives: list[str] = Field(default_factory=list, description="learning objectives")
    duration_s: float | None = Field(
        default=None,
        gt=0,
        description="plant seconds the drill runs (default: last limit + 10 min)",
    )
    start_at_s: float = Field(
        default=0.0, ge=0, description="plant time the drill clock starts at (warm-up before)"
    )
    speed: float = Field(
        default=1.0, gt=0, description="plant seconds per wall second while the drill runs"
    )
    pass_mark_pct: float = Field(default=80.0, ge=0, le=100)
    penalties: Penalties = Field(default_factory=Penalties)
    injections: list[FaultInjection] = Field(default_factory=list)
    expected: list[ExpectedResponse] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids(self) -> Drill:
        seen: set[str] = set()
        for k, inj in enumerate(self.injections):
            if not inj.id:
                object.__setattr__(inj, "id", f"inj{k + 1}")
            if inj.id in seen:
                raise ValueError(f"duplicate injection id {inj.id!r}")
            seen.add(inj.id)
        for r in self.expected:
            if r.after is not None and r.after not in seen:
                raise ValueError(f"response 'after' names no injection: {r.after!r}")
        return self

    @property
    def max_points(self) -> float:
        """Points of all expected responses."""
        return float(sum(r.points for r in self.expected))

    @property
    def planned_end_s(self) -> float:
        """Plant seconds after the start the drill runs."""
        if self.duration_s is not None:
            return self.duration_s
        last = 0.0
        for inj in self.injections:
            last = max(last, (inj.at_s or 0.0) + (inj.trigger.delay_s if inj.trigger else 0.0))
        limit = max((r.within_s for r in self.expected), default=0.0)
        return last + limit + 600.0
